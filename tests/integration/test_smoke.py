from studbook.v1 import registry_pb2, registry_pb2_grpc, resources_pb2


def test_register_and_get_roundtrip(daemon):
    with daemon.channel() as channel:
        versions = registry_pb2_grpc.VersionServiceStub(channel)
        reply = versions.RegisterModelVersion(
            registry_pb2.RegisterModelVersionRequest(
                parent="models/fraud",
                version=resources_pb2.ModelVersion(storage_uri="s3://bucket/fraud/1", params={"lr": "0.1"},
                                                   metrics=[resources_pb2.Metric(key="auc", value=0.9)]),
            )
        )
        got = versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name="models/fraud/versions/latest"))
    assert reply.created
    assert got.name == "models/fraud/versions/1"
    assert got.semver == "1.0.0"
    assert got.params["lr"] == "0.1"
    assert [m.key for m in got.metrics] == ["auc"]
