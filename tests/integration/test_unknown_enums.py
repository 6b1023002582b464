"""proto3 carries any integer in an enum field; the daemon refuses values its contract does
not define, instead of reading them as some default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from studbook.v1 import access_pb2, access_pb2_grpc, lineage_pb2, registry_pb2, resources_pb2
from support.rpc import error_info, register, stubs

UNDEFINED = 97


def version_with(**fields: Any) -> resources_pb2.ModelVersion:
    return resources_pb2.ModelVersion(storage_uri="s3://bucket/x", **fields)


CALLS: dict[str, tuple[str, Callable[[grpc.Channel, str], Any]]] = {
    "CreateToken.role": ("role", lambda ch, m: access_pb2_grpc.AccessServiceStub(ch).CreateToken(
        access_pb2.CreateTokenRequest(display_name="ci", role=UNDEFINED))),
    "GetLineage.direction": ("direction", lambda ch, m: stubs(ch).lineage.GetLineage(
        lineage_pb2.GetLineageRequest(name=f"models/{m}/versions/1", direction=UNDEFINED))),
    "CreateModel.model.state": ("model.state", lambda ch, m: stubs(ch).models.CreateModel(
        registry_pb2.CreateModelRequest(model_id=f"{m}-new", model=resources_pb2.Model(state=UNDEFINED)))),
    "RegisterModelVersion.parents.relation": ("version.parents[0].relation", lambda ch, m: stubs(ch).versions
        .RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(parent=f"models/{m}", version=version_with(
            parents=[resources_pb2.ParentVersion(version=f"models/{m}/versions/1", relation=UNDEFINED)])))),
    "RegisterModelVersion.change_kind": ("version.change_kind", lambda ch, m: stubs(ch).versions.RegisterModelVersion(
        registry_pb2.RegisterModelVersionRequest(parent=f"models/{m}", version=version_with(change_kind=UNDEFINED)))),
    "UpdateModelVersion.status": ("version.status", lambda ch, m: stubs(ch).versions.UpdateModelVersion(
        registry_pb2.UpdateModelVersionRequest(version=resources_pb2.ModelVersion(
            name=f"models/{m}/versions/1", description="x", status=UNDEFINED)))),
}  # fmt: skip


@pytest.mark.parametrize("call", sorted(CALLS))
def test_an_undefined_enum_value_is_invalid_argument(shared_daemon, model_id, call):
    field, send = CALLS[call]
    channel = shared_daemon.channel()
    try:
        register(stubs(channel), model_id)
        with pytest.raises(grpc.RpcError) as caught:
            send(channel, model_id)
    finally:
        channel.close()

    info = error_info(caught.value)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert info.reason == "INVALID_ENUM"
    assert info.metadata["field"] == field and info.metadata["value"] == str(UNDEFINED)
    assert str(UNDEFINED) in caught.value.details()
