"""Blobs that ingests in flight rely on, so that garbage collection leaves them alone.

Between storing (or finding) a blob and committing the version that refers to it, an ingest
relies on a blob the catalog does not name yet. Its bytes may be old: identical content is
stored once, so a registration may reuse a blob written long ago that gc is just about to
delete as unreferenced. Blob age alone cannot protect that; claims do.

An ingest claims each blob *before* it looks for it or stores it, inside a `hold` that lasts
until its version is committed (or refused). A gc sweep starts recording every claim *before*
it reads which blobs the catalog refers to, and deletes a blob only under the claims' lock and
only if it was held when the sweep began or claimed since. So for each blob either the claim
comes first and gc skips it, or the delete comes first and the ingest finds the blob gone and
stores it again; and a version committed after gc read the catalog had its blobs claimed
throughout.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Sweep:
    """One gc sweep: every blob held when it began or claimed since."""

    def __init__(self, touched: set[str]) -> None:
        self.touched = touched


class ClaimHold:
    """The claims of one ingest; released together when it ends."""

    def __init__(self, claims: BlobClaims) -> None:
        self._claims = claims
        self.claimed: set[str] = set()

    def claim(self, sha256: str) -> None:
        """Call before looking for or storing blob `sha256`."""
        if sha256 not in self.claimed:
            self.claimed.add(sha256)
            self._claims._take(sha256)


class BlobClaims:
    """The daemon's claims; thread-safe (ingests run in worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()
        self._sweeps: list[Sweep] = []

    @contextmanager
    def hold(self) -> Iterator[ClaimHold]:
        """Claims made through the hold last until the block ends: end it once the version is committed."""
        hold = ClaimHold(self)
        try:
            yield hold
        finally:
            self._release(hold.claimed)

    @contextmanager
    def sweep(self) -> Iterator[Sweep]:
        """Records every claim while the block runs; start it before reading the catalog."""
        with self._lock:
            current = Sweep(set(self._held))
            self._sweeps.append(current)
        try:
            yield current
        finally:
            with self._lock:
                self._sweeps.remove(current)

    def delete_unclaimed(self, sweep: Sweep, sha256: str, delete: Callable[[str], None]) -> bool:
        """Deletes blob `sha256` unless it was claimed since `sweep` began; True when deleted.

        `delete` runs under the lock, so no claim can slip in between the check and the delete.
        """
        with self._lock:
            if sha256 in sweep.touched:
                return False
            delete(sha256)
            return True

    def _take(self, sha256: str) -> None:
        with self._lock:
            self._held[sha256] += 1
            for sweep in self._sweeps:
                sweep.touched.add(sha256)

    def _release(self, claimed: set[str]) -> None:
        with self._lock:
            for sha256 in claimed:
                self._held[sha256] -= 1
                if self._held[sha256] <= 0:
                    del self._held[sha256]
