"""Online backups: the catalog as of one revision and every blob it refers to, while the daemon
serves and writes.

The order makes a backup safe to interrupt anywhere: the catalog is copied inside one read
transaction (no write waits for it), the blobs it refers to are copied and hashed on the way
(those the destination holds already are not copied again), then the catalog file goes up
under a name of its own, and the manifest is written last. A destination without a manifest
is no backup; one whose manifest is in place is a complete backup, the previous one until the
new manifest replaces it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from studbook.daemon.app.core import Core
from studbook.daemon.blobs import BlobMissing, BlobStore
from studbook.daemon.blobs.folder import BackupFolder, open_folder
from studbook.daemon.blobs.store import copy_blob, sha256_of_file
from studbook.daemon.domain.access import TCP, Caller
from studbook.daemon.domain.backup import MANIFEST_NAME, LostBlob, Manifest, catalog_name, is_backup_entry
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied, RegistryError
from studbook.daemon.store.records import CatalogSnapshot, StoredBlob

# Below the data dir: where the catalog copy is made before it goes to the destination.
WORK_FOLDER = "backup-work"
# Blobs copied at once, each by a thread of the backup's own pool (the daemon's reads keep theirs).
# Copying waits on the disk or the network, mostly on the fsync that makes each blob durable:
# overlapping them is what speeds up a backup of many small files.
COPY_WORKERS = 8
PROGRESS_SECONDS = 0.25
# Blobs a refusal names; the count covers them all.
NAMED_BLOBS = 3


@dataclass(frozen=True)
class BackupProgress:
    # "catalog" while the catalog is copied, "blobs" while blobs are, "finishing" for the rest.
    phase: str
    done_bytes: int = 0
    total_bytes: int = 0
    done_blobs: int = 0
    total_blobs: int = 0


@dataclass
class BackupReport:
    destination: str
    manifest: Manifest
    # Blobs (and their bytes) copied by this backup; the others were in the destination already.
    copied_blobs: int
    copied_bytes: int
    # How long the catalog's read transaction lasted; writes went on meanwhile.
    snapshot_seconds: float
    seconds: float


@dataclass
class _Copying:
    """Blobs copied so far, counted by worker threads."""

    total_bytes: int
    total_blobs: int
    bytes: int = 0
    blobs: int = 0
    # sha256 -> True when gone from the store, False when its bytes changed.
    bad: dict[str, bool] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def advance(self, count: int) -> None:
        with self.lock:
            self.bytes += count

    def progress(self) -> BackupProgress:
        with self.lock:
            return BackupProgress("blobs", self.bytes, self.total_bytes, self.blobs, self.total_blobs)


class BackupUseCases:
    def __init__(self, core: Core, blobs: BlobStore, data_dir: Path, allowed_roots: Sequence[Path] | None) -> None:
        self.core = core
        self.blobs = blobs
        self.data_dir = data_dir
        self.allowed_roots = list(allowed_roots or ())
        self._running = False
        # Set by the registry: whether a garbage collection runs (it may delete what a backup copies).
        self.collection_running: Callable[[], bool] = lambda: False

    @property
    def running(self) -> bool:
        """Whether a backup is being written now (a blob collector must not remove what it copies)."""
        return self._running

    async def backup(self, destination: str, caller: Caller) -> AsyncIterator[BackupProgress | BackupReport]:
        """Writes a backup to `destination` (an absolute folder, or s3://bucket/prefix from the unix
        socket); yields progress, then the report once the manifest is durable."""
        location = await asyncio.to_thread(self._checked_destination, destination, caller)
        if self._running:
            raise FailedPrecondition("a backup is being written already; wait for it to finish",
                                     reason="BACKUP_RUNNING")  # fmt: skip
        if self.collection_running():
            raise FailedPrecondition("a garbage collection is running; back up once it is done",
                                     reason="GC_IN_PROGRESS")  # fmt: skip
        self._running = True
        work = self.data_dir / WORK_FOLDER / uuid.uuid4().hex[:12]
        try:
            started = time.monotonic()
            folder = await asyncio.to_thread(self._open, location, work)
            yield BackupProgress("catalog")
            snapshot_started = time.monotonic()
            snapshot = await self.core.read(self.core.catalog.snapshot_into, work / "catalog.duckdb")
            snapshot_seconds = time.monotonic() - snapshot_started
            present = await asyncio.to_thread(lambda: {sha256 for sha256, _ in folder.blobs.list()})
            wanted = [b for b in snapshot.blobs if b.sha256 not in present]
            copying = _Copying(sum(b.size for b in wanted), len(wanted))
            async for progress in self._copy_all(wanted, folder.blobs, copying):
                yield progress
            lost = _lost(snapshot.blobs, copying.bad, self.blobs.url)
            yield BackupProgress("finishing", copying.bytes, copying.total_bytes, copying.blobs, copying.total_blobs)
            manifest = await asyncio.to_thread(self._finish, folder, work, snapshot, lost)
            report = BackupReport(folder.url, manifest, copying.blobs - len(copying.bad), copying.bytes,
                                  snapshot_seconds, time.monotonic() - started)  # fmt: skip
        finally:
            self._running = False
            await asyncio.to_thread(shutil.rmtree, work, True)
        # Sent once the backup is over: a client returns at the report, and a backup it starts
        # right after must not be told that this one still runs.
        yield report

    # -- the destination --------------------------------------------------------------------

    def _checked_destination(self, text: str, caller: Caller) -> str:
        """Blocking: where the backup goes, if this caller may send it there.

        Over TCP a remote caller must not make the daemon write wherever it likes: only a
        folder under allowed_roots (as for source paths; also on the socket when they are set),
        never S3 with the daemon's credentials. Never inside the data dir: a backup there
        survives nothing the data dir does not.
        """
        if not text:
            raise InvalidArgument("name where to write the backup: an absolute folder, or s3://bucket/prefix",
                                  reason="BACKUP_DESTINATION_REQUIRED", field="destination")  # fmt: skip
        if text.startswith("s3://"):
            if caller.transport == TCP:
                raise PermissionDenied("over TCP a backup goes only to a folder under the daemon's allowed_roots; "
                                       "back up to S3 on the daemon's host, over its unix socket",
                                       reason="BACKUP_DESTINATION_NOT_ALLOWED", field="destination")  # fmt: skip
            return text
        path = Path(text)
        if "\0" in text or not path.is_absolute() or ".." in path.parts:
            raise InvalidArgument(f"the backup destination {text[:200]!r} must be an absolute folder path "
                                  "without '..', or s3://bucket/prefix",
                                  reason="INVALID_BACKUP_DESTINATION", field="destination")  # fmt: skip
        if (caller.transport == TCP or self.allowed_roots) and not self._under_allowed_roots(text):
            raise PermissionDenied("the daemon writes backups only to folders under its allowed_roots "
                                   "(--allow-root DIR)", reason="BACKUP_DESTINATION_NOT_ALLOWED",
                                   field="destination")  # fmt: skip
        if _inside(os.path.realpath(text), os.path.realpath(self.data_dir)):
            raise InvalidArgument(f"the backup destination {text[:200]!r} lies inside the data dir {self.data_dir}; "
                                  "choose a folder outside it, ideally on another disk",
                                  reason="BACKUP_DESTINATION_INSIDE_DATA_DIR", field="destination")  # fmt: skip
        return os.path.normpath(text)

    def _under_allowed_roots(self, text: str) -> bool:
        """As spelled and with links resolved: a link inside a root must not lead out of it."""
        spelled = os.path.normpath(text)
        real = os.path.realpath(text)
        return any(_inside(spelled, os.path.normpath(os.path.abspath(root))) for root in self.allowed_roots) and any(
            _inside(real, os.path.realpath(root)) for root in self.allowed_roots
        )

    def _open(self, location: str, work: Path) -> BackupFolder:
        """Blocking: the destination, refused when it holds anything but a studbook backup."""
        shutil.rmtree(work.parent, ignore_errors=True)  # left by a backup a kill -9 stopped
        (work / "staging").mkdir(mode=0o700, parents=True)
        folder = open_folder(location, work / "staging")
        try:
            entries = folder.entries()
        except NotADirectoryError:
            raise InvalidArgument(f"the backup destination {location} is a file, not a folder",
                                  reason="INVALID_BACKUP_DESTINATION", field="destination") from None  # fmt: skip
        foreign = [name for name in entries or () if not is_backup_entry(name)]
        if foreign:
            raise FailedPrecondition(
                f"{location} holds files that are no part of a studbook backup ({', '.join(foreign[:3])}"
                f"{' ...' if len(foreign) > 3 else ''}); back up into an empty folder or an earlier backup",
                reason="BACKUP_DESTINATION_NOT_EMPTY", destination=location)  # fmt: skip
        folder.check()
        return folder

    # -- blobs ------------------------------------------------------------------------------

    async def _copy_all(self, wanted: list[StoredBlob], target: BlobStore,
                        copying: _Copying) -> AsyncIterator[BackupProgress]:  # fmt: skip
        pending = list(reversed(wanted))
        yield copying.progress()
        pool = ThreadPoolExecutor(COPY_WORKERS, thread_name_prefix="studbook-backup")
        workers = [asyncio.create_task(self._copy_worker(pending, target, copying, pool))
                   for _ in range(min(COPY_WORKERS, len(pending)))]  # fmt: skip
        try:
            shown = copying.progress()
            while not all(w.done() for w in workers):
                await asyncio.wait(workers, timeout=PROGRESS_SECONDS)
                if (now := copying.progress()) != shown:
                    shown = now
                    yield now
            for worker in workers:
                worker.result()
        finally:
            for worker in workers:
                worker.cancel()
            pool.shutdown(wait=False, cancel_futures=True)

    async def _copy_worker(self, pending: list[StoredBlob], target: BlobStore, copying: _Copying,
                           pool: ThreadPoolExecutor) -> None:  # fmt: skip
        loop = asyncio.get_running_loop()
        while pending:
            blob = pending.pop()
            try:
                if not await loop.run_in_executor(pool, copy_blob, self.blobs, target, blob.sha256, copying.advance):
                    copying.bad[blob.sha256] = False
            except BlobMissing:
                copying.bad[blob.sha256] = True
            with copying.lock:
                copying.blobs += 1

    # -- the end ----------------------------------------------------------------------------

    def _finish(self, folder: BackupFolder, work: Path, snapshot: CatalogSnapshot, lost: list[LostBlob]) -> Manifest:
        """Blocking: the catalog file, then the manifest, then the catalog the old manifest named."""
        copy = work / "catalog.duckdb"
        name = catalog_name(snapshot.revision, uuid.uuid4().hex[:8])
        digest, size = sha256_of_file(copy)
        folder.put_file(name, copy)
        previous = _previous_catalog(folder)
        lost_shas = {b.sha256 for b in lost}
        kept = [b for b in snapshot.blobs if b.sha256 not in lost_shas]
        manifest = Manifest(
            created=self.core.clock(), schema_version=snapshot.schema_version, revision=snapshot.revision,
            chain_head=snapshot.chain_head, versions=snapshot.versions, catalog=name, catalog_size=size,
            catalog_sha256=digest, blob_count=len(kept), blob_bytes=sum(b.size for b in kept),
            source_store=self.blobs.url, lost_blobs=tuple(lost),
        )  # fmt: skip
        folder.put_bytes(MANIFEST_NAME, manifest.to_json().encode())
        if previous is not None and previous != name:
            folder.delete_file(previous)
        return manifest


def _lost(blobs: list[StoredBlob], bad: dict[str, bool], store: str) -> list[LostBlob]:
    """The bad blobs a backup may do without: those every referring version is marked corrupt for.

    Any other bad blob refuses the backup: its versions look sound, and a backup that silently
    lacks their bytes would be found out only when restored.
    """
    known = {b.sha256: b for b in blobs if b.known_bad}
    surprises = sorted(sha256 for sha256 in bad if sha256 not in known)
    if surprises:
        named = ", ".join(s[:12] for s in surprises[:NAMED_BLOBS])
        raise FailedPrecondition(
            f"{len(surprises)} stored file(s) changed or are gone from the artifact store {store} ({named}); "
            "run `studbook verify --all`, which marks the versions that refer to them corrupt, then back up "
            "again: their bytes are then recorded as lost", reason="BACKUP_SOURCE_CORRUPT",
            blobs=",".join(surprises[:NAMED_BLOBS]), count=len(surprises))  # fmt: skip
    return [LostBlob(sha256, known[sha256].size) for sha256 in sorted(bad)]


def _previous_catalog(folder: BackupFolder) -> str | None:
    text = folder.read_bytes(MANIFEST_NAME)
    if text is None:
        return None
    try:
        return Manifest.parse(text, folder.url).catalog
    except RegistryError:
        return None  # not one we can read: leave what it names alone


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
