"""Versions over real gRPC: registration, idempotency, semver, reads by alias, edits, metrics."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from studbook.v1 import registry_pb2, resources_pb2, stages_pb2
from support.rpc import error_info, register, stubs


@pytest.fixture
def api(shared_daemon):
    with shared_daemon.channel() as channel:
        yield stubs(channel)


def get(api, name):
    return api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name))


def test_versions_number_up_and_semver_follows_the_change_kind(api, model_id):
    first = register(api, model_id, datasets=[resources_pb2.Dataset(name="census", version="2025")])
    tuned = register(
        api, model_id, storage_uri="s3://b/2", datasets=[resources_pb2.Dataset(name="census", version="2025")]
    )
    new_data = register(
        api, model_id, storage_uri="s3://b/3", datasets=[resources_pb2.Dataset(name="census", version="2026")]
    )

    assert [first.number, tuned.number, new_data.number] == [1, 2, 3]
    assert [first.semver, tuned.semver, new_data.semver] == ["1.0.0", "1.0.1", "1.1.0"]
    assert new_data.change_kind == resources_pb2.CHANGE_KIND_DATA


def test_a_breaking_signature_change_bumps_the_major_version(api, model_id):
    old = resources_pb2.Signature(inputs=[resources_pb2.TensorSpec(name="age", dtype="int64", shape=[-1])])
    new = resources_pb2.Signature(inputs=[resources_pb2.TensorSpec(name="age", dtype="string", shape=[-1])])
    register(api, model_id, signature=old)

    second = register(api, model_id, storage_uri="s3://b/2", signature=new)

    assert second.semver == "2.0.0"
    assert second.change_kind == resources_pb2.CHANGE_KIND_SCHEMA


def test_a_registration_answers_with_the_version_as_a_read_finds_it(api, model_id, tmp_path):
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"weights" * 1000)
    other = tmp_path / "other.bin"
    other.write_bytes(b"other weights" * 100)
    base = register(api, model_id)
    version = resources_pb2.ModelVersion(
        description="tuned", model_card="# card", tags={"team": "vision"}, params={"lr": "0.1"},
        metrics=[resources_pb2.Metric(key="auc", value=0.9, step=1), resources_pb2.Metric(key="auc", value=0.93, step=2),
                 resources_pb2.Metric(key="loss", value=0.2, split="eval")],
        signature=resources_pb2.Signature(inputs=[resources_pb2.TensorSpec(name="age", dtype="int64", shape=[-1])]),
        environment=resources_pb2.Environment(python_version="3.11", packages={"torch": "2.4"}),
        training=resources_pb2.TrainingConfig(code_commit="abc123", seed=7, data_versions={"census": "2025"}),
        run=resources_pb2.Run(run_id="run-1", uri="runs:/run-1"),
        datasets=[resources_pb2.Dataset(name="census", version="2025", size=10)],
        parents=[resources_pb2.ParentVersion(version=base.name, relation=resources_pb2.PARENT_RELATION_FINE_TUNED_FROM)],
    )  # fmt: skip
    request = registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model_id}", source_path=str(artifact), version=version, request_id="rich-1"
    )

    created = api.versions.RegisterModelVersion(request)
    again = api.versions.RegisterModelVersion(request)
    batched = api.versions.RegisterModelVersions(registry_pb2.RegisterModelVersionsRequest(requests=[
        registry_pb2.RegisterModelVersionRequest(parent=f"models/{model_id}", source_path=str(other), version=version,
                                                 request_id="rich-2")
    ]))  # fmt: skip

    assert created.created and not again.created
    assert created.version.files and created.version.metrics and created.version.parents
    assert created.version == again.version == get(api, created.version.name)
    assert batched.results[0].registered.created
    assert batched.results[0].registered.version == get(api, batched.results[0].registered.version.name)


def test_the_same_request_id_registers_once(api, model_id):
    first = register(api, model_id, request_id="train-42")
    again = register(api, model_id, request_id="train-42", storage_uri="s3://elsewhere")

    assert again.name == first.name
    model = api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model_id}"))
    assert model.version_count == 1


def test_the_same_files_for_the_same_model_register_once(api, model_id, tmp_path):
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"weights" * 1000)
    request = registry_pb2.RegisterModelVersionRequest(parent=f"models/{model_id}", source_path=str(artifact))

    first = api.versions.RegisterModelVersion(request)
    second = api.versions.RegisterModelVersion(request)

    assert first.created and not second.created
    assert second.version.name == first.version.name
    assert first.version.files[0].size == 7000
    assert len(first.version.files[0].sha256) == 64
    assert first.version.content_digest


def test_a_relative_or_traversing_source_path_is_refused(api, model_id):
    for path, reason in (("model.bin", "RELATIVE_PATH"), ("/tmp/../etc/passwd", "PATH_TRAVERSAL")):
        with pytest.raises(grpc.RpcError) as raised:
            api.versions.RegisterModelVersion(
                registry_pb2.RegisterModelVersionRequest(parent=f"models/{model_id}", source_path=path)
            )
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_info(raised.value).reason == reason


@pytest.mark.parametrize(
    "version, reason, field",
    [
        (
            resources_pb2.ModelVersion(environment={"packages": {f"p{i}": "1" for i in range(1025)}}),
            "TOO_MANY_VALUES",
            "environment.packages",
        ),
        (
            resources_pb2.ModelVersion(environment={"packages": {"torch": "x" * 1025}}),
            "VALUE_TOO_LONG",
            "environment.packages.torch",
        ),
        (
            resources_pb2.ModelVersion(environment={"python_version": "3" * 65}),
            "VALUE_TOO_LONG",
            "environment.python_version",
        ),
        (
            resources_pb2.ModelVersion(training={"data_versions": {"a/b": "1"}}),
            "INVALID_DATASET",
            "training.data_versions",
        ),
        (resources_pb2.ModelVersion(training={"entry_point": "x" * 1025}), "VALUE_TOO_LONG", "training.entry_point"),
    ],
)
def test_environment_and_training_are_bounded(api, model_id, version, reason, field):
    version.storage_uri = "s3://b/1"

    with pytest.raises(grpc.RpcError) as raised:
        api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(parent=f"models/{model_id}",
                                                                                   version=version))  # fmt: skip

    info = error_info(raised.value)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.reason, info.metadata["field"]) == (reason, field)


def test_a_version_is_found_by_number_latest_stage_and_alias(api, model_id):
    register(api, model_id)
    register(api, model_id, storage_uri="s3://b/2")
    api.stages.PromoteModelVersion(
        stages_pb2.PromoteModelVersionRequest(name=f"models/{model_id}/versions/1", target="production")
    )
    api.stages.PromoteModelVersion(
        stages_pb2.PromoteModelVersionRequest(name=f"models/{model_id}/versions/2", target="champion")
    )

    assert get(api, f"models/{model_id}/versions/latest").number == 2
    by_stage = get(api, f"models/{model_id}/versions/production")
    assert by_stage.name == f"models/{model_id}/versions/1"
    assert list(by_stage.stages) == ["production"]
    assert list(get(api, f"models/{model_id}/versions/champion").aliases) == ["champion"]


def test_an_unknown_alias_says_which_stages_and_aliases_exist(api, model_id):
    register(api, model_id)

    with pytest.raises(grpc.RpcError) as raised:
        get(api, f"models/{model_id}/versions/canary")

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(raised.value).reason == "ALIAS_NOT_FOUND"
    assert "production" in raised.value.details()


def test_registered_content_is_immutable_but_tags_are_editable(api, model_id):
    version = register(api, model_id, tags={"a": "1"})

    updated = api.versions.UpdateModelVersion(registry_pb2.UpdateModelVersionRequest(
        version=resources_pb2.ModelVersion(name=version.name, tags={"a": "2"}), update_mask=FieldMask(paths=["tags"])))  # fmt: skip
    with pytest.raises(grpc.RpcError) as raised:
        api.versions.UpdateModelVersion(registry_pb2.UpdateModelVersionRequest(
            version=resources_pb2.ModelVersion(name=version.name), update_mask=FieldMask(paths=["params"])))  # fmt: skip

    assert updated.tags["a"] == "2"
    assert error_info(raised.value).reason == "IMMUTABLE_FIELD"


def test_list_versions_filters_on_metrics_and_sorts_by_them(api, model_id):
    for auc in (0.71, 0.93, 0.88, 0.97):
        register(api, model_id, storage_uri=f"s3://b/{auc}", metrics=[resources_pb2.Metric(key="auc", value=auc)])

    found = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent=f"models/{model_id}", filter="metrics.auc > 0.85", order_by="metrics.auc desc"))  # fmt: skip

    assert [v.metrics[0].value for v in found.versions] == [0.97, 0.93, 0.88]
    assert found.total_size == 3


def test_a_metric_filter_and_sort_use_each_versions_maximum_over_splits_page_after_page(api, model_id):
    # The filter bounds auc below and the sort reads it too; a version's other split may lie
    # under the bound (v1, v4) or above its matching one (v2), and v3 has no split above it.
    splits = {"v1": {"test": 0.9, "val": 0.5}, "v2": {"test": 0.82, "val": 0.95}, "v3": {"test": 0.7},
              "v4": {"val": 0.85, "test": 0.99}}  # fmt: skip
    numbers = {}
    for label, values in splits.items():
        metrics = [resources_pb2.Metric(key="auc", value=value, split=split) for split, value in values.items()]
        numbers[register(api, model_id, storage_uri=f"s3://b/{label}", metrics=metrics).name] = label
    request = registry_pb2.ListModelVersionsRequest(parent=f"models/{model_id}", filter="metrics.auc > 0.8",
                                                    order_by="metrics.auc desc", page_size=1)  # fmt: skip

    labels, totals = [], set()
    while True:
        page = api.versions.ListModelVersions(request)
        labels += [numbers[v.name] for v in page.versions]
        totals.add(page.total_size)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token

    assert labels == ["v4", "v2", "v1"]  # by 0.99, 0.95, 0.9: each version's highest split
    assert totals == {3}


def test_per_step_metrics_form_a_series_and_the_latest_step_is_the_summary(api, model_id):
    version = register(api, model_id)
    api.versions.LogMetrics(registry_pb2.LogMetricsRequest(name=version.name, metrics=[
        resources_pb2.Metric(key="loss", value=v, step=s, split="train") for s, v in ((1, 0.9), (2, 0.5), (3, 0.3))]))  # fmt: skip

    series = api.versions.ListMetrics(registry_pb2.ListMetricsRequest(name=version.name, key="loss"))
    summary = get(api, version.name).metrics

    assert [(m.step, m.value) for m in series.metrics] == [(1, 0.9), (2, 0.5), (3, 0.3)]
    assert [(m.key, m.split, m.value) for m in summary] == [("loss", "train", 0.3)]


def test_a_non_finite_metric_is_refused(api, model_id):
    with pytest.raises(grpc.RpcError) as raised:
        register(api, model_id, metrics=[resources_pb2.Metric(key="auc", value=float("nan"))])

    assert error_info(raised.value).reason == "INVALID_METRIC"


def test_diff_reports_params_metrics_and_signature(api, model_id):
    register(api, model_id, params={"lr": "0.1", "depth": "6"}, metrics=[resources_pb2.Metric(key="auc", value=0.9)])
    register(api, model_id, storage_uri="s3://b/2", params={"lr": "0.05", "trees": "100"},
             metrics=[resources_pb2.Metric(key="auc", value=0.93)])  # fmt: skip

    diff = api.versions.DiffModelVersions(registry_pb2.DiffModelVersionsRequest(
        base=f"models/{model_id}/versions/1", target=f"models/{model_id}/versions/latest"))  # fmt: skip

    changes = {c.key: c.change for c in diff.params}
    assert changes == {"lr": registry_pb2.CHANGE_TYPE_CHANGED, "depth": registry_pb2.CHANGE_TYPE_REMOVED,
                       "trees": registry_pb2.CHANGE_TYPE_ADDED}  # fmt: skip
    auc = diff.metrics[0]
    assert auc.delta == pytest.approx(0.03) and auc.better
    assert diff.signature.compatible


def test_lineage_walks_up_to_datasets_and_down_to_fine_tunes(api, model_id):
    base = register(api, model_id, datasets=[resources_pb2.Dataset(name="census", version="2026")],
                    run=resources_pb2.Run(run_id=f"run-{model_id}"))  # fmt: skip
    tuned = register(api, f"{model_id}-ft", parents=[resources_pb2.ParentVersion(
        version=base.name, relation=resources_pb2.PARENT_RELATION_FINE_TUNED_FROM)])  # fmt: skip
    from studbook.v1 import lineage_pb2

    graph = api.lineage.GetLineage(lineage_pb2.GetLineageRequest(name=base.name, depth=2))

    names = {n.name: n.depth for n in graph.nodes}
    assert names[base.name] == 0
    assert names["datasets/census@2026"] == -1
    assert names[f"runs/run-{model_id}"] == -1
    assert names[tuned.name] == 1
    assert (base.name, tuned.name, "fine_tuned_from") in {(e.source, e.target, e.kind) for e in graph.edges}


def test_skip_jumps_to_the_end_of_a_long_list(api, model_id):
    for i in range(7):
        register(api, model_id, storage_uri=f"s3://b/{i}")

    last = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent=f"models/{model_id}", page_size=3, skip=5))  # fmt: skip
    with pytest.raises(grpc.RpcError) as raised:
        api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent=f"models/{model_id}", skip=-1))

    assert [v.number for v in last.versions] == [2, 1]
    assert last.total_size == 7 and last.next_page_token == ""
    assert error_info(raised.value).reason == "INVALID_SKIP"


def test_pages_sorted_by_a_metric_some_versions_lack_cover_every_version_once(api, model_id):
    for i, auc in enumerate([0.8, None, 0.9, 0.8, None]):
        metrics = [] if auc is None else [resources_pb2.Metric(key="auc", value=auc)]
        register(api, model_id, storage_uri=f"s3://b/{i}", metrics=metrics)
    request = registry_pb2.ListModelVersionsRequest(parent=f"models/{model_id}", order_by="metrics.auc desc",
                                                    page_size=2)  # fmt: skip

    pages = [api.versions.ListModelVersions(request)]
    while pages[-1].next_page_token:
        request.page_token = pages[-1].next_page_token
        pages.append(api.versions.ListModelVersions(request))

    # auc 0.9, then the two 0.8 by name, then the two without auc by name
    assert [v.number for page in pages for v in page.versions] == [3, 1, 4, 2, 5]
    assert {page.total_size for page in pages} == {5}


def test_an_edit_after_an_archive_keeps_the_version_archived(api, model_id):
    version = register(api, model_id)
    api.versions.ArchiveModelVersion(registry_pb2.ArchiveModelVersionRequest(name=version.name))

    edited = api.versions.UpdateModelVersion(registry_pb2.UpdateModelVersionRequest(
        version=resources_pb2.ModelVersion(name=version.name, description="kept for audit"),
        update_mask=FieldMask(paths=["description"])))  # fmt: skip

    assert edited.status == resources_pb2.VERSION_STATUS_ARCHIVED
    assert edited.description == "kept for audit"


def test_an_archived_version_is_restored_ready_and_a_ready_one_is_not(api, model_id):
    version = register(api, model_id)
    with pytest.raises(grpc.RpcError) as raised:
        api.versions.RestoreModelVersion(registry_pb2.RestoreModelVersionRequest(name=version.name))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(raised.value).reason == "VERSION_NOT_ARCHIVED"

    api.versions.ArchiveModelVersion(registry_pb2.ArchiveModelVersionRequest(name=version.name))
    restored = api.versions.RestoreModelVersion(registry_pb2.RestoreModelVersionRequest(name=version.name))

    assert restored.status == resources_pb2.VERSION_STATUS_READY and restored.status_reason == ""
    listed = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent=f"models/{model_id}"))
    assert [v.number for v in listed.versions] == [version.number]


def test_a_stale_version_etag_is_aborted(api, model_id):
    version = register(api, model_id)
    api.versions.UpdateModelVersion(registry_pb2.UpdateModelVersionRequest(
        version=resources_pb2.ModelVersion(name=version.name, description="first", etag=version.etag),
        update_mask=FieldMask(paths=["description"])))  # fmt: skip

    with pytest.raises(grpc.RpcError) as raised:
        api.versions.UpdateModelVersion(registry_pb2.UpdateModelVersionRequest(
            version=resources_pb2.ModelVersion(name=version.name, description="second", etag=version.etag),
            update_mask=FieldMask(paths=["description"])))  # fmt: skip

    assert raised.value.code() == grpc.StatusCode.ABORTED
