"""Keeping bytes: ingest of a folder next to `cp` (and `cp` plus hashlib), pull next to reading the files."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from studbook.client.clients import Client

from tests.bench.hashing import _affordable_bytes, _hashlib_digest, _write_files
from tests.conftest import start_daemon, stop_daemon

GiB = 1 << 30


def bench_ingest(root: Path, *, total_bytes: int = GiB, file_count: int = 4, rounds: int = 2) -> dict[str, float]:
    """MB/s (10**6 bytes) of each way over the same cached bytes; best of `rounds` each.

    Floors: `cp -r` of the folder; `cp -r` then hashlib over the copy (what ingest does in
    two passes); reading the files once; hashlib over them (what any verified copy must do). studbook: RegisterModelVersion from the folder over
    the unix socket (hash, copy, flush, inspect, commit); the same folder uploaded over the
    unix socket (hashed by the client, streamed, checked, kept); then `pull` of a version
    through Client.download (stream, verify, fsync, rename).
    """
    work = root / "ingest-bench"
    size = _affordable_bytes(root, total_bytes) // file_count
    source = work / "source"
    paths = _write_files(source, file_count, size)
    total = size * file_count
    for path in paths:
        _hashlib_digest(path)  # warm the page cache
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, float("inf")), seconds)

    daemon = start_daemon(work / "data", work / "s.sock")
    try:
        with Client(daemon.address, timeout=600) as client:
            for round_ in range(rounds):
                copy = work / f"copy-{round_}"
                keep("cp", _seconds(lambda: subprocess.run(["cp", "-r", str(source), str(copy)], check=True)))
                keep("cp_then_hashlib", best["cp"] + _seconds(lambda: [_hashlib_digest(p) for p in copy.iterdir()]))
                keep("read", _seconds(lambda: [_read(p) for p in paths]))
                keep("hashlib", _seconds(lambda: [_hashlib_digest(p) for p in paths]))
                shutil.rmtree(copy)
                # A fresh model and fresh bytes each round, so nothing is deduplicated away.
                with open(paths[0], "r+b") as first:
                    first.write(os.urandom(32))
                keep("ingest", _seconds(lambda: client.register(f"ingest-{round_}", path=source, environment=False,
                                                                git=False)))  # fmt: skip
                with open(paths[0], "r+b") as first:
                    first.write(os.urandom(32))
                keep("upload", _seconds(lambda: client.register(f"upload-{round_}", path=source, upload=True,
                                                                environment=False, git=False)))  # fmt: skip
                pulled = work / f"pulled-{round_}"
                keep("pull", _seconds(lambda: client.download(f"ingest-{round_}", pulled)))
                shutil.rmtree(pulled)
    finally:
        stop_daemon(daemon)
        shutil.rmtree(work, ignore_errors=True)
    figures = {f"{name}_mb_s": round(total / seconds / 1e6, 1) for name, seconds in best.items()}
    figures["bytes"] = total
    return figures


def print_ingest(figures: dict[str, float]) -> None:
    print(f"\nkeeping bytes: {figures['bytes'] / 2**20:.0f} MiB in 4 files, page cache warm")
    cp = figures["cp_mb_s"]
    for label, key in (("cp -r (floor)", "cp_mb_s"), ("cp -r, then hashlib over the copy", "cp_then_hashlib_mb_s"),
                       ("register (hash + copy + flush + inspect)", "ingest_mb_s")):  # fmt: skip
        print(f"  {label:<44} {figures[key]:9.0f} MB/s   ({figures[key] / cp:.2f}x cp)")
    read, hashed = figures["read_mb_s"], figures["hashlib_mb_s"]
    print(f"  {'reading the files (floor)':<44} {read:9.0f} MB/s")
    print(f"  {'hashlib over the files (floor of a check)':<44} {hashed:9.0f} MB/s")
    for label, key in (("upload over the unix socket (hash, send, keep)", "upload_mb_s"),
                       ("pull (copy or stream, verify, fsync)", "pull_mb_s")):  # fmt: skip
        print(
            f"  {label:<44} {figures[key]:9.0f} MB/s   ({figures[key] / read:.2f}x reading, "
            f"{figures[key] / hashed:.2f}x hashlib, {figures[key] / cp:.2f}x cp)"
        )


def _seconds(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def _read(path: Path) -> None:
    with open(path, "rb", buffering=0) as handle:
        while handle.read(1 << 20):
            pass


if __name__ == "__main__":
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    try:
        print_ingest(bench_ingest(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
