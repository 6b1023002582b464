"""Rebuilding a data dir from a backup, offline, and proving it whole before it takes its place.

Everything is built in a folder beside the data dir and renamed onto it only once the catalog
matches its manifest, its audit chain is intact and every stored file it refers to is there
with the right sha256. A refused restore leaves the data dir as it was (nothing is deleted
but the folder the restore made itself).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from studbook.daemon.blobs import BlobMissing, BlobStore, open_store
from studbook.daemon.blobs.folder import BackupFolder, open_folder
from studbook.daemon.blobs.local import _fsync_dir
from studbook.daemon.blobs.store import copy_blob, sha256_of_file
from studbook.daemon.domain.audit import GENESIS, ChainCheck
from studbook.daemon.domain.backup import MANIFEST_NAME, Manifest
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from studbook.daemon.store.catalog import SCHEMA_VERSION, Catalog, StoredBlob

CATALOG = "catalog.duckdb"
LOCK = "daemon.lock"
# Blobs copied at once: copying waits mostly on each blob's fsync, which overlap.
COPY_WORKERS = 8
CHAIN_BATCH = 10_000
NAMED = 3

Say = Callable[[str], None]


@dataclass
class RestoreReport:
    source: str
    data_dir: Path
    manifest: Manifest
    artifact_store: str
    # Audit records whose chain was recomputed.
    chain_checked: int
    copied_blobs: int
    copied_bytes: int
    # Blobs the artifact store held already (an external store that survived).
    present_blobs: int


def restore(source: str, data_dir: Path, *, artifact_store: str = "", say: Say = lambda _: None) -> RestoreReport:
    """Blocking: restores the backup at `source` (a folder or s3://bucket/prefix) into the new or
    empty `data_dir`; the stored files go to `artifact_store` (default `data_dir/blobs`)."""
    data_dir = data_dir.absolute()
    _check_target(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    build = data_dir.parent / f".{data_dir.name}.restoring-{uuid.uuid4().hex[:8]}"
    build.mkdir(mode=0o700)
    try:
        folder = open_folder(source, build / "staging")
        manifest = _manifest(folder, source)
        say(f"restoring revision {manifest.revision} of {folder.url} (made {manifest.created.isoformat()})")
        _fetch_catalog(folder, manifest, build / CATALOG)
        checked, blobs = _check_catalog(build / CATALOG, manifest, folder.url)
        store = open_store(artifact_store, build)
        copied, copied_bytes, present = _copy_blobs(folder, store, blobs, manifest, say)
        shutil.rmtree(build / "staging", ignore_errors=True)
        _take_place(build, data_dir)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    store_url = artifact_store or (data_dir / "blobs").as_uri()
    return RestoreReport(folder.url, data_dir, manifest, store_url, checked, copied, copied_bytes, present)


def _check_target(data_dir: Path) -> None:
    """Refuses a data dir a daemon serves, or that holds anything: a restore never overwrites."""
    if data_dir.exists() and not data_dir.is_dir():
        raise InvalidArgument(f"{data_dir} is a file; restore into a new or empty folder", reason="INVALID_DATA_DIR")
    holder = _lock_holder(data_dir / LOCK)
    if holder is not None:
        raise FailedPrecondition(f"a studbook daemon (pid {holder}) is serving {data_dir}; stop it, and restore "
                                 "into a new or empty folder", reason="DATA_DIR_IN_USE")  # fmt: skip
    entries = sorted(os.listdir(data_dir)) if data_dir.exists() else []
    if entries:
        what = "a catalog" if CATALOG in entries else ", ".join(entries[:NAMED])
        raise FailedPrecondition(f"{data_dir} is not empty (it holds {what}); restore into a new or empty folder, "
                                 "nothing was changed", reason="DATA_DIR_NOT_EMPTY")  # fmt: skip


def _lock_holder(lock: Path) -> str | None:
    """The pid written in a daemon's lock file while a daemon holds it, else None."""
    try:
        handle = open(lock)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _manifest(folder: BackupFolder, source: str) -> Manifest:
    if not source.startswith("s3://") and not Path(source).is_dir():
        raise NotFound(f"there is no folder {source}; name a backup folder or s3://bucket/prefix",
                       reason="BACKUP_NOT_FOUND")  # fmt: skip
    text = folder.read_bytes(MANIFEST_NAME)
    if text is None:
        raise FailedPrecondition(f"{source} holds no {MANIFEST_NAME}: not a finished backup (one that was "
                                 "interrupted, or not a backup at all); nothing was restored",
                                 reason="BACKUP_INCOMPLETE")  # fmt: skip
    manifest = Manifest.parse(text, source)
    if manifest.schema_version > SCHEMA_VERSION:
        raise FailedPrecondition(f"the backup's catalog has schema version {manifest.schema_version}, newer than "
                                 f"this studbook ({SCHEMA_VERSION}); restore it with a newer studbook",
                                 reason="SCHEMA_TOO_NEW")  # fmt: skip
    return manifest


def _fetch_catalog(folder: BackupFolder, manifest: Manifest, path: Path) -> None:
    if not folder.fetch_file(manifest.catalog, path):
        raise FailedPrecondition(f"the catalog {manifest.catalog} named by the manifest is not in {folder.url}",
                                 reason="BACKUP_CATALOG_MISSING")  # fmt: skip
    digest, size = sha256_of_file(path)
    if (digest, size) != (manifest.catalog_sha256, manifest.catalog_size):
        raise FailedPrecondition(f"the catalog {manifest.catalog} in {folder.url} is not the one the manifest "
                                 f"describes (sha256 {digest[:12]}, {size} bytes); it was altered or cut short",
                                 reason="BACKUP_CATALOG_ALTERED")  # fmt: skip


def _check_catalog(path: Path, manifest: Manifest, where: str) -> tuple[int, list[StoredBlob]]:
    """The audit chain recomputed and matched with the manifest; the blobs the catalog refers to."""
    catalog = Catalog(path)  # brings an older schema up to date, as the daemon would
    try:
        verdict = ChainCheck().run(catalog.chained_events_after, CHAIN_BATCH)
        blobs = catalog.stored_blobs()
    finally:
        catalog.close()
    if not verdict.intact:
        raise FailedPrecondition(f"the audit chain of the backup in {where} is broken: {verdict.problem}",
                                 reason="BACKUP_AUDIT_BROKEN", revision=verdict.broken_revision or 0)  # fmt: skip
    if verdict.checked != manifest.revision or verdict.head != (manifest.chain_head or GENESIS):
        raise FailedPrecondition(f"the catalog in {where} ends at revision {verdict.checked} (head "
                                 f"{verdict.head[:12]}), not at the manifest's {manifest.revision} "
                                 f"({manifest.chain_head[:12]})", reason="BACKUP_CATALOG_MISMATCH")  # fmt: skip
    return verdict.checked, blobs


def _copy_blobs(folder: BackupFolder, store: BlobStore, blobs: list[StoredBlob], manifest: Manifest,
                say: Say) -> tuple[int, int, int]:  # fmt: skip
    """Every blob the catalog refers to, into `store`, each hashed on the way; (copied, bytes, present)."""
    lost = {b.sha256 for b in manifest.lost_blobs}
    unsound = [b.sha256 for b in blobs if b.sha256 in lost and not b.known_bad]
    if unsound:
        raise FailedPrecondition(f"the manifest of {folder.url} lists as lost blobs that versions not marked "
                                 f"corrupt refer to ({', '.join(s[:12] for s in unsound[:NAMED])})",
                                 reason="BACKUP_INVALID")  # fmt: skip
    present = {sha256 for sha256, _ in store.list()}
    wanted = [b for b in blobs if b.sha256 not in present and b.sha256 not in lost]
    say(f"copying {len(wanted)} stored file(s), {sum(b.size for b in wanted):,} bytes, each checked by its sha256")
    altered: list[str] = []
    missing: list[str] = []
    lock = threading.Lock()

    def copy(blob: StoredBlob) -> None:
        try:
            intact = copy_blob(folder.blobs, store, blob.sha256)
        except BlobMissing:
            with lock:
                missing.append(blob.sha256)
            return
        if not intact:
            with lock:
                altered.append(blob.sha256)

    if wanted:
        with ThreadPoolExecutor(COPY_WORKERS) as pool:
            list(pool.map(copy, wanted))
    if altered:
        raise FailedPrecondition(f"{len(altered)} stored file(s) in {folder.url} no longer match their sha256 "
                                 f"({', '.join(sorted(s[:12] for s in altered)[:NAMED])}); the backup was altered, "
                                 "nothing was restored", reason="BACKUP_BLOB_ALTERED")  # fmt: skip
    if missing:
        raise FailedPrecondition(f"{len(missing)} stored file(s) the catalog refers to are not in {folder.url} "
                                 f"({', '.join(sorted(s[:12] for s in missing)[:NAMED])}); nothing was restored",
                                 reason="BACKUP_BLOB_MISSING")  # fmt: skip
    return len(wanted), sum(b.size for b in wanted), len([b for b in blobs if b.sha256 in present])


def _take_place(build: Path, data_dir: Path) -> None:
    """The restored folder becomes the data dir in one rename; a daemon that started meanwhile wins."""
    try:
        os.rename(build, data_dir)  # onto a missing or empty folder only
    except OSError as exc:
        raise FailedPrecondition(f"{data_dir} was filled while restoring ({exc.strerror}); nothing was changed",
                                 reason="DATA_DIR_NOT_EMPTY") from None  # fmt: skip
    _fsync_dir(data_dir.parent)
