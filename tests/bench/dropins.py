"""Drop-to-visible latency: from the rename of a complete version folder into a watched root
until a gRPC get returns it, and until a Watch stream delivers it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.v1 import events_pb2, events_pb2_grpc, registry_pb2_grpc

from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles, until_visible
from tests.conftest import start_daemon, stop_daemon

MODEL = "dropbench"
VERSIONS_PER_SEEDED_MODEL = 1_000


def bench_drop_to_visible(
    tmpdir: Path,
    *,
    seeded_versions: int = 10_000,
    samples: int = 200,
    file_bytes: int = 1 << 20,
) -> dict[str, float]:
    """Drop `samples` version folders (one file of `file_bytes`) by rename, one at a time,
    into a root watched by a daemon whose catalog already holds `seeded_versions`.

    Returns milliseconds: get_p50/get_p99 (rename -> GetModelVersion finds it),
    watch_p50/watch_p99 (rename -> a Watch stream delivers version.created) and
    floor_p50 (a bare health Check on the same socket), plus the counts used.
    """
    data, root = tmpdir / "drop-bench-data", tmpdir / "drop-bench-root"
    data.mkdir(parents=True)
    (root / MODEL).mkdir(parents=True)
    (root / ".staging").mkdir()
    models = max(1, seeded_versions // VERSIONS_PER_SEEDED_MODEL)
    seeded = seed_catalog(data / "catalog.duckdb", models=models,
                          versions_per_model=max(1, seeded_versions // models), metrics_per_version=10)  # fmt: skip
    daemon = start_daemon(data, tmpdir / "drop-bench.sock", "--watch", str(root), "--log-level", "WARNING")
    try:
        with daemon.channel() as channel:
            arrivals = _WatchArrivals(channel)
            versions = registry_pb2_grpc.VersionServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            floor = []
            for _ in range(200):
                started = time.perf_counter()
                health.Check(health_pb2.HealthCheckRequest())
                floor.append(time.perf_counter() - started)
            to_get, to_watch = [], []
            payload = os.urandom(file_bytes)
            for number in range(1, samples + 1):
                staging = root / ".staging" / str(number)
                staging.mkdir()
                (staging / "model.bin").write_bytes(payload[:-8] + number.to_bytes(8, "little"))
                started = time.perf_counter()
                os.rename(staging, root / MODEL / str(number))
                to_get.append(until_visible(versions, f"models/{MODEL}/versions/{number}", 30.0) - started)
                to_watch.append(arrivals.wait(number) - started)
            arrivals.close()
    finally:
        stop_daemon(daemon)
    get_p50, get_p99 = percentiles(to_get)
    watch_p50, watch_p99 = percentiles(to_watch)
    return {
        "seeded_versions": float(seeded),
        "samples": float(samples),
        "file_bytes": float(file_bytes),
        "get_p50_ms": get_p50,
        "get_p99_ms": get_p99,
        "watch_p50_ms": watch_p50,
        "watch_p99_ms": watch_p99,
        "floor_p50_ms": percentiles(floor)[0],
    }


class _WatchArrivals:
    """Follows version.created events of the bench model and notes when each arrives."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._times: dict[int, float] = {}
        self._changed = threading.Condition()
        self._stream = events_pb2_grpc.EventServiceStub(channel).Watch(events_pb2.WatchRequest(
            start_revision=-1, filter=f'model = "{MODEL}" AND type = "version.created"'))  # fmt: skip
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            for response in self._stream:
                if response.HasField("event"):
                    arrived = time.perf_counter()
                    with self._changed:
                        self._times[response.event.version.number] = arrived
                        self._changed.notify_all()
        except grpc.RpcError:
            pass  # cancelled by close()

    def wait(self, number: int, timeout: float = 30.0) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: number in self._times, timeout):
                raise TimeoutError(f"Watch never delivered version {number}")
            return self._times[number]

    def close(self) -> None:
        self._stream.cancel()
        self._thread.join(timeout=5)


if __name__ == "__main__":
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="sb-"))
    try:
        print(bench_drop_to_visible(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
