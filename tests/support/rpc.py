"""Small helpers for tests that talk raw gRPC: stubs and the ErrorInfo of a failed call."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from studbook.v1 import (
    drops_pb2,
    drops_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    lineage_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
    stages_pb2_grpc,
)


@dataclass
class Stubs:
    models: registry_pb2_grpc.ModelServiceStub
    versions: registry_pb2_grpc.VersionServiceStub
    stages: stages_pb2_grpc.StageServiceStub
    lineage: lineage_pb2_grpc.LineageServiceStub
    events: events_pb2_grpc.EventServiceStub


def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs(
        registry_pb2_grpc.ModelServiceStub(channel),
        registry_pb2_grpc.VersionServiceStub(channel),
        stages_pb2_grpc.StageServiceStub(channel),
        lineage_pb2_grpc.LineageServiceStub(channel),
        events_pb2_grpc.EventServiceStub(channel),
    )


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)
    assert status is not None, f"no rich status in {error}"
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError(f"no ErrorInfo in {error}")


def register(stub: Stubs, model: str, **fields: object) -> resources_pb2.ModelVersion:
    """Registers a metadata-only version; keyword arguments fill the ModelVersion message."""
    request_id = str(fields.pop("request_id", ""))
    semver = str(fields.pop("semver", ""))
    timeout = fields.pop("timeout", None)
    fields.setdefault("storage_uri", f"s3://bucket/{model}")
    reply = stub.versions.RegisterModelVersion(
        registry_pb2.RegisterModelVersionRequest(
            parent=f"models/{model}",
            version=resources_pb2.ModelVersion(**fields),
            request_id=request_id,
            semver=semver,
        ),  # fmt: skip
        timeout=timeout,
    )
    return reply.version


def version_or_none(stub: Stubs, model: str, number: int | str) -> resources_pb2.ModelVersion | None:
    """The version, or None while it does not exist (for waiting until it does)."""
    try:
        return stub.versions.GetModelVersion(
            registry_pb2.GetModelVersionRequest(name=f"models/{model}/versions/{number}")
        )
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def logged_events(stub: Stubs, model: str, kind: str) -> list[events_pb2.Event]:
    """Every logged event of one model and type, read until the stream goes idle."""
    stream = stub.events.Watch(events_pb2.WatchRequest(start_revision=0, filter=f'model = "{model}" AND type = "{kind}"',
                                                       bookmark_interval_seconds=1), timeout=10)  # fmt: skip
    found = []
    for response in stream:
        if response.HasField("bookmark"):
            break
        found.append(response.event)
    stream.cancel()
    return found


def drop_at(drops: drops_pb2_grpc.DropServiceStub, path: object) -> drops_pb2.Drop | None:
    """The drop whose folder or file is `path`, or None while the watcher has not seen it."""
    for drop in drops.ListDrops(drops_pb2.ListDropsRequest(page_size=1000)).drops:
        if drop.path == str(path):
            return drop
    return None


def quarantined_at(drops: drops_pb2_grpc.DropServiceStub, path: object) -> drops_pb2.Drop | None:
    """The drop at `path` once it is quarantined (for waiting until it is)."""
    drop = drop_at(drops, path)
    return drop if drop is not None and drop.state == drops_pb2.DROP_STATE_QUARANTINED else None
