"""Re-hashing the artifact store: each distinct blob once, in worker threads; bad ones make versions corrupt."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.blobs import BlobMissing, BlobStore, blob_matches
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.integrity import Outcome, corrupt_reasons, status_after_check
from studbook.daemon.domain.model import ModelVersion, VersionStatus
from studbook.daemon.domain.names import parse_model_name, parse_version_name, version_name
from studbook.daemon.store.interface import StoreTransaction as Transaction

# Blobs hashed at once, each by a thread of the check's own pool (the daemon's reads keep theirs):
# hashing is CPU-bound, so about one per core.
HASH_WORKERS = 2
# Progress is reported at most this often.
PROGRESS_SECONDS = 0.25
# Versions changed per write, so a store-wide loss never holds the writer for long.
WRITE_BATCH = 500
# Versions listed in a report; the counts cover them all.
LISTED_SKIPPED = 100
LISTED_CORRUPT = 1000


@dataclass(frozen=True)
class VerifyProgress:
    checked_bytes: int
    total_bytes: int
    checked_blobs: int
    total_blobs: int


@dataclass
class VerifyReport:
    store: str
    versions_checked: int
    blobs_checked: int
    bytes_checked: int
    skipped_count: int
    skipped: list[tuple[str, int]]
    # sha256 -> True when gone from the store, False when its bytes changed.
    bad_blobs: dict[str, bool]
    corrupt: list[Outcome] = field(default_factory=list)
    corrupt_count: int = 0
    repaired: list[Outcome] = field(default_factory=list)


class _Meter:
    """Bytes and blobs hashed so far, counted by worker threads."""

    def __init__(self, blobs: Sequence[tuple[str, int]]) -> None:
        self.total_bytes = sum(size for _, size in blobs)
        self.total_blobs = len(blobs)
        self.bytes = 0
        self.blobs = 0
        self._lock = threading.Lock()

    def advance(self, count: int) -> None:
        with self._lock:
            self.bytes += count

    def finish(self, size: int, read: int) -> None:
        """One blob done: its registered size counts, whatever was read of it."""
        with self._lock:
            self.bytes += size - read
            self.blobs += 1

    def progress(self) -> VerifyProgress:
        with self._lock:
            return VerifyProgress(self.bytes, self.total_bytes, self.blobs, self.total_blobs)


class IntegrityUseCases:
    def __init__(self, core: Core, blobs: BlobStore) -> None:
        self.core = core
        self.blobs = blobs

    async def verify(self, name: str, caller: Caller) -> AsyncIterator[VerifyProgress | VerifyReport]:
        """Re-hashes the blobs of `name`'s kept versions (a version, a model, or "" for all);
        yields progress while hashing, then the report, once every status change is durable."""
        model, number = await self._scope(name)
        scope = await self.core.read(self.core.catalog.kept_scope, model, number, LISTED_SKIPPED)
        meter = _Meter(scope.blobs)
        yield meter.progress()
        bad: dict[str, bool] = {}
        async for progress in self._hash_all(scope.blobs, bad, meter):
            yield progress
        files = await self.core.read(self.core.catalog.files_with_blobs, sorted(bad))
        reasons = corrupt_reasons(bad, files, self.blobs.url)
        repair = [key for key in scope.corrupt if key not in reasons]
        outcomes = await self._record([*sorted(reasons), *repair], reasons, caller)
        corrupt = [o for o in outcomes if (o.model, o.number) in reasons]
        yield VerifyReport(
            store=self.blobs.url, versions_checked=scope.versions, blobs_checked=len(scope.blobs),
            bytes_checked=meter.total_bytes, skipped_count=scope.skipped_count, skipped=scope.skipped,
            bad_blobs=bad, corrupt=corrupt[:LISTED_CORRUPT], corrupt_count=len(corrupt),
            repaired=[o for o in outcomes if o.status == VersionStatus.READY],
        )  # fmt: skip

    async def _scope(self, name: str) -> tuple[str | None, int | None]:
        """(model, number) of what to check; None for all. NotFound for what does not exist."""
        if name in ("", "models/-"):
            return None, None
        if "/versions/" in name:
            ref = parse_version_name(name)
            version = await self.core.read_version(ref.model, await self.core.resolve_number(ref))
            return version.model, version.number
        model = parse_model_name(name)
        await self.core.require_model(model)
        return model, None

    async def _hash_all(
        self, blobs: list[tuple[str, int]], bad: dict[str, bool], meter: _Meter
    ) -> AsyncIterator[VerifyProgress]:
        pending = list(reversed(blobs))
        pool = ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="studbook-verify")
        workers = [asyncio.create_task(self._hash_worker(pending, bad, meter, pool))
                   for _ in range(min(HASH_WORKERS, len(pending)))]  # fmt: skip
        try:
            shown = meter.progress()
            while not all(w.done() for w in workers):
                await asyncio.wait(workers, timeout=PROGRESS_SECONDS)
                if (now := meter.progress()) != shown:
                    shown = now
                    yield now
            for worker in workers:
                worker.result()  # a store that cannot be read fails the check
        finally:
            for worker in workers:
                worker.cancel()
            pool.shutdown(wait=False, cancel_futures=True)

    async def _hash_worker(self, pending: list[tuple[str, int]], bad: dict[str, bool], meter: _Meter,
                           pool: ThreadPoolExecutor) -> None:  # fmt: skip
        loop = asyncio.get_running_loop()
        while pending:
            sha256, size = pending.pop()
            read = 0

            def advance(count: int) -> None:
                nonlocal read
                read += count
                meter.advance(count)

            try:
                if not await loop.run_in_executor(pool, blob_matches, self.blobs, sha256, advance):
                    bad[sha256] = False
            except BlobMissing:
                bad[sha256] = True
            meter.finish(size, read)

    async def _record(self, keys: list[tuple[str, int]], reasons: dict[tuple[str, int], str],
                      caller: Caller) -> list[Outcome]:  # fmt: skip
        outcomes: list[Outcome] = []
        for start in range(0, len(keys), WRITE_BATCH):
            batch = keys[start : start + WRITE_BATCH]
            outcomes += await self.core.write(functools.partial(self._mark, keys=batch, reasons=reasons, caller=caller))
        return outcomes

    def _mark(self, tx: Transaction, keys: list[tuple[str, int]], reasons: dict[tuple[str, int], str],
              caller: Caller) -> Effects:  # fmt: skip
        """Writer thread: each version's status after the check, as the transaction sees it now."""
        state = self.core.state
        effects = Effects(value=[])
        changed: list[ModelVersion] = []
        for version in tx.get_versions(keys):
            key = (version.model, version.number)
            reason = reasons.get(key)
            status = status_after_check(version.status, reason)
            if reason is not None:
                effects.value.append(Outcome(version.model, version.number, status, reason))
            if status == VersionStatus.ARCHIVED or (status, reason or "") == (version.status, version.status_reason):
                continue  # archived versions keep their status and reason; or nothing changes
            if reason is None:
                effects.value.append(Outcome(version.model, version.number, status))
            event = "version.status_changed" if status != version.status else "version.updated"
            version.status, version.status_reason = status, reason or ""
            version.update_time = self.core.clock()
            self.core.event(tx, effects, event, version_name(*key), version.model, caller, version)
            state.set_status(version.model, version.number, status)
            latest = state.latest.get(version.model)
            if latest is not None and latest.number == version.number:
                state.latest[version.model] = version
            changed.append(version)
        tx.set_version_statuses(changed)
        effects.versions.extend(changed)
        return effects
