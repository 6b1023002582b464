"""Every method the daemon serves (its services, health, reflection) in one table, served
through one generic handler.

grpc's generated `add_*Servicer_to_server` functions register each method with the server on
its own. grpc.aio keeps one pending call request per registered method and, for every call
that arrives, waits on all of them again (`asyncio.wait` over the whole set): with the sixty-odd
methods the daemon serves, that wait was about a tenth of the event loop's CPU per call
(measured here). Handed to the server as one handler instead, they are found by name in a
dict, and the server waits on a single request for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import grpc


class MethodTable(grpc.GenericRpcHandler):
    """Collects what the generated `add_*Servicer_to_server` functions register, in place of
    the server; then serves it as one generic handler (`server.add_generic_rpc_handlers`)."""

    def __init__(self, adders: Iterable[Callable[[MethodTable], None]]) -> None:
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        for add in adders:
            held = len(self._handlers)
            add(self)
            if len(self._handlers) == held:
                # Code from a grpcio-tools that names no method: refused at start, rather than
                # a daemon that answers UNIMPLEMENTED for a whole service.
                raise TypeError(f"{add} registered no method by name; generate the code again (make proto)")

    # The two calls generated code makes on the server it is given.
    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        for name, handler in handlers.items():
            self._handlers[f"/{service}/{name}"] = handler

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """Ignored: generated code hands the same handlers to `add_registered_method_handlers`."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        return self._handlers.get(handler_call_details.method)
