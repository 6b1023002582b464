"""Taking files into a store: each byte read once, hashed and written in the same pass."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from studbook.daemon.blobs.claims import ClaimHold
from studbook.daemon.blobs.store import BlobStore
from studbook.daemon.domain.errors import ResourceExhausted

CHUNK_SIZE = 1 << 20


class StoreFull(ResourceExhausted):
    """No space left where blobs are written; nothing was stored."""

    reason = "STORE_FULL"


class Ingest:
    """A sink for the artifact scanner: copies each file it is handed into `store` while hashing it.

    `expected` maps relative paths to a sha256 already verified by an earlier read (a drop's
    completeness check): when the store holds that blob already, the file is not read again.
    Each blob is claimed in `hold` before it is looked for or stored, so that garbage collection
    leaves it alone until the version referring to it is committed (see blobs.claims).
    """

    def __init__(self, store: BlobStore, expected: Mapping[str, str] | None = None,
                 hold: ClaimHold | None = None) -> None:  # fmt: skip
        self.store = store
        self.expected = expected or {}
        self.hold = hold
        # Set by any file absorbed (the scanner hands files to several threads at once).
        self.touched = False

    def absorb(self, rel: str, fd: int, size: int) -> str | None:
        """Reads the open file `fd` to its end once; returns its sha256, or None when it did
        not hold exactly `size` bytes (it is being written). The blob is in place on return and
        durable once `seal` has run (the scanner calls it when the scan succeeded)."""
        self.touched = True
        known = self.expected.get(rel)
        if known is not None:
            self._claim(known)
            if self.store.has(known):
                return known
        staged = self.store.staging / f"{os.getpid()}-{uuid.uuid4().hex}.part"
        try:
            digest = self._copy(fd, size, staged)
            if digest is None:
                return None
            self._claim(digest)
            self.store.put(digest, staged, durable=False)
            return digest
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFull(
                    f"no space left in the artifact store {self.store.url}; free some space and register again",
                    store=self.store.url,
                ) from None
            raise
        finally:
            staged.unlink(missing_ok=True)

    def seal(self) -> None:
        """Makes the blobs this ingest stored or found durable: one flush for all of them.

        Found ones too: another ingest may have put them a moment ago and not flushed yet.
        """
        if self.touched:
            self.store.sync()

    def _claim(self, sha256: str) -> None:
        if self.hold is not None:
            self.hold.claim(sha256)

    def _copy(self, fd: int, size: int, staged: Path) -> str | None:
        hasher = hashlib.sha256()
        buffer = memoryview(bytearray(CHUNK_SIZE))
        reader = io.FileIO(fd, "rb", closefd=False)
        out = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            copied = 0
            while count := reader.readinto(buffer):
                copied += count
                if copied > size:
                    return None  # still growing: stop instead of chasing a writer
                chunk = buffer[:count]
                hasher.update(chunk)
                while chunk:
                    chunk = chunk[os.write(out, chunk) :]
            if copied != size:
                return None
        finally:
            os.close(out)
        return hasher.hexdigest()
