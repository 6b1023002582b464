"""`observe` throughput: production points per second into a daemon, from 16 clients at once, one
point a call and 1,000 a call, each beside floors measured in the same run: LogMetrics calls of
the same shape (the registry's other metric write) and the catalog writing the same rows alone,
a commit a call (no daemon, no gRPC, no attribution; one call at a time, so no group commit).
Then the latency of reading one key's series back, beside a health Check and the raw query."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.daemon.domain.model import Event
from studbook.daemon.domain.production import StoredPoint
from studbook.daemon.store.catalog import Catalog
from studbook.v1 import production_pb2, production_pb2_grpc, registry_pb2, registry_pb2_grpc, resources_pb2, stages_pb2

from tests.bench.timing import percentiles, timed
from tests.conftest import start_daemon, stop_daemon
from tests.support.rpc import register, stubs

CLIENTS = 16
SINGLE_CALLS = 25  # per client
BATCH = 1_000
BATCH_CALLS = 5  # per client
READS = 50


def _rate(clients: int, calls: int, points_per_call: int, make: Callable[[grpc.Channel], Callable[[int], object]],
          address: str) -> float:  # fmt: skip
    """Points per second from `clients` threads, each with its own channel, `calls` calls each."""
    channels = [grpc.insecure_channel(address) for _ in range(clients)]
    try:
        senders = [make(channel) for channel in channels]
        for send in senders:  # connected and warm before the clock starts
            send(-1)

        def client(index: int) -> None:
            send = senders[index]
            for call in range(calls):
                send(call)

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
        elapsed = time.perf_counter() - started
    finally:
        for channel in channels:
            channel.close()
    return clients * calls * points_per_call / elapsed


def _observe(size: int) -> Callable[[grpc.Channel], Callable[[int], object]]:
    def make(channel: grpc.Channel) -> Callable[[int], object]:
        stub = production_pb2_grpc.ProductionServiceStub(channel)
        points = [production_pb2.ProductionPoint(key=f"k{i % 10}", value=i / size) for i in range(size)]
        request = production_pb2.LogProductionMetricsRequest(model="models/bench", stage="production", points=points)
        return lambda _: stub.LogProductionMetrics(request)

    return make


def _log_metrics(size: int) -> Callable[[grpc.Channel], Callable[[int], object]]:
    def make(channel: grpc.Channel) -> Callable[[int], object]:
        stub = registry_pb2_grpc.VersionServiceStub(channel)
        metrics = [resources_pb2.Metric(key=f"k{i % 10}", value=i / size, step=i) for i in range(size)]
        request = registry_pb2.LogMetricsRequest(name="models/bench/versions/1", metrics=metrics)
        return lambda _: stub.LogMetrics(request)

    return make


def _store_inserts(path: Path, calls: int, size: int) -> float:
    """Points per second of the same rows written by the catalog alone (no daemon, no gRPC, no
    attribution): a transaction a call, each inserting `size` points and an event, as one
    LogProductionMetrics call writes them."""
    catalog = Catalog(path)
    now = datetime.now(UTC)
    points = [StoredPoint(1, f"k{i % 10}", "", now, i / size) for i in range(size)]
    started = time.perf_counter()
    for call in range(1, calls + 1):
        tx = catalog.transaction()
        tx.begin()
        tx.insert_event(Event(call, now, "production.metrics_logged", "models/bench/stages/production", "bench",
                              "bench", b""), "")  # fmt: skip
        tx.insert_production_points("bench", "production", call, points)
        tx.commit()
    elapsed = time.perf_counter() - started
    catalog.close()
    return calls * size / elapsed


def bench_observe(root: Path) -> dict[str, float]:
    """Points per second: observe and its floors, one point a call and BATCH a call."""
    folder = root / "observe-bench"
    folder.mkdir()
    daemon = start_daemon(folder / "data", folder / "s.sock")
    try:
        with daemon.channel() as channel:
            api = stubs(channel)
            register(api, "bench")
            api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name="models/bench/versions/1",
                                                                                 target="production"))  # fmt: skip
        figures = {
            "single_observe": _rate(CLIENTS, SINGLE_CALLS, 1, _observe(1), daemon.address),
            "single_log_metrics": _rate(CLIENTS, SINGLE_CALLS, 1, _log_metrics(1), daemon.address),
            "batch_observe": _rate(CLIENTS, BATCH_CALLS, BATCH, _observe(BATCH), daemon.address),
            "batch_log_metrics": _rate(CLIENTS, BATCH_CALLS, BATCH, _log_metrics(BATCH), daemon.address),
        }
        with daemon.channel() as channel:
            health = health_pb2_grpc.HealthStub(channel)
            production = production_pb2_grpc.ProductionServiceStub(channel)
            one_key = production_pb2.GetProductionRecordRequest(model="models/bench", stage="production", keys=["k3"])
            floor = timed(lambda: health.Check(health_pb2.HealthCheckRequest()), READS)
            record = timed(lambda: production.GetProductionRecord(one_key), READS)
            figures["points"] = sum(len(s.samples) for h in production.GetProductionRecord(one_key).holders
                                    for s in h.series)  # fmt: skip
    finally:
        stop_daemon(daemon)
    raw = duckdb.connect(str(folder / "data" / "catalog.duckdb"), read_only=True)
    query = ("SELECT number, metric, segment, window_end, value FROM production_points WHERE model = ? AND stage = ? "
             "AND metric IN (SELECT unnest(CAST(? AS VARCHAR[]))) ORDER BY number, metric, segment, window_end, "
             "revision")  # fmt: skip
    raw_read = timed(lambda: raw.execute(query, ["bench", "production", ["k3"]]).fetchall(), READS)
    raw.close()
    for label, samples in (("health", floor), ("record", record), ("raw_read", raw_read)):
        figures[f"{label}_p50_ms"], figures[f"{label}_p99_ms"] = percentiles(samples)
    figures["single_raw"] = _store_inserts(folder / "single.duckdb", SINGLE_CALLS * 2, 1)
    figures["batch_raw"] = _store_inserts(folder / "batch.duckdb", BATCH_CALLS * 4, BATCH)
    return figures


def print_observe(figures: dict[str, float]) -> None:
    print(f"\nobserve throughput, {CLIENTS} clients at once, points/s (DuckDB catalog)")
    for size, key, calls in (("1 point a call", "single", SINGLE_CALLS), (f"{BATCH:,} points a call", "batch",
                                                                           BATCH_CALLS)):  # fmt: skip
        print(f"  {size}, {calls} calls per client")
        observed = figures[f"{key}_observe"]
        for label, value in (("catalog insert alone, a commit a call (floor)", figures[f"{key}_raw"]),
                             ("LogMetrics, same shape", figures[f"{key}_log_metrics"]),
                             ("LogProductionMetrics (observe)", observed)):  # fmt: skip
            print(f"    {label:<42} {value:11,.0f} points/s   ({observed / value:5.2f}x of it)"
                  if value is not observed else f"    {label:<42} {value:11,.0f} points/s")  # fmt: skip
    print(f"  GetProductionRecord of one key ({figures['points']:,.0f} of the points above)")
    for label, key in (("gRPC health Check (floor)", "health"), ("raw DuckDB: the same points (store floor)", "raw_read"),
                       ("GetProductionRecord", "record")):  # fmt: skip
        print(f"    {label:<42} p50 {figures[f'{key}_p50_ms']:8.2f} ms   p99 {figures[f'{key}_p99_ms']:8.2f} ms")


if __name__ == "__main__":
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="sb-bench-observe-"))
    try:
        print_observe(bench_observe(scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
