"""HookService: translates calls to the webhook use cases (`app/hooks.py`)."""

from __future__ import annotations

import grpc
from studbook.daemon.app.registry import Registry
from studbook.daemon.service.access import caller_of
from studbook.daemon.service.errors import mapped
from studbook.daemon.service.hook_convert import delivery_to_proto, hook_to_proto
from studbook.v1 import hooks_pb2, hooks_pb2_grpc


class HookServicer(hooks_pb2_grpc.HookServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.hooks = registry.hooks

    @mapped
    async def AddHook(
        self, request: hooks_pb2.AddHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.AddHookResponse:  # noqa: N802
        hook, secret = await self.hooks.add_hook(request.url, list(request.events), request.model_pattern,
                                                 request.secret, request.name, caller_of(context))  # fmt: skip
        return hooks_pb2.AddHookResponse(hook=hook_to_proto(hook), secret=secret)

    @mapped
    async def ListHooks(
        self, request: hooks_pb2.ListHooksRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.ListHooksResponse:  # noqa: N802
        return hooks_pb2.ListHooksResponse(hooks=[hook_to_proto(h) for h in await self.hooks.stored_hooks()])

    @mapped
    async def RemoveHook(
        self, request: hooks_pb2.RemoveHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.Hook:  # noqa: N802
        return hook_to_proto(await self.hooks.remove_hook(request.name, caller_of(context)))

    @mapped
    async def TestHook(
        self, request: hooks_pb2.TestHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.HookDelivery:  # noqa: N802
        return delivery_to_proto(await self.hooks.test(request.name), request.name)

    @mapped
    async def ListDeliveries(
        self, request: hooks_pb2.ListDeliveriesRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.ListDeliveriesResponse:  # noqa: N802
        deliveries = await self.hooks.deliveries(request.name, request.limit)
        return hooks_pb2.ListDeliveriesResponse(deliveries=[delivery_to_proto(d, request.name) for d in deliveries])

    @mapped
    async def ReplayHook(
        self, request: hooks_pb2.ReplayHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.Hook:  # noqa: N802
        return hook_to_proto(await self.hooks.replay(request.name, request.from_revision, caller_of(context)))

    @mapped
    async def GetHookStatus(
        self, request: hooks_pb2.GetHookStatusRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.HookStatus:  # noqa: N802
        count, paused = self.hooks.status()
        return hooks_pb2.HookStatus(hooks=count, delivering=self.hooks.leading, paused=[
            hooks_pb2.PausedHook(name=h.name, reason=h.pause_reason, next_revision=h.cursor + 1) for h in paused
        ])  # fmt: skip
