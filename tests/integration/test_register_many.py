"""RegisterModelVersions over real gRPC: many versions in one call, each with its own result."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.v1 import access_pb2, access_pb2_grpc, audit_pb2, audit_pb2_grpc, registry_pb2, resources_pb2
from support.rpc import error_info, logged_events, register, stubs

MAX_PER_CALL = 500


@pytest.fixture
def api(shared_daemon):
    with shared_daemon.channel() as channel:
        yield stubs(channel)


def item(model: str, request_id: str = "", **fields: object) -> registry_pb2.RegisterModelVersionRequest:
    extra = {key: fields.pop(key) for key in ("number", "semver", "source_path") if key in fields}
    fields.setdefault("storage_uri", f"s3://bucket/{model}/{request_id}")
    return registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}", request_id=request_id, version=resources_pb2.ModelVersion(**fields), **extra
    )


def register_many(api, *items: registry_pb2.RegisterModelVersionRequest, **call: object):
    request = registry_pb2.RegisterModelVersionsRequest(requests=items)
    return list(api.versions.RegisterModelVersions(request, **call).results)


def reason(status: status_pb2.Status) -> str:
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    raise AssertionError(f"no ErrorInfo in {status}")


def version_count(api, model: str) -> int:
    return api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}")).version_count


def test_each_request_gets_its_own_result_in_order_and_bad_ones_leave_the_others_be(api, model_id):
    other = f"{model_id}-b"
    register(api, model_id, request_id="already-there")  # version 1, which an explicit number collides with
    results = register_many(
        api,
        item(model_id, "a", tags={"i": "0"}),
        item("Not A Name!", "bad-name"),
        item(other, "b"),
        item(model_id, "no-artifact", storage_uri=""),
        item(model_id, "taken-number", number=1),  # refused by the writer, after the others were queued
        item(model_id, "c", parents=[resources_pb2.ParentVersion(version=f"models/{model_id}/versions/99")]),
        item(model_id, "d", metrics=[resources_pb2.Metric(key="auc", value=0.9)]),
    )

    assert [r.WhichOneof("result") for r in results] == ["registered", "error", "registered", "error", "error",
                                                         "error", "registered"]  # fmt: skip
    assert [reason(r.error) for r in results if r.HasField("error")] == [
        "INVALID_NAME", "NO_ARTIFACT", "VERSION_EXISTS", "PARENT_NOT_FOUND"]  # fmt: skip
    assert results[1].error.code == code_pb2.INVALID_ARGUMENT
    assert results[4].error.code == code_pb2.ALREADY_EXISTS
    assert "version 1" in results[4].error.message
    good = [r.registered for r in results if r.HasField("registered")]
    assert all(r.created for r in good)
    assert [r.version.name for r in good] == [f"models/{model_id}/versions/2", f"models/{other}/versions/1",
                                              f"models/{model_id}/versions/3"]  # fmt: skip
    assert good[0].version.tags["i"] == "0" and good[2].version.metrics[0].key == "auc"
    assert version_count(api, model_id) == 3 and version_count(api, other) == 1
    fetched = api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=good[2].version.name))
    assert fetched.storage_uri == f"s3://bucket/{model_id}/d"


def test_resending_the_whole_batch_returns_the_same_versions_and_registers_nothing_more(api, model_id):
    batch = [item(model_id, f"run-{i}", storage_uri=f"s3://bucket/{i}") for i in range(5)]
    first = register_many(api, *batch)
    again = register_many(api, *batch)

    assert [r.registered.created for r in first] == [True] * 5
    assert [r.registered.created for r in again] == [False] * 5
    assert [r.registered.version.name for r in again] == [r.registered.version.name for r in first]
    assert [r.registered.version.etag for r in again] == [r.registered.version.etag for r in first]
    assert version_count(api, model_id) == 5


def test_request_ids_are_each_items_own(api, model_id):
    single = register(api, model_id, request_id="from-a-single-call")
    results = register_many(
        api,
        item(model_id, "x"),
        item(model_id, "y"),
        item(model_id, "x", storage_uri="s3://bucket/another"),  # the same id in the same call: the first result
        item(model_id, "from-a-single-call"),
        item(model_id, ""),  # no id: always a new version
        item(model_id, ""),
    )

    names = [r.registered.version.name for r in results]
    assert [r.registered.created for r in results] == [True, True, False, False, True, True]
    assert names[2] == names[0] and names[3] == single.name
    assert len(set(names)) == 5
    assert version_count(api, model_id) == 5


def test_versions_are_numbered_and_their_events_logged_in_the_order_of_the_requests(api, model_id):
    results = register_many(api, *(item(model_id, f"ordered-{i}", storage_uri=f"s3://b/{i}") for i in range(40)))

    numbers = [r.registered.version.number for r in results]
    assert numbers == list(range(1, 41))
    semvers = [r.registered.version.semver for r in results]
    assert semvers[0] == "1.0.0" and semvers[-1] == "1.0.39"
    created = logged_events(api, model_id, "version.created")
    assert [e.subject for e in created] == [r.registered.version.name for r in results]
    assert [e.revision for e in created] == sorted(e.revision for e in created)
    model_events = logged_events(api, model_id, "model.created")
    assert len(model_events) == 1 and model_events[0].revision < created[0].revision


def test_more_than_the_bound_is_refused_whole_and_writes_nothing(api, model_id):
    with pytest.raises(grpc.RpcError) as raised:
        register_many(api, *(item(model_id, f"r{i}") for i in range(MAX_PER_CALL + 1)))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(raised.value)
    assert info.reason == "TOO_MANY_REGISTRATIONS" and info.metadata["limit"] == str(MAX_PER_CALL)
    assert str(MAX_PER_CALL) in raised.value.details()
    with pytest.raises(grpc.RpcError) as missing:
        api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model_id}"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(register_many(api, *(item(model_id, f"r{i}") for i in range(MAX_PER_CALL)))) == MAX_PER_CALL


def test_an_empty_call_registers_nothing(api):
    assert register_many(api) == []


def test_it_needs_the_contributor_role_like_a_single_registration(shared_daemon, api, model_id):
    with shared_daemon.channel() as channel:
        tokens = access_pb2_grpc.AccessServiceStub(channel)
        viewer, contributor = (
            tokens.CreateToken(access_pb2.CreateTokenRequest(display_name=f"{model_id}-{role}", role=value)).secret
            for role, value in (("viewer", access_pb2.ROLE_VIEWER), ("contributor", access_pb2.ROLE_CONTRIBUTOR))
        )
    with pytest.raises(grpc.RpcError) as raised:
        register_many(api, item(model_id, "v"), metadata=(("authorization", f"Bearer {viewer}"),))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED

    done = register_many(api, item(model_id, "c"), metadata=(("authorization", f"Bearer {contributor}"),))
    assert done[0].registered.version.created_by == f"{model_id}-contributor"
    created = logged_events(api, model_id, "version.created")
    assert [e.actor for e in created] == [f"{model_id}-contributor"]


def test_content_that_runs_code_needs_a_maintainer_item_by_item(shared_daemon, api, model_id, tmp_path):
    with shared_daemon.channel() as channel:
        contributor = access_pb2_grpc.AccessServiceStub(channel).CreateToken(access_pb2.CreateTokenRequest(
            display_name=f"{model_id}-unsafe", role=access_pb2.ROLE_CONTRIBUTOR)).secret  # fmt: skip
    unsafe = item(model_id, "unsafe")
    unsafe.allow_unsafe = True
    results = register_many(api, unsafe, item(model_id, "fine"), metadata=(("authorization", f"Bearer {contributor}"),))

    assert results[0].error.code == code_pb2.PERMISSION_DENIED
    assert results[1].registered.created
    with shared_daemon.channel() as channel:
        trail = audit_pb2_grpc.AuditServiceStub(channel).ExportAuditTrail(audit_pb2.ExportAuditTrailRequest())
        denied = [r.event for r in trail if r.event.type == "access.denied"]
    assert (denied[-1].subject, denied[-1].actor) == ("studbook.v1.VersionService/RegisterModelVersions",
                                                      f"{model_id}-unsafe")  # fmt: skip


# Each drawn item is good (a storage URI) or refused before writing (no artifact, a bad name).
KINDS = st.sampled_from(["good", "good", "no-artifact", "bad-name"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(KINDS, max_size=12))
def test_good_items_get_consecutive_numbers_whatever_is_refused_between_them(api, kinds):
    model = f"p-{uuid.uuid4().hex[:12]}"  # not drawn: a replayed example must not find its model taken
    items = [
        item(model, f"{i}") if kind == "good" else item(model, f"{i}", storage_uri="") if kind == "no-artifact"
        else item("Bad Name", f"{i}")
        for i, kind in enumerate(kinds)
    ]  # fmt: skip
    results = register_many(api, *items)

    assert len(results) == len(kinds)
    assert [r.HasField("registered") for r in results] == [kind == "good" for kind in kinds]
    numbers = [r.registered.version.number for r in results if r.HasField("registered")]
    assert numbers == list(range(1, len(numbers) + 1))
    expected = {"no-artifact": "NO_ARTIFACT", "bad-name": "INVALID_NAME"}
    assert [reason(r.error) for r in results if r.HasField("error")] == [expected[k] for k in kinds if k != "good"]
