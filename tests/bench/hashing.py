"""Hashing throughput of scan_artifact next to plain hashlib on the same cached bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from studbook.daemon.artifacts import CHUNK_SIZE, scan_artifact

MiB = 1 << 20
DEFAULT_TOTAL_BYTES = 512 * MiB
# Fewer bytes than this measure call overhead rather than hashing.
MIN_TOTAL_BYTES = 16 * MiB


def bench_hashing(
    tmpdir: Path,
    *,
    total_bytes: int = DEFAULT_TOTAL_BYTES,
    file_count: int = 4,
    rounds: int = 3,
) -> dict[str, float | int]:
    """Time scan_artifact against a bare hashlib.sha256 loop over the same files.

    Both read from the page cache (the files are read once before timing) with a 1 MiB
    buffer; each side's best of `rounds` counts, alternating so neither gets a warmer
    machine. Returns MB/s (10**6 bytes) for both and their ratio, scan over hashlib.
    """
    rounds = max(1, rounds)
    folder = Path(tmpdir) / "hashing-bench"
    size = _affordable_bytes(Path(tmpdir), total_bytes) // file_count
    paths = _write_files(folder, file_count, size)
    try:
        expected = {path.name: _hashlib_digest(path) for path in paths}  # also the warm-up
        best_plain = best_scan = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for path in paths:
                _hashlib_digest(path)
            best_plain = min(best_plain, time.perf_counter() - started)

            started = time.perf_counter()
            scanned = scan_artifact(folder)
            best_scan = min(best_scan, time.perf_counter() - started)
        if {file.path: file.sha256 for file in scanned} != expected:
            raise RuntimeError("scan_artifact and hashlib disagree on the same bytes")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total = size * file_count
    plain_mb_s = total / best_plain / 1e6
    scan_mb_s = total / best_scan / 1e6
    return {
        "bytes": total,
        "files": file_count,
        "hashlib_mb_s": round(plain_mb_s, 1),
        "scan_artifact_mb_s": round(scan_mb_s, 1),
        "ratio": round(scan_mb_s / plain_mb_s, 3),
    }


def _affordable_bytes(tmpdir: Path, wanted: int) -> int:
    """Stay well inside free disk and memory, so the page cache holds every byte."""
    free_disk = shutil.disk_usage(tmpdir).free // 4
    budget = min(wanted, free_disk, _available_memory() // 4)
    return max(budget, MIN_TOTAL_BYTES)


def _available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return DEFAULT_TOTAL_BYTES * 4  # unknown: assume the default fits


def _write_files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MiB)
    paths: list[Path] = []
    for index in range(count):
        path = folder / f"shard-{index:02d}.bin"
        with open(path, "wb") as out:
            remaining = size
            while remaining > 0:
                chunk = block[: min(MiB, remaining)]
                out.write(chunk)
                remaining -= len(chunk)
        paths.append(path)
    return paths


def _hashlib_digest(path: Path) -> str:
    """The floor: the plainest correct sha256 of a file with a reusable 1 MiB buffer."""
    hasher = hashlib.sha256()
    buffer = memoryview(bytearray(CHUNK_SIZE))
    with open(path, "rb", buffering=0) as source:
        while count := source.readinto(buffer):
            hasher.update(buffer[:count])
    return hasher.hexdigest()
