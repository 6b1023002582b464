"""Use cases on the bytes of kept versions: reading a file back out of the artifact store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from studbook.daemon.app.versions import VersionUseCases
from studbook.daemon.blobs import BlobStore
from studbook.daemon.blobs.store import local_path
from studbook.daemon.domain.access import UNIX, Caller
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, NotFound, OutOfRange
from studbook.daemon.domain.model import ArtifactFile, ModelVersion
from studbook.daemon.domain.names import version_name


@dataclass
class FileRead:
    """One file of a version being read: what it is, and its bytes from the offset asked for."""

    version: ModelVersion
    file: ArtifactFile
    offset: int
    chunks: AsyncIterator[bytes]
    local_path: str = ""
    """Set instead of sending bytes: the stored file, for a caller on this machine to copy."""


class ArtifactUseCases:
    def __init__(self, versions: VersionUseCases, blobs: BlobStore) -> None:
        self.versions = versions
        self.blobs = blobs

    async def read_file(self, name: str, path: str, offset: int, length: int, *, caller: Caller,
                        local_copy: bool = False) -> FileRead:  # fmt: skip
        """A file of a kept version, from `offset`, at most `length` bytes (0: to the end).

        With `local_copy`, a caller on the unix socket (the daemon's owner, on this machine)
        is told where the stored file lies instead, when the store is a local folder: copying
        it directly beats streaming it through the daemon many times over.
        """
        version = await self.versions.get(name)
        canonical = version_name(version.model, version.number)
        if not version.kept:
            raise FailedPrecondition(
                f"{canonical} is referenced, not kept: the registry holds no copy of its files "
                f"(they are at {version.storage_uri or 'an external location'})",
                reason="VERSION_NOT_KEPT", version=canonical,
            )  # fmt: skip
        found = next((f for f in version.files if f.path == path), None)
        if found is None:
            raise NotFound(f"{canonical} has no file {path[:500]!r}; its files: "
                           f"{', '.join(f.path for f in version.files[:10])}",
                           reason="FILE_NOT_FOUND", version=canonical, path=path[:500])  # fmt: skip
        if length < 0:
            raise InvalidArgument("length must not be negative", reason="INVALID_LENGTH", field="length")
        if not 0 <= offset <= found.size:
            raise OutOfRange(f"offset {offset} lies outside {path!r} ({found.size} bytes)",
                             reason="INVALID_OFFSET", field="offset", size=found.size)  # fmt: skip
        stored_at = local_path(self.blobs, found.sha256) if local_copy and caller.transport == UNIX else None
        if stored_at is not None:
            return FileRead(version, found, offset, _no_chunks(), local_path=str(stored_at))
        chunks = await asyncio.to_thread(self.blobs.read, found.sha256, offset, length or None)
        return FileRead(version, found, offset, off_the_loop(chunks))


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


async def off_the_loop(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each chunk read in a worker thread: a slow disk or bucket must not stall other calls."""
    try:
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
