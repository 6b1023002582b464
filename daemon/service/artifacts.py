"""The ArtifactService servicer: streams the files of kept versions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.names import version_name
from studbook.daemon.service.access import caller_of
from studbook.daemon.service.errors import mapped, mapped_stream
from studbook.v1 import artifacts_pb2, artifacts_pb2_grpc


class ArtifactServicer(artifacts_pb2_grpc.ArtifactServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped_stream
    async def ReadArtifactFile(
        self, request: artifacts_pb2.ReadArtifactFileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[artifacts_pb2.ReadArtifactFileResponse]:  # noqa: N802
        read = await self.registry.artifacts.read_file(request.name, request.path, request.offset, request.length,
                                                       caller=caller_of(context), local_copy=request.local_copy)  # fmt: skip
        offset = read.offset
        first: artifacts_pb2.ReadArtifactFileResponse | None = artifacts_pb2.ReadArtifactFileResponse(
            version=version_name(read.version.model, read.version.number), size=read.file.size,
            sha256=read.file.sha256, offset=offset, local_path=read.local_path,
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

    @mapped
    async def GetUploadOffset(
        self, request: artifacts_pb2.GetUploadOffsetRequest, context: grpc.aio.ServicerContext
    ) -> artifacts_pb2.GetUploadOffsetResponse:  # noqa: N802
        offset, stored = await self.registry.uploads.offset(request.sha256, request.size)
        return artifacts_pb2.GetUploadOffsetResponse(offset=offset, stored=stored)

    @mapped
    async def UploadArtifactFile(
        self,
        request_iterator: AsyncIterator[artifacts_pb2.UploadArtifactFileRequest],
        context: grpc.aio.ServicerContext,
    ) -> artifacts_pb2.UploadArtifactFileResponse:  # noqa: N802
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("header"):
            raise InvalidArgument("an upload starts with its header: sha256, size and offset", reason="NO_UPLOAD_HEADER",
                                  field="header")  # fmt: skip
        header = first.header

        async def chunks() -> AsyncIterator[bytes]:
            async for message in request_iterator:
                if message.HasField("header"):
                    raise InvalidArgument("only the first message of an upload is a header",
                                          reason="NO_UPLOAD_HEADER", field="header")  # fmt: skip
                yield message.data

        done = await self.registry.uploads.receive(header.sha256, header.size, header.offset, chunks())
        return artifacts_pb2.UploadArtifactFileResponse(sha256=done.sha256, received=done.received, stored=done.stored,
                                                        created=done.created)  # fmt: skip
