"""RegisterModelVersion's `source_create_time`: an import keeps the time a version was created in
the registry it comes from; only an admin may, and the audit trail says the time is the source's."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from studbook.v1 import access_pb2, access_pb2_grpc, registry_pb2, resources_pb2
from support.rpc import error_info, logged_events, stubs, version_or_none

THEN = datetime(2021, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def request(model: str, *, when: datetime | None = THEN) -> registry_pb2.RegisterModelVersionRequest:
    made = registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}", version=resources_pb2.ModelVersion(storage_uri=f"s3://bucket/{model}")
    )
    if when is not None:
        made.source_create_time.CopyFrom(Timestamp(seconds=int(when.timestamp()), nanos=when.microsecond * 1000))
    return made


def test_an_admin_keeps_the_sources_create_time_and_the_trail_says_so(shared_daemon, model_id) -> None:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        stub = stubs(channel)
        version = stub.versions.RegisterModelVersion(request(model_id)).version  # the socket's owner is admin
        events = logged_events(stub, model_id, "version.source_time")

    assert version.create_time.ToDatetime(tzinfo=UTC) == THEN
    [event] = events
    assert event.subject == f"models/{model_id}/versions/1"
    assert event.version.create_time.ToDatetime(tzinfo=UTC) == THEN
    # The event is dated when it was recorded: the trail never pretends it happened in 2021.
    assert event.time.ToDatetime(tzinfo=UTC) > THEN


def test_without_it_the_create_time_is_the_registrations(shared_daemon, model_id) -> None:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        stub = stubs(channel)
        version = stub.versions.RegisterModelVersion(request(model_id, when=None)).version
        events = logged_events(stub, model_id, "version.source_time")

    assert version.create_time.ToDatetime(tzinfo=UTC) > THEN
    assert events == []


@pytest.mark.parametrize("role", ["contributor", "maintainer", "approver"])
def test_anyone_below_admin_is_refused_and_nothing_is_registered(shared_daemon, model_id, role) -> None:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        secret = access_pb2_grpc.AccessServiceStub(channel).CreateToken(
            access_pb2.CreateTokenRequest(display_name=f"{role}-{model_id}", role=access_pb2.Role.Value(f"ROLE_{role.upper()}"))
        ).secret  # fmt: skip
        stub = stubs(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.versions.RegisterModelVersion(request(model_id), metadata=(("authorization", f"Bearer {secret}"),))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        info = error_info(refused.value)
        assert info.reason == "ROLE_REQUIRED" and info.metadata["required_role"] == "admin"
        assert version_or_none(stub, model_id, 1) is None


def test_a_model_keeps_its_sources_create_time_too_for_an_admin_alone(shared_daemon, model_id) -> None:  # type: ignore[no-untyped-def]
    stamp = Timestamp(seconds=int(THEN.timestamp()), nanos=THEN.microsecond * 1000)
    with shared_daemon.channel() as channel:
        stub = stubs(channel)
        secret = (
            access_pb2_grpc.AccessServiceStub(channel)
            .CreateToken(
                access_pb2.CreateTokenRequest(display_name=f"maintainer-{model_id}", role=access_pb2.ROLE_MAINTAINER)
            )
            .secret
        )
        with pytest.raises(grpc.RpcError) as refused:
            stub.models.CreateModel(registry_pb2.CreateModelRequest(model_id=model_id, source_create_time=stamp),
                                    metadata=(("authorization", f"Bearer {secret}"),))  # fmt: skip
        model = stub.models.CreateModel(registry_pb2.CreateModelRequest(model_id=model_id, source_create_time=stamp))
        events = logged_events(stub, model_id, "model.source_time")

    assert error_info(refused.value).reason == "ROLE_REQUIRED"
    assert model.create_time.ToDatetime(tzinfo=UTC) == THEN
    assert [e.subject for e in events] == [f"models/{model_id}"]
