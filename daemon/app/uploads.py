"""Use cases on uploads: files sent by remote clients land in the artifact store, resumably."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from studbook.daemon.artifacts import ScanLimits
from studbook.daemon.blobs import BlobStore
from studbook.daemon.blobs.upload import PartialUpload
from studbook.daemon.domain.errors import Conflict, InvalidArgument


@dataclass
class Uploaded:
    sha256: str
    received: int
    stored: bool
    created: bool = False


class UploadUseCases:
    def __init__(self, blobs: BlobStore, scan_limits: ScanLimits) -> None:
        self.blobs = blobs
        self.scan_limits = scan_limits
        # One call at a time per blob: two writers appending to one partial copy would garble it.
        self._busy: set[str] = set()

    def _partial(self, sha256: str, size: int) -> PartialUpload:
        if size > self.scan_limits.max_file_bytes:
            raise InvalidArgument(
                f"{size} bytes is more than the {self.scan_limits.max_file_bytes} allowed for one file",
                reason="FILE_TOO_LARGE", size=size, max_file_bytes=self.scan_limits.max_file_bytes,
            )  # fmt: skip
        return PartialUpload(self.blobs, sha256, size)

    async def offset(self, sha256: str, size: int) -> tuple[int, bool]:
        """(bytes received so far, whether the store holds the blob already)."""
        partial = self._partial(sha256, size)
        if await asyncio.to_thread(self.blobs.size, sha256) == size:
            return size, True
        return await asyncio.to_thread(partial.offset), False

    async def receive(self, sha256: str, size: int, offset: int, chunks: AsyncIterator[bytes]) -> Uploaded:
        """Appends the chunks from `offset`; once all `size` bytes are there, checks and stores them."""
        partial = self._partial(sha256, size)
        if sha256 in self._busy:
            raise Conflict(f"another call is uploading {sha256[:12]}... right now; ask for the offset again shortly",
                           reason="UPLOAD_IN_PROGRESS", sha256=sha256)  # fmt: skip
        self._busy.add(sha256)
        try:
            if await asyncio.to_thread(self.blobs.size, sha256) == size:
                return Uploaded(sha256, size, stored=True)
            end = offset
            async for chunk in chunks:
                end = await asyncio.to_thread(partial.append, end, chunk)
            if end < size:
                # A call may send part of a file and resume later; the copy waits for the rest.
                return Uploaded(sha256, end, stored=False)
            if size == 0:
                await asyncio.to_thread(partial.append, 0, b"")  # an empty file still needs its copy
            created = await asyncio.to_thread(partial.finish)
            return Uploaded(sha256, size, stored=True, created=created)
        finally:
            self._busy.discard(sha256)
