"""An error never echoes unbounded input: a huge name comes back as INVALID_ARGUMENT with a
short message and short ErrorInfo metadata, not as a trailer too big to send."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from studbook.v1 import registry_pb2, resources_pb2
from support.rpc import Stubs, error_info, stubs

HUGE = "a" * 100_000 + "!"
# Room for the advice around an echoed value, far below what a gRPC trailer may hold.
SHORT = 1_200

CALLS: dict[str, Callable[[Stubs], Any]] = {
    "CreateModel": lambda s: s.models.CreateModel(registry_pb2.CreateModelRequest(model_id=HUGE)),
    "GetModel": lambda s: s.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{HUGE}")),
    "GetModelVersion": lambda s: s.versions.GetModelVersion(
        registry_pb2.GetModelVersionRequest(name=f"models/{HUGE}/versions/1")),
    "ListModelVersions": lambda s: s.versions.ListModelVersions(
        registry_pb2.ListModelVersionsRequest(parent=f"models/{HUGE}")),
    "RegisterModelVersion": lambda s: s.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{HUGE}", version=resources_pb2.ModelVersion(storage_uri="s3://b/x"))),
    "DiffModelVersions": lambda s: s.versions.DiffModelVersions(
        registry_pb2.DiffModelVersionsRequest(base=f"models/{HUGE}/versions/1", target="models/m/versions/1")),
    "ListModels": lambda s: s.models.ListModels(registry_pb2.ListModelsRequest(filter=f'name = "{HUGE}')),
}  # fmt: skip


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_huge_name_is_refused_with_a_short_message(shared_daemon, call):
    channel = shared_daemon.channel()
    try:
        with pytest.raises(grpc.RpcError) as caught:
            CALLS[call](stubs(channel))
    finally:
        channel.close()

    error = caught.value
    info = error_info(error)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()[:300]
    assert len(error.details()) < SHORT
    assert all(len(value) < 300 for value in info.metadata.values())
    assert "a" * 300 not in error.details()  # the name is echoed only as far as a reader needs
