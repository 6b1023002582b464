"""Follower lag: how long after daemon A acknowledges a write daemon B serves it, both daemons on
one PostgreSQL catalog (a throwaway test server on loopback).

Two figures, p50 and p99 over ROUNDS sequential registrations through A: the time until B's
GetModelVersion finds the version (polled without pause), and the time until B's Watch stream
delivers its event. Measured only: nothing here asserts on time.

`python -m tests.bench.replicas` runs it alone.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import grpc
from studbook.v1 import events_pb2, events_pb2_grpc, registry_pb2, registry_pb2_grpc, resources_pb2

from tests.bench.timing import percentiles, until_visible
from tests.conftest import start_daemon, stop_daemon
from tests.support.postgres import start_postgres, stop_postgres

ROUNDS = 200
VISIBLE_TIMEOUT = 30.0


def bench_replicas(url: str, root: Path) -> dict[str, float]:
    a = start_daemon(root / "a-data", root / "a.sock", "--catalog", url)
    b = start_daemon(root / "b-data", root / "b.sock", "--catalog", url)
    try:
        with a.channel() as to_a, b.channel() as to_b:
            a_versions = registry_pb2_grpc.VersionServiceStub(to_a)
            b_versions = registry_pb2_grpc.VersionServiceStub(to_b)
            registry_pb2_grpc.ModelServiceStub(to_a).CreateModel(registry_pb2.CreateModelRequest(model_id="lag"))
            arrivals: dict[str, float] = {}
            stream = events_pb2_grpc.EventServiceStub(to_b).Watch(
                events_pb2.WatchRequest(start_revision=-1, filter='type = "version.created"',
                                        bookmark_interval_seconds=0))  # fmt: skip

            def watch() -> None:
                try:
                    for reply in stream:
                        if reply.WhichOneof("kind") == "event":
                            arrivals[reply.event.subject] = time.perf_counter()
                except grpc.RpcError:
                    pass  # cancelled at the end

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            # The first registration also waits for B to know the model and the stream to be open.
            first = a_versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
                parent="models/lag", version=resources_pb2.ModelVersion(storage_uri="s3://b/0")))  # fmt: skip
            until_visible(b_versions, first.version.name, VISIBLE_TIMEOUT, pause=0.01)
            read_lag: list[float] = []
            acknowledged: dict[str, float] = {}
            for i in range(1, ROUNDS + 1):
                reply = a_versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
                    parent="models/lag", version=resources_pb2.ModelVersion(storage_uri=f"s3://b/{i}")))  # fmt: skip
                done = time.perf_counter()
                acknowledged[reply.version.name] = done
                read_lag.append(until_visible(b_versions, reply.version.name, VISIBLE_TIMEOUT) - done)
            deadline = time.perf_counter() + VISIBLE_TIMEOUT
            while not set(acknowledged) <= set(arrivals) and time.perf_counter() < deadline:
                time.sleep(0.05)
            stream.cancel()
            watch_lag = [arrivals[name] - done for name, done in acknowledged.items() if name in arrivals]
    finally:
        stop_daemon(a)
        stop_daemon(b)
    read_p50, read_p99 = percentiles(read_lag)
    watch_p50, watch_p99 = percentiles(watch_lag) if watch_lag else (float("nan"), float("nan"))
    return {"read_p50_ms": read_p50, "read_p99_ms": read_p99, "watch_p50_ms": watch_p50,
            "watch_p99_ms": watch_p99, "watched": len(watch_lag)}  # fmt: skip


def print_replicas(figures: dict[str, float]) -> None:
    print(f"follower lag, two daemons on one PostgreSQL catalog, {ROUNDS} writes through A")
    print(f"  {'B GetModelVersion finds it':<36} p50 {figures['read_p50_ms']:7.2f} ms   "
          f"p99 {figures['read_p99_ms']:7.2f} ms")  # fmt: skip
    print(f"  {'B Watch delivers its event':<36} p50 {figures['watch_p50_ms']:7.2f} ms   "
          f"p99 {figures['watch_p99_ms']:7.2f} ms   ({figures['watched']:.0f} events)")  # fmt: skip


def main() -> int:
    server = start_postgres(durable=True)  # commits flushed, as a production server's are
    root = Path(tempfile.mkdtemp(prefix="sb-replicas-"))
    try:
        database = server.create_database()
        print_replicas(bench_replicas(database.url, root))
    finally:
        stop_postgres(server)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
