"""DropCalls: the DropService calls the drops screen needs, on its own grpc.aio channel.

The shared clients do not offer the drop-in service yet, so this stays small and the
screen can move to them once they do.
"""

from __future__ import annotations

import grpc
import grpc.aio

from studbook.tui.client import CHANNEL_OPTIONS, DEFAULT_TIMEOUT, channel_target, error_from_rpc
from studbook.v1 import drops_pb2, drops_pb2_grpc

PAGE_SIZE = 500


class DropCalls:
    """Created anywhere; its channel is opened on first use, inside the running loop."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._channel: grpc.aio.Channel | None = None
        self._stub: drops_pb2_grpc.DropServiceStub | None = None

    def _service(self) -> drops_pb2_grpc.DropServiceStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(channel_target(self.address), options=CHANNEL_OPTIONS)
            self._stub = drops_pb2_grpc.DropServiceStub(self._channel)
        return self._stub

    async def quarantined(self) -> drops_pb2.ListQuarantinedDropsResponse:
        request = drops_pb2.ListQuarantinedDropsRequest(page_size=PAGE_SIZE)
        try:
            return await self._service().ListQuarantinedDrops(request, timeout=DEFAULT_TIMEOUT)
        except grpc.RpcError as error:
            raise error_from_rpc(error, self.address) from None

    async def retry(self, drop: drops_pb2.Drop) -> drops_pb2.Drop:
        request = drops_pb2.RetryDropRequest(name=drop.name, path=drop.path)
        try:
            return await self._service().RetryDrop(request, timeout=DEFAULT_TIMEOUT)
        except grpc.RpcError as error:
            raise error_from_rpc(error, self.address) from None

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None
