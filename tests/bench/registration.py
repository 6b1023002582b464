"""Registration throughput: single calls and batches from 16 concurrent clients, beside the
raw DuckDB single-row commit (the floor one durable write costs on this disk).

`python -m tests.bench.registration` runs it alone on a freshly seeded catalog.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import grpc
from studbook.v1 import registry_pb2, registry_pb2_grpc, resources_pb2

from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles, timed
from tests.conftest import Daemon, start_daemon, stop_daemon

WRITERS = 16
REGISTRATIONS = 4_000
BATCH = 50


def _version(i: int) -> resources_pb2.ModelVersion:
    return resources_pb2.ModelVersion(storage_uri=f"s3://b/{i}", params={"lr": "0.1"},
                                      metrics=[resources_pb2.Metric(key="auc", value=0.9)])  # fmt: skip


async def _drive(address: str, calls: int, call: object) -> tuple[float, list[float]]:
    """Runs `calls` numbered calls from WRITERS concurrent clients; (elapsed s, latencies)."""
    async with grpc.aio.insecure_channel(address) as channel:
        versions = registry_pb2_grpc.VersionServiceStub(channel)
        queue = list(range(calls))
        latencies: list[float] = []

        async def writer() -> None:
            while queue:
                i = queue.pop()
                started = time.perf_counter()
                await call(versions, i)  # type: ignore[operator]
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        return time.perf_counter() - started, latencies


async def _single(versions: registry_pb2_grpc.VersionServiceStub, i: int) -> None:
    await versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/reg-{i % 8}", request_id=f"bench-{i}", version=_version(i)))  # fmt: skip


async def _batch(versions: registry_pb2_grpc.VersionServiceStub, i: int) -> None:
    items = [
        registry_pb2.RegisterModelVersionRequest(
            parent=f"models/batch-{(i * BATCH + j) % 8}", request_id=f"bench-batch-{i}-{j}", version=_version(j)
        )
        for j in range(BATCH)
    ]
    reply = await versions.RegisterModelVersions(registry_pb2.RegisterModelVersionsRequest(requests=items))
    failed = [r.error.message for r in reply.results if r.HasField("error")]
    if failed:
        raise RuntimeError(f"batch item refused: {failed[0]}")


def single_commit_floor(folder: Path) -> list[float]:
    conn = duckdb.connect(str(folder / "commit.duckdb"))
    conn.execute("CREATE TABLE t (a BIGINT, b VARCHAR)")
    samples = timed(lambda: conn.execute("INSERT INTO t VALUES (1, 'x')"), 300)
    conn.close()
    return samples


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used: on a shared machine a steadier figure than
    throughput, which moves with whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_registration(daemon: Daemon, folder: Path, *, batches: bool = True) -> dict[str, float]:
    """Throughput (versions/s), p50/p99 latency (ms) and the daemon's CPU per version (ms) of
    single and batched registration."""
    figures: dict[str, float] = {}
    pid = daemon.process.pid
    cpu = cpu_seconds(pid)
    elapsed, latencies = asyncio.run(_drive(daemon.address, REGISTRATIONS, _single))
    figures["single_cpu_ms"] = (cpu_seconds(pid) - cpu) / REGISTRATIONS * 1000
    figures["single_per_s"] = REGISTRATIONS / elapsed
    figures["single_p50_ms"], figures["single_p99_ms"] = percentiles(latencies)
    if batches:
        calls = REGISTRATIONS // BATCH
        cpu = cpu_seconds(pid)
        elapsed, latencies = asyncio.run(_drive(daemon.address, calls, _batch))
        figures["batch_cpu_ms"] = (cpu_seconds(pid) - cpu) / (calls * BATCH) * 1000
        figures["batch_per_s"] = calls * BATCH / elapsed
        figures["batch_p50_ms"], figures["batch_p99_ms"] = percentiles(latencies)
    figures["floor_p50_ms"], figures["floor_p99_ms"] = percentiles(single_commit_floor(folder))
    return figures


def print_registration(figures: dict[str, float]) -> None:
    print(f"registration, metadata only, {WRITERS} concurrent clients")
    print(f"  {'RegisterModelVersion throughput':<44} {figures['single_per_s']:9.0f} versions/s   "
          f"(p50 {figures['single_p50_ms']:.2f} ms, p99 {figures['single_p99_ms']:.2f} ms a call; "
          f"daemon CPU {figures['single_cpu_ms']:.2f} ms a version)")  # fmt: skip
    if "batch_per_s" in figures:
        print(f"  {f'RegisterModelVersions, batches of {BATCH}':<44} {figures['batch_per_s']:9.0f} versions/s   "
              f"(p50 {figures['batch_p50_ms']:.2f} ms, p99 {figures['batch_p99_ms']:.2f} ms a batch; "
              f"daemon CPU {figures['batch_cpu_ms']:.2f} ms a version)")  # fmt: skip
    print(f"  {'raw DuckDB single-row commit (write floor)':<44} p50 {figures['floor_p50_ms']:7.3f} ms   "
          f"p99 {figures['floor_p99_ms']:7.3f} ms   ({1000 / figures['floor_p50_ms']:.0f} commits/s)")  # fmt: skip


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="sb-reg-"))
    try:
        data = root / "data"
        data.mkdir()
        count = seed_catalog(data / "catalog.duckdb", models=100, versions_per_model=1_000, metrics_per_version=10)
        daemon = start_daemon(data, root / "s.sock")
        print(f"{count:,} versions seeded; daemon pid {daemon.process.pid}", flush=True)
        try:
            print_registration(bench_registration(daemon, root, batches="--single" not in sys.argv))
        finally:
            stop_daemon(daemon)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
