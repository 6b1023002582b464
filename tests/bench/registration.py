"""Registration throughput: single calls and batches from 16 concurrent clients, beside the
raw engine's single-row commit (the floor one durable write costs on this disk) and a bare gRPC
server answering the same calls after each round (the floor the transport sets).

Single registrations run in ROUNDS rounds; the figure is their median, with the CPU that round
took from the daemons, the PostgreSQL server and the clients, and how busy the machine was: on
a machine of two cores the daemons, the server and the 16 clients share them.

The embedded catalog (DuckDB) with one daemon; a PostgreSQL catalog (a throwaway server that
flushes every commit, as DuckDB's file does) with one daemon, and with two daemons on the same
catalog and the 16 clients split across them.

`python -m tests.bench.registration` runs it alone on freshly seeded catalogs (`--single`: no
batches; `--backend duckdb|postgresql`: one backend only).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import grpc
import psycopg
from studbook.daemon.app.clustering import CHECK_EVERY
from studbook.v1 import registry_pb2, registry_pb2_grpc, resources_pb2

from tests.bench import grpc_floor
from tests.bench.pgseed import SERVER_SETTINGS, seed_postgres
from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles, timed
from tests.conftest import Daemon, start_daemon, stop_daemon
from tests.support.postgres import PostgresServer, start_postgres, stop_postgres

WRITERS = 16
REGISTRATIONS = 4_000
BATCH = 50
# What both backends' catalogs hold before the first registration.
SEED_MODELS = 100
SEED_VERSIONS_PER_MODEL = 1_000


def _version(i: int) -> resources_pb2.ModelVersion:
    return resources_pb2.ModelVersion(storage_uri=f"s3://b/{i}", params={"lr": "0.1"},
                                      metrics=[resources_pb2.Metric(key="auc", value=0.9)])  # fmt: skip


async def _drive(addresses: list[str], calls: int, call: object, first: int = 0) -> tuple[float, list[float]]:
    """Runs `calls` calls numbered from `first` from WRITERS concurrent clients, spread evenly
    over the daemons at `addresses`; (elapsed s, latencies)."""
    channels = [grpc.aio.insecure_channel(address) for address in addresses]
    try:
        stubs = [registry_pb2_grpc.VersionServiceStub(channel) for channel in channels]
        queue = list(range(first, first + calls))
        latencies: list[float] = []

        async def writer(versions: registry_pb2_grpc.VersionServiceStub) -> None:
            while queue:
                i = queue.pop()
                started = time.perf_counter()
                await call(versions, i)  # type: ignore[operator]
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(writer(stubs[n % len(stubs)]) for n in range(WRITERS)))
        return time.perf_counter() - started, latencies
    finally:
        for channel in channels:
            await channel.close()


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


def postgres_commit_floor(url: str) -> list[float]:
    """A one-row autocommitted INSERT through psycopg: one durable commit on that server."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE commit_floor (a bigint, b text)")
        samples = timed(lambda: conn.execute("INSERT INTO commit_floor VALUES (1, 'x')"), 300)
        conn.execute("DROP TABLE commit_floor")
    return samples


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used: on a shared machine a steadier figure than
    throughput, which moves with whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(daemons: list[Daemon]) -> float:
    return sum(cpu_seconds(daemon.process.pid) for daemon in daemons)


def _children(pid: int) -> list[int]:
    """The processes `pid` started: a PostgreSQL server's backends, writer and checkpointer."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
    return found


def _server_cpu(server: PostgresServer | None) -> float:
    """The CPU a PostgreSQL server has used, its backends' too (those still running)."""
    if server is None:
        return 0.0
    total = 0.0
    for pid in (server.process.pid, *_children(server.process.pid)):
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def _machine() -> tuple[int, int]:
    """(idle, all) clock ticks of every core since boot, from /proc/stat."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return ticks[3] + ticks[4], sum(ticks)  # idle and iowait


@dataclass
class _Usage:
    """CPU used by the daemons, the catalog's server and the clients (this process), and the
    machine's ticks, at one moment: two of them measure a round."""

    daemons: float
    server: float
    clients: float
    machine: tuple[int, int]

    @classmethod
    def now(cls, daemons: list[Daemon], server: PostgresServer | None) -> _Usage:
        own = os.times()
        return cls(_cpu(daemons), _server_cpu(server), own.user + own.system, _machine())


# A re-cluster the daemon starts is waited for at most this long before measuring.
CLUSTER_WAIT_S = 300.0


def settle(daemons: list[Daemon]) -> None:
    """Registers a few versions on each daemon first, then waits for any re-clustering of
    metric_summary those commits made due (a seeded catalog's metric rows were never
    clustered; store/cluster.py): otherwise the copy of a million metric rows, built beside
    the writer, would be counted as registration's CPU and time."""
    asyncio.run(_drive([daemon.address for daemon in daemons], WRITERS, _warm_up))
    # The first check runs on its own thread CHECK_EVERY seconds after start-up, whatever was
    # committed before: waited for, or its re-cluster would begin in the first measured round.
    time.sleep(CHECK_EVERY + 0.5)
    for daemon in daemons:
        deadline = time.monotonic() + CLUSTER_WAIT_S
        while "re-clustering metric_summary" in (log := daemon.output()) and "metric_summary re-clustered" not in log:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not finish re-clustering:\n{log}")
            time.sleep(0.2)


async def _warm_up(versions: registry_pb2_grpc.VersionServiceStub, i: int) -> None:
    await versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/warm-{i % 8}", request_id=f"warm-{i}", version=_version(i)))  # fmt: skip


# Single registrations are measured this many times, one after another on the same daemons:
# the figure is their median, beside the lowest and highest (this machine's throughput moves
# ±15% from minute to minute).
ROUNDS = 3


def measure_registration(daemons: list[Daemon], *, batches: bool = True,
                         server: PostgresServer | None = None) -> dict[str, float]:  # fmt: skip
    """Throughput (versions/s), p50/p99 latency (ms) and the daemons' CPU per version (ms) of
    single and batched registration, the clients spread over `daemons`; for single ones also
    where the machine's CPU went: the daemons, the catalog's `server`, the clients. Each round
    of single registrations is followed by the same calls to a bare gRPC server (the floor), so
    that the share of the floor each round reached compares runs made on a faster or slower
    machine, or in a busier minute."""
    figures: dict[str, float] = {}
    addresses = [daemon.address for daemon in daemons]
    settle(daemons)
    latencies: list[float] = []
    rounds: list[tuple[float, _Usage, _Usage]] = []
    floors: list[tuple[float, float]] = []
    with BareServer(daemons[0].data_dir.parent / "floor.sock") as floor:
        for round_ in range(ROUNDS):
            before = _Usage.now(daemons, server)
            elapsed, taken = asyncio.run(_drive(addresses, REGISTRATIONS, _single, first=round_ * REGISTRATIONS))
            rounds.append((REGISTRATIONS / elapsed, before, _Usage.now(daemons, server)))
            latencies += taken
            floors.append(floor.round())
    rates = [rate for rate, _, _ in rounds]
    # The round of the median rate, for the CPU it cost.
    rate, before, after = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
    figures["single_per_s"], figures["single_low"], figures["single_high"] = rate, min(rates), max(rates)
    figures["single_cpu_ms"] = (after.daemons - before.daemons) / REGISTRATIONS * 1000
    figures["single_server_cpu_ms"] = (after.server - before.server) / REGISTRATIONS * 1000
    figures["single_clients_cpu_ms"] = (after.clients - before.clients) / REGISTRATIONS * 1000
    idle, ticks = after.machine[0] - before.machine[0], after.machine[1] - before.machine[1]
    figures["single_busy_pct"] = 100 * (1 - idle / ticks) if ticks else 0.0
    figures["single_p50_ms"], figures["single_p99_ms"] = percentiles(latencies)
    figures["transport_per_s"] = statistics.median(calls for calls, _ in floors)
    figures["transport_cpu_ms"] = statistics.median(cpu for _, cpu in floors)
    figures["floor_share_pct"] = 100 * statistics.median(r / f for r, (f, _) in zip(rates, floors, strict=True))
    if batches:
        calls = REGISTRATIONS // BATCH
        cpu = _cpu(daemons)
        elapsed, taken = asyncio.run(_drive(addresses, calls, _batch))
        figures["batch_cpu_ms"] = (_cpu(daemons) - cpu) / (calls * BATCH) * 1000
        figures["batch_per_s"] = calls * BATCH / elapsed
        figures["batch_p50_ms"], figures["batch_p99_ms"] = percentiles(taken)
    return figures


def bench_registration(daemon: Daemon, folder: Path, *, batches: bool = True) -> dict[str, float]:
    """The embedded catalog: `measure_registration` on one daemon, beside raw DuckDB's commit,
    and what the first read after a burst pays."""
    figures = measure_registration([daemon], batches=batches)
    figures["floor_p50_ms"], figures["floor_p99_ms"] = percentiles(single_commit_floor(folder))
    figures.update(read_after_burst(daemon))
    return figures


# Rounds of (a burst of registrations, then reads), and the reads after each burst.
BURSTS, READS_AFTER = 7, 20


def read_after_burst(daemon: Daemon) -> dict[str, float]:
    """A page of versions read right after a burst of registrations nobody read meanwhile (it
    settles what the burst staged: store/staging.py), against the same read once settled."""
    first: list[float] = []
    settled: list[float] = []
    with grpc.insecure_channel(daemon.address) as channel:
        versions = registry_pb2_grpc.VersionServiceStub(channel)
        request = registry_pb2.ListModelVersionsRequest(parent="models/reg-0", page_size=50)
        for burst in range(BURSTS):

            async def registration(stub: registry_pb2_grpc.VersionServiceStub, i: int, burst: int = burst) -> None:
                await stub.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
                    parent=f"models/reg-{i % 8}", request_id=f"burst-{burst}-{i}", version=_version(i)))  # fmt: skip

            # About as many groups as the catalog stages before a write settles them itself.
            asyncio.run(_drive([daemon.address], WRITERS * 12, registration))
            first.append(timed(lambda: versions.ListModelVersions(request), 1)[0])
            settled += timed(lambda: versions.ListModelVersions(request), READS_AFTER)
    return {"burst_read_ms": percentiles(first)[0], "settled_read_ms": percentiles(settled)[0]}


class BareServer:
    """A bare gRPC server (tests.bench.grpc_floor) answering the same single calls from the same
    clients: what gRPC alone costs before the daemon does anything. Stopped by its pid on exit."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.address = f"unix://{socket}"

    def __enter__(self) -> BareServer:
        self.process = grpc_floor.start(self.socket)
        asyncio.run(_drive([self.address], WRITERS * 10, _single))  # connections made, code warm
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait()

    def round(self) -> tuple[float, float]:
        """One round of REGISTRATIONS calls: (calls a second, server CPU a call in ms)."""
        cpu = cpu_seconds(self.process.pid)
        elapsed, _ = asyncio.run(_drive([self.address], REGISTRATIONS, _single))
        return REGISTRATIONS / elapsed, (cpu_seconds(self.process.pid) - cpu) / REGISTRATIONS * 1000


def bench_registration_postgres(root: Path, *, batches: bool = True) -> dict[str, dict[str, float]]:
    """A PostgreSQL catalog seeded as the embedded one is: one daemon with all the clients, then
    two daemons on one fresh catalog with half each; each beside psycopg's one-row commit."""
    server = start_postgres(durable=True, settings=SERVER_SETTINGS)
    try:
        floor = percentiles(postgres_commit_floor(server.url()))
        results = {}
        for daemons in (1, 2):
            figures = _on_postgres(server, root / f"pg-reg-{daemons}", daemons, batches)
            figures["floor_p50_ms"], figures["floor_p99_ms"] = floor
            results[f"postgresql, {daemons} daemon{'s' if daemons > 1 else ''}"] = figures
        return results
    finally:
        stop_postgres(server)


def _on_postgres(server: PostgresServer, folder: Path, count: int, batches: bool) -> dict[str, float]:
    database = server.create_database()
    seed_postgres(database.url, models=SEED_MODELS, versions_per_model=SEED_VERSIONS_PER_MODEL,
                  metrics_per_version=10)  # fmt: skip
    daemons: list[Daemon] = []
    try:
        for n in range(count):
            data = folder / f"d{n}"
            data.mkdir(parents=True)
            daemons.append(start_daemon(data, folder / f"d{n}.sock", "--catalog", database.url))
        return measure_registration(daemons, batches=batches, server=server)
    finally:
        for daemon in daemons:
            stop_daemon(daemon)
        server.drop_database(database.name)


def print_registration(figures: dict[str, float], label: str = "embedded (DuckDB), 1 daemon") -> None:
    print(f"registration, metadata only, {WRITERS} concurrent clients: {label}")
    print(f"  {'RegisterModelVersion throughput':<44} {figures['single_per_s']:9.0f} versions/s   "
          f"(median of {ROUNDS} rounds, {figures['single_low']:.0f}-{figures['single_high']:.0f}; "
          f"p50 {figures['single_p50_ms']:.2f} ms, p99 {figures['single_p99_ms']:.2f} ms a call)")  # fmt: skip
    server = f", PostgreSQL {figures['single_server_cpu_ms']:.2f}" if label.startswith("postgresql") else ""
    total = figures["single_cpu_ms"] + figures["single_server_cpu_ms"] + figures["single_clients_cpu_ms"]
    print(f"  {'  CPU a version (median round)':<44} daemon{'s' if 'daemons' in label else ''} "
          f"{figures['single_cpu_ms']:.2f} ms{server}, the clients {figures['single_clients_cpu_ms']:.2f}: "
          f"{total:.2f} ms; the machine's {os.cpu_count()} cores {figures['single_busy_pct']:.0f}% busy")  # fmt: skip
    if "batch_per_s" in figures:
        print(f"  {f'RegisterModelVersions, batches of {BATCH}':<44} {figures['batch_per_s']:9.0f} versions/s   "
              f"(p50 {figures['batch_p50_ms']:.2f} ms, p99 {figures['batch_p99_ms']:.2f} ms a batch; "
              f"daemon CPU {figures['batch_cpu_ms']:.2f} ms a version)")  # fmt: skip
    print(f"  {'bare gRPC server, the same calls (floor)':<44} {figures['transport_per_s']:9.0f} calls/s      "
          f"(server CPU {figures['transport_cpu_ms']:.2f} ms a call; a round after each of the daemons', "
          f"which reached {figures['floor_share_pct']:.0f}% of it)")  # fmt: skip
    if "burst_read_ms" in figures:
        print(f"  {f'ListModelVersions right after {WRITERS * 12} registrations':<44} p50 {figures['burst_read_ms']:7.2f} ms   "
              f"(settled: p50 {figures['settled_read_ms']:.2f} ms)")  # fmt: skip
    engine = "psycopg" if label.startswith("postgresql") else "raw DuckDB"
    print(f"  {f'{engine} single-row commit (write floor)':<44} p50 {figures['floor_p50_ms']:7.3f} ms   "
          f"p99 {figures['floor_p99_ms']:7.3f} ms   ({1000 / figures['floor_p50_ms']:.0f} commits/s)")  # fmt: skip


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="sb-reg-"))
    batches = "--single" not in sys.argv
    backends = ("duckdb", "postgresql")
    if "--backend" in sys.argv:
        backends = (sys.argv[sys.argv.index("--backend") + 1],)
    try:
        if "duckdb" in backends:
            data = root / "data"
            data.mkdir()
            count = seed_catalog(data / "catalog.duckdb", models=SEED_MODELS, versions_per_model=SEED_VERSIONS_PER_MODEL,
                                 metrics_per_version=10)  # fmt: skip
            daemon = start_daemon(data, root / "s.sock")
            print(f"{count:,} versions seeded; daemon pid {daemon.process.pid}", flush=True)
            try:
                print_registration(bench_registration(daemon, root, batches=batches))
            finally:
                stop_daemon(daemon)
        if "postgresql" in backends:
            for label, figures in bench_registration_postgres(root, batches=batches).items():
                print_registration(figures, label)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
