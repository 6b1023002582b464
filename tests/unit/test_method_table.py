"""The daemon's services as one generic handler: every method found by its full name."""

from __future__ import annotations

import functools

import grpc
import pytest
from studbook.daemon.service.methods import MethodTable
from studbook.v1 import registry_pb2, registry_pb2_grpc, stages_pb2, stages_pb2_grpc


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def _generic_only(server: MethodTable) -> None:
    """Generated code of an older grpc: its handlers registered as a generic handler alone."""
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("old.Service", {"Ping": handler}),))


def test_each_method_of_each_service_is_served_by_its_full_name_and_no_other() -> None:
    table = MethodTable([
        functools.partial(registry_pb2_grpc.add_VersionServiceServicer_to_server,
                          registry_pb2_grpc.VersionServiceServicer()),
        functools.partial(stages_pb2_grpc.add_StageServiceServicer_to_server, stages_pb2_grpc.StageServiceServicer()),
    ])  # fmt: skip

    register = table.service(_Details("/studbook.v1.VersionService/RegisterModelVersion"))
    promote = table.service(_Details("/studbook.v1.StageService/PromoteModelVersion"))

    assert register is not None and register.request_deserializer == registry_pb2.RegisterModelVersionRequest.FromString
    assert promote is not None and promote.request_deserializer == stages_pb2.PromoteModelVersionRequest.FromString
    assert table.service(_Details("/studbook.v1.VersionService/PromoteModelVersion")) is None
    assert table.service(_Details("/studbook.v1.NoSuchService/RegisterModelVersion")) is None


def test_generated_code_that_names_no_method_is_refused_at_start() -> None:
    with pytest.raises(TypeError, match="registered no method by name"):
        MethodTable([_generic_only])
