"""Blobs that ingests in flight rely on, so that garbage collection leaves them alone.

Between storing (or finding) a blob and committing the version that refers to it, an ingest
relies on a blob the catalog does not name yet. Its bytes may be old: identical content is
stored once, so a registration may reuse a blob written long ago that gc is just about to
delete as unreferenced. Blob age alone cannot protect that; claims do.

An ingest claims each blob *before* it looks for it or stores it, inside a `hold` that lasts
until its version is committed (or refused); a released claim still protects its blob for
`linger` seconds, which covers the short step from a drop's copy to its registration. A gc
sweep starts recording every claim *before* it reads which blobs the catalog refers to, and
deletes a blob only under the claims' lock and only if nobody claimed it since the sweep
began. So for each blob either the claim comes first and gc skips it, or the delete comes
first and the ingest finds the blob gone and stores it again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Seconds a released claim still protects its blob.
CLAIM_LINGER_SECONDS = 3600.0
# Released claims are pruned once there are this many, so a daemon that never runs gc stays small.
PRUNE_AT = 10_000


class Sweep:
    """One gc sweep: every blob claimed from its start on (and held or lingering at its start)."""

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

    def __init__(self, linger: float = CLAIM_LINGER_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()
        self._released: dict[str, float] = {}
        self._sweeps: list[Sweep] = []
        self._linger = linger
        self._clock = clock

    @contextmanager
    def hold(self) -> Iterator[ClaimHold]:
        """Claims made through the hold last until the block ends, then linger."""
        hold = ClaimHold(self)
        try:
            yield hold
        finally:
            self._release(hold.claimed)

    @contextmanager
    def sweep(self) -> Iterator[Sweep]:
        """Records every claim while the block runs; start it before reading the catalog."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            current = Sweep(set(self._held) | set(self._released))
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
            now = self._clock()
            for sha256 in claimed:
                self._held[sha256] -= 1
                if self._held[sha256] <= 0:
                    del self._held[sha256]
                self._released[sha256] = now
            if len(self._released) >= PRUNE_AT:
                self._prune(now)

    def _prune(self, now: float) -> None:
        self._released = {sha: at for sha, at in self._released.items() if now - at < self._linger}
