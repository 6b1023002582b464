"""Access at the edge: every call is admitted (or refused and recorded) before its handler runs."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc
from studbook.daemon.app.access import AccessUseCases
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.access import TCP, UNIX, Caller, check_method, is_open, method_key
from studbook.daemon.domain.errors import PermissionDenied, RegistryError, Unauthenticated
from studbook.daemon.service import convert
from studbook.daemon.service.errors import RECORD_REFUSAL, abort, mapped, status_code
from studbook.v1 import access_pb2, access_pb2_grpc

ACTOR_HEADER = "x-studbook-actor"
AUTHORIZATION_HEADER = "authorization"
MAX_ACTOR = 256

# The admitted caller of the call being handled; set by the interceptor around each handler.
CURRENT_CALLER: ContextVar[Caller] = ContextVar("studbook_caller")


def caller_of(context: grpc.aio.ServicerContext) -> Caller:
    """Who the current call was admitted as (by token, or the unix socket's owner)."""
    return CURRENT_CALLER.get()


def _transport(context: grpc.aio.ServicerContext) -> str:
    return UNIX if (context.peer() or "").startswith("unix:") else TCP


def _header(context: grpc.aio.ServicerContext, name: str) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == name:
            return str(value)
    return None


async def _only_request(context: grpc.aio.ServicerContext) -> Any:
    """The one request message of a unary-request method, read only now that its caller is admitted."""
    request = await context.read()
    if request is grpc.aio.EOF:
        # A client that half-closed without sending its request: say what is missing rather
        # than run the handler on nothing.
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the call carried no request message; send one")
    return request


class AccessInterceptor(grpc.aio.ServerInterceptor):
    """Wraps each handler so that it runs, and its request is read, only for an admitted caller
    (with CURRENT_CALLER set)."""

    def __init__(self, access: AccessUseCases) -> None:
        self.access = access
        # The guarded handler of each method served, built on its first call: the wrapping is
        # the same for every call, and rebuilding it per call was CPU on every request. Only
        # methods the daemon serves are kept, so a caller naming others cannot grow it.
        self._guarded: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = details.method
        guarded = self._guarded.get(method)
        if guarded is None:
            handler = await continuation(details)
            if handler is None:
                return handler
            guarded = self._guarded[method] = self._guard(handler, method)
        return guarded

    def _guard(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if is_open(method):
            return handler
        # Every guarded call becomes request-streaming on the server, whatever the client sees
        # (the wire is the same): grpc reads a unary request whole before its handler runs, so
        # a caller without a token could make the daemon hold 60 MiB per call. A streaming
        # handler reads nothing until asked, and it asks only once the caller is admitted.
        if handler.response_streaming:
            behavior = handler.stream_stream or handler.unary_stream
            streaming = self._streaming(behavior, method, unary_request=not handler.request_streaming)
            return grpc.stream_stream_rpc_method_handler(streaming, request_deserializer=handler.request_deserializer,
                                                         response_serializer=handler.response_serializer)  # fmt: skip
        behavior = handler.stream_unary or handler.unary_unary
        unary = self._unary(behavior, method, unary_request=not handler.request_streaming)
        return grpc.stream_unary_rpc_method_handler(unary, request_deserializer=handler.request_deserializer,
                                                    response_serializer=handler.response_serializer)  # fmt: skip

    def _unary(self, behavior: Callable[..., Awaitable[Any]], method: str,
               unary_request: bool) -> Callable[..., Awaitable[Any]]:  # fmt: skip
        async def guarded(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            await self._admit(context, method)
            request = await _only_request(context) if unary_request else requests
            return await behavior(request, context)

        return guarded

    def _streaming(self, behavior: Callable[..., AsyncIterator[Any]], method: str,
                   unary_request: bool) -> Callable[..., AsyncIterator[Any]]:  # fmt: skip
        async def guarded(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            await self._admit(context, method)
            request = await _only_request(context) if unary_request else requests
            async for item in behavior(request, context):
                yield item

        return guarded

    async def _admit(self, context: grpc.aio.ServicerContext, method: str) -> None:
        """Establishes and checks the caller, sets CURRENT_CALLER; refuses (recorded) otherwise."""
        transport = _transport(context)
        claimed = (_header(context, ACTOR_HEADER) or "")[:MAX_ACTOR]
        caller = None
        try:
            caller = self.access.identify(transport, _header(context, AUTHORIZATION_HEADER), claimed)
            check_method(caller, method)
        except (Unauthenticated, PermissionDenied) as error:
            await self._record(context, caller, method, error)
            await abort(context, error)
            raise  # abort raised already; this line only tells the type checker
        CURRENT_CALLER.set(caller)
        # A refusal the handler makes itself (production needing an approver, a path outside the
        # allowed roots) is recorded as this one would be, before it is answered (see `abort`).
        RECORD_REFUSAL.set(functools.partial(self._record, context, caller, method))

    async def _record(self, context: grpc.aio.ServicerContext, caller: Caller | None, method: str,
                      error: RegistryError) -> None:  # fmt: skip
        await record_denial(self.access, context, caller, method, error)


async def record_denial(access: AccessUseCases, context: grpc.aio.ServicerContext, caller: Caller | None,
                        method: str, error: RegistryError) -> None:  # fmt: skip
    """Records a refusal in the audit trail: of a call, or of one request in a call of many."""
    await access.record_denial(caller, _transport(context), method_key(method), status_code(error).name, error,
                               context.peer() or "")  # fmt: skip


class AccessServicer(access_pb2_grpc.AccessServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.access = registry.access

    @mapped
    async def CreateToken(
        self, request: access_pb2.CreateTokenRequest, context: grpc.aio.ServicerContext
    ) -> access_pb2.CreateTokenResponse:  # noqa: N802
        role = convert.role_from_proto(request.role)
        token, secret = await self.access.create_token(request.display_name, role, request.ttl_seconds,
                                                        caller_of(context))  # fmt: skip
        return access_pb2.CreateTokenResponse(token=convert.token_to_proto(token), secret=secret)

    @mapped
    async def ListTokens(
        self, request: access_pb2.ListTokensRequest, context: grpc.aio.ServicerContext
    ) -> access_pb2.ListTokensResponse:  # noqa: N802
        tokens = self.access.list_tokens(request.show_revoked)
        return access_pb2.ListTokensResponse(tokens=[convert.token_to_proto(t) for t in tokens])

    @mapped
    async def RevokeToken(
        self, request: access_pb2.RevokeTokenRequest, context: grpc.aio.ServicerContext
    ) -> access_pb2.Token:  # noqa: N802
        return convert.token_to_proto(await self.access.revoke_token(request.name, caller_of(context)))

    @mapped
    async def GetCaller(
        self, request: access_pb2.GetCallerRequest, context: grpc.aio.ServicerContext
    ) -> access_pb2.Caller:  # noqa: N802
        return convert.caller_to_proto(caller_of(context))
