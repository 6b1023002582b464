"""The ArtifactService servicer: streams the files of kept versions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.names import version_name
from studbook.daemon.service.errors import mapped_stream
from studbook.v1 import artifacts_pb2, artifacts_pb2_grpc


class ArtifactServicer(artifacts_pb2_grpc.ArtifactServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped_stream
    async def ReadArtifactFile(self, request: artifacts_pb2.ReadArtifactFileRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[artifacts_pb2.ReadArtifactFileResponse]:  # noqa: N802
        read = await self.registry.artifacts.read_file(request.name, request.path, request.offset, request.length)
        offset = read.offset
        first: artifacts_pb2.ReadArtifactFileResponse | None = artifacts_pb2.ReadArtifactFileResponse(
            version=version_name(read.version.model, read.version.number), size=read.file.size,
            sha256=read.file.sha256, offset=offset,
        )  # fmt: skip
        async for chunk in read.chunks:
            if first is not None:
                first.data = chunk
                yield first
                first = None
            else:
                yield artifacts_pb2.ReadArtifactFileResponse(offset=offset, data=chunk)
            offset += len(chunk)
        if first is not None:  # nothing left to read from this offset: still say what the file is
            yield first
