"""Backup and restore of 100,000 versions while writers keep registering, next to `cp` of the same files.

Floors, measured in the same run on the same (page-cached) files: `cp` of the catalog file (what a
copy taken with writes stopped would hold them for, at the least), `cp -r` of the stored files
(and then an fsync of each, as a backup makes each durable), and `cp -r` of the finished backup
for the restore. Write latency is sampled by writers that
register throughout, before and during the backup. `python -m tests.bench.backup` runs it alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
from studbook.client.clients import Client

from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles
from tests.conftest import start_daemon, stop_daemon

MODELS = 100
VERSIONS_PER_MODEL = 1_000
METRICS_PER_VERSION = 10
# Distinct stored files, each shared by VERSIONS / BLOBS versions.
BLOBS = 10_000
BLOB_SIZE = 4096
WRITERS = 4
BASELINE_SECONDS = 3.0
NEW_VERSIONS = 100


def bench_backup(root: Path) -> dict[str, Any]:
    work = Path(root) / "backup-bench"
    data = work / "data"
    data.mkdir(parents=True)
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    figures["versions"] = seed_catalog(data / "catalog.duckdb", models=MODELS, versions_per_model=VERSIONS_PER_MODEL,
                                       metrics_per_version=METRICS_PER_VERSION)  # fmt: skip
    _add_stored_files(data, BLOBS, BLOB_SIZE)
    figures["seed_s"] = time.perf_counter() - started
    daemon = start_daemon(data, work / "s.sock")
    try:
        figures.update(_backups_under_writes(daemon.address, work))
    finally:
        stop_daemon(daemon)
    figures["catalog_bytes"] = (data / "catalog.duckdb").stat().st_size
    figures["cp_catalog_s"] = _seconds(["cp", str(data / "catalog.duckdb"), str(work / "catalog-copy.duckdb")])
    figures["cp_blobs_s"] = _seconds(["cp", "-r", str(data / "blobs"), str(work / "blobs-copy")])
    started = time.perf_counter()
    _fsync_tree(work / "blobs-copy")
    figures["fsync_blobs_s"] = time.perf_counter() - started
    figures["cp_backup_s"] = _seconds(["cp", "-r", str(work / "bk"), str(work / "bk-copy")])
    restore = [sys.executable, "-m", "studbook.daemon.restore", str(work / "bk"), "--data-dir", str(work / "restored")]
    figures["restore_s"] = _seconds(restore)
    shutil.rmtree(work, ignore_errors=True)
    return figures


def _add_stored_files(data: Path, count: int, size: int) -> None:
    """`count` distinct blobs in the data dir's store, and one file row per version pointing at one
    of them (version i at blob i mod count): every version kept."""
    digests = []
    for i in range(count):
        content = i.to_bytes(8, "big") + os.urandom(size - 8)
        sha256 = hashlib.sha256(content).hexdigest()
        folder = data / "blobs" / "sha256" / sha256[:2] / sha256[2:4]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / sha256).write_bytes(content)
        digests.append(sha256)
    conn = duckdb.connect(str(data / "catalog.duckdb"))
    conn.execute(
        """
        INSERT INTO files
        SELECT v.model, v.number, 'model.safetensors', ?, b.sha256, 'safetensors', '[]', '{}'
        FROM (SELECT model, number, (row_number() OVER (ORDER BY model, number) - 1) % ? AS k FROM versions) v
        JOIN (SELECT unnest(?) AS sha256, unnest(range(?)) AS k) b USING (k)
        """,
        [size, count, digests, count],
    )
    conn.execute("UPDATE versions SET kept = true")
    conn.execute("CHECKPOINT")
    conn.close()


def _backups_under_writes(address: str, work: Path) -> dict[str, Any]:
    """A full backup while writers register, then one after NEW_VERSIONS new kept versions."""
    samples: list[tuple[float, float]] = []  # (start, seconds) of each registration
    stop = threading.Event()

    def writer(index: int) -> None:
        with Client(address, timeout=60) as client:
            number = 0
            while not stop.is_set():
                began = time.perf_counter()
                client.register(f"writes-{index}", uri=f"s3://bench/{index}/{number}", environment=False, git=False)
                samples.append((began, time.perf_counter() - began))
                number += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(BASELINE_SECONDS)
        with Client(address, timeout=600) as client:
            backup_start = time.perf_counter()
            full = client.backup(work / "bk")
            backup_end = time.perf_counter()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    source = work / "new"
    with Client(address, timeout=600) as client:
        for _ in range(NEW_VERSIONS):
            source.mkdir(exist_ok=True)
            (source / "model.bin").write_bytes(os.urandom(BLOB_SIZE))
            client.register("added", path=source, environment=False, git=False)
        again_start = time.perf_counter()
        again = client.backup(work / "bk")
        again_s = time.perf_counter() - again_start
    # The snapshot is the backup's first step: the writes started before it ended overlap it.
    snapshot_end = backup_start + full.snapshot_seconds
    return {
        "backup_s": backup_end - backup_start, "snapshot_s": full.snapshot_seconds, "blob_count": full.blob_count,
        "copied_blobs": full.copied_blobs, "blob_bytes": full.blob_bytes,
        "again_s": again_s, "again_copied_blobs": again.copied_blobs,
        "writes_before": [s for t, s in samples if t < backup_start],
        "writes_snapshot": [s for t, s in samples if backup_start <= t < snapshot_end],
        "writes_copy": [s for t, s in samples if snapshot_end <= t < backup_end],
    }  # fmt: skip


def _fsync_tree(root: Path) -> None:
    """What makes a copy durable file by file, as a backup's copy is: an fsync of each."""
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _writes(label: str, samples: list[float]) -> str:
    if not samples:
        return f"  {label:<48} no registration finished"
    p50, p99 = percentiles(samples)
    return (f"  {label:<48} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {max(samples) * 1000:7.1f} ms"
            f"   ({len(samples)} writes)")  # fmt: skip


def print_backup(figures: dict[str, Any]) -> None:
    mib = figures["catalog_bytes"] / 2**20
    print(f"\nbackup and restore: {figures['versions']:,} versions, {figures['blob_count']:,} stored files of "
          f"{BLOB_SIZE // 1024} KiB, {WRITERS} writers registering throughout the first backup")  # fmt: skip
    print(f"  {f'cp catalog.duckdb, {mib:.0f} MiB (floor)':<48} {figures['cp_catalog_s']:7.2f} s")
    print(f"  {'cp -r blobs/ (floor)':<48} {figures['cp_blobs_s']:7.2f} s")
    durable = figures["cp_blobs_s"] + figures["fsync_blobs_s"]
    print(f"  {'cp -r blobs/, then fsync each file (floor)':<48} {durable:7.2f} s")
    print(f"  {'backup: catalog snapshot (writes go on)':<48} {figures['snapshot_s']:7.2f} s")
    floors = figures["cp_catalog_s"] + figures["cp_blobs_s"]
    print(f"  {'backup, whole (snapshot + files + manifest)':<48} {figures['backup_s']:7.2f} s   "
          f"({figures['backup_s'] / floors:.1f}x both cp, "
          f"{figures['backup_s'] / (figures['cp_catalog_s'] + durable):.1f}x with the fsyncs)")  # fmt: skip
    print(f"  {f'backup again after {NEW_VERSIONS} new versions':<48} {figures['again_s']:7.2f} s   "
          f"({figures['again_copied_blobs']} files copied)")  # fmt: skip
    print(f"  {'cp -r of the backup (floor)':<48} {figures['cp_backup_s']:7.2f} s")
    print(f"  {'restore (catalog, audit chain, every sha256)':<48} {figures['restore_s']:7.2f} s   "
          f"({figures['restore_s'] / figures['cp_backup_s']:.1f}x cp -r)")  # fmt: skip
    print(_writes("registration before the backup", figures["writes_before"]))
    print(_writes("registration during the catalog snapshot", figures["writes_snapshot"]))
    print(_writes("registration while stored files are copied", figures["writes_copy"]))


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    try:
        print_backup(bench_backup(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
