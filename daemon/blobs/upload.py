"""A blob arriving in pieces from a remote client: appended in order, resumable, checked whole."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

from studbook.daemon.blobs.ingest import StoreFull
from studbook.daemon.blobs.store import SHA256_HEX, BlobStore
from studbook.daemon.domain.errors import InvalidArgument, OutOfRange

HASH_CHUNK = 1 << 20


class PartialUpload:
    """`<staging>/upload-<sha256>.part`: the bytes received so far, kept across calls and restarts
    (until the staging sweep removes an upload left alone for an hour)."""

    def __init__(self, store: BlobStore, sha256: str, size: int) -> None:
        if not SHA256_HEX.fullmatch(sha256):
            raise InvalidArgument(f"sha256 must be 64 lower-case hex digits, got {sha256[:80]!r}",
                                  reason="INVALID_SHA256", field="sha256")  # fmt: skip
        if size < 0:
            raise InvalidArgument("size must not be negative", reason="INVALID_SIZE", field="size")
        self.store = store
        self.sha256 = sha256
        self.size = size
        self.path = store.staging / f"upload-{sha256}.part"

    def offset(self) -> int:
        """Bytes received so far; a copy longer than the file (another size claimed) starts over."""
        try:
            received = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        if received > self.size:
            self.path.unlink(missing_ok=True)
            return 0
        return received

    def append(self, offset: int, data: bytes) -> int:
        """Writes `data` at `offset`, which must be where the copy ends; returns the new end."""
        current = self.offset()
        if offset != current:
            raise OutOfRange(f"the daemon holds {current} bytes of {self.sha256[:12]}...; continue from there",
                             reason="UPLOAD_OFFSET_MISMATCH", offset=current)  # fmt: skip
        if current + len(data) > self.size:
            raise OutOfRange(f"more than the {self.size} bytes announced for {self.sha256[:12]}...",
                             reason="UPLOAD_TOO_LONG", offset=current)  # fmt: skip
        try:
            with open(self.path, "ab") as out:
                out.write(data)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFull(f"no space left to receive uploads in {self.store.staging}; free some space "
                                "and upload again from the same offset", store=self.store.url) from None  # fmt: skip
            raise
        return current + len(data)

    def finish(self) -> bool:
        """Checks the complete copy against its sha256 and stores it; True when the blob is new.

        A copy whose bytes hash to something else is dropped: the client must send it again.
        """
        hasher = hashlib.sha256()
        with open(self.path, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                hasher.update(chunk)
        if hasher.hexdigest() != self.sha256:
            self.path.unlink(missing_ok=True)
            raise InvalidArgument(f"the bytes received hash to {hasher.hexdigest()[:12]}..., not "
                                  f"{self.sha256[:12]}...; upload the file again from offset 0",
                                  reason="SHA256_MISMATCH", sha256=self.sha256)  # fmt: skip
        return self.store.put(self.sha256, Path(self.path))
