"""Costs against catalog size: cold start, memory and a filtered, sorted search at each size.

`python -m tests.bench.scale 10000 100000 1000000` seeds a catalog of each size on each backend
(set-wise, see seed.py and pgseed.py: a DuckDB file, and a database on a throwaway PostgreSQL
server that flushes every commit), starts a real daemon on it and prints, each next to a floor
from the same run:

- cold start to SERVING, against the same daemon starting on an empty catalog, in wall time and in
  the daemon's CPU time (which holds on a busy machine);
- the daemon's RSS after start, against the empty catalog's;
- the p50 of a filtered and sorted top-50 search through gRPC, against the raw engine running the
  statement the daemon runs for it on the same catalog (DuckDB on the file; psycopg to PostgreSQL);
- the RSS right after those searches, and again once the daemon has idled for a moment: DuckDB
  hands memory its queries freed back to the system over about a second, and a DuckDB catalog
  idle for a second evicts the table blocks its searches cached (store/eviction.py), so the
  first figure is a transient and the second what the daemon keeps.

Then a wide catalog on DuckDB: as many versions as the largest size, ten to a model (a hundred
times as many models), its cold start, CPU time and RSS beside the empty catalog's: where any
cost per model at start-up would show (none is meant to: model records are read when first
asked for, on both backends).

`--backend duckdb` or `--backend postgresql` measures one of them only.

Prints, never asserts: figures on a shared machine move with its load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.daemon.domain.fields import VERSION_FIELDS
from studbook.daemon.domain.filter import parse_filter
from studbook.daemon.domain.ordering import parse_order_by
from studbook.daemon.store import query as sql
from studbook.daemon.store.dialect import DUCKDB, POSTGRES, Dialect
from studbook.daemon.store.keyed import keyed_search
from studbook.v1 import registry_pb2, registry_pb2_grpc

from tests.bench.pgseed import SERVER_SETTINGS, seed_postgres
from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles, timed
from tests.conftest import Daemon, stop_daemon
from tests.support.postgres import PostgresServer, start_postgres, stop_postgres

SIZES = (10_000, 100_000, 1_000_000)
VERSIONS_PER_MODEL = 1_000
WIDE_VERSIONS_PER_MODEL = 10
METRICS_PER_VERSION = 10
FILTER = 'metrics.auc > 0.9 AND tags.team = "risk"'
ORDER_BY = "metrics.auc desc"
SEARCHES = 30
STARTS = 3
# Seconds idle before the second RSS reading; DuckDB returned freed memory within one in trials.
SETTLE_S = 2.0
BACKENDS = ("duckdb", "postgresql")


@dataclass
class Started:
    """A catalog's cold start, its CPU time and the RSS after it, beside the empty catalog's."""

    backend: str
    versions: int
    models: int
    seed_s: float
    start_s: float
    start_floor_s: float
    start_cpu_s: float
    start_cpu_floor_s: float
    rss_mib: float
    rss_floor_mib: float


@dataclass
class Figures(Started):
    search_ms: float
    search_floor_ms: float
    rss_after_mib: float
    rss_settled_mib: float
    matches: int
    # The same, once the daemon has re-clustered metric_summary by key (store/cluster.py).
    clustered: Searched | None = None
    cluster_log: str = ""


@dataclass
class Scale:
    sizes: list[Figures]
    wide: list[Started]


@dataclass
class Searched:
    search_ms: float
    search_floor_ms: float
    rss_after_mib: float
    rss_settled_mib: float


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process used so far: unlike wall time, it holds on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for entry in Path(f"/proc/{pid}/status").read_text().splitlines():
        if entry.startswith("VmRSS:"):
            return int(entry.split()[1]) / 1024
    return 0.0


def start(data: Path, socket: Path, catalog: str = "", options: Sequence[str] = ()) -> tuple[Daemon, float]:
    """A daemon on `data` (its catalog at the URL `catalog` when given; `options` added to its
    command line), and the seconds from launch until health says SERVING (polled every 5 ms)."""
    log = data.parent / f"daemon-{data.name}.log"
    extra = [*(["--catalog", catalog] if catalog else []), *options]
    started = time.perf_counter()
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "studbook.daemon", "--data-dir", str(data), "--socket", str(socket), *extra],
            stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    daemon = Daemon(process, data, socket, log)
    deadline = started + 120
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daemon exited with {process.returncode}:\n{daemon.output()}")
        if socket.exists():
            with daemon.channel() as channel:
                try:
                    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return daemon, time.perf_counter() - started
                except grpc.RpcError:
                    pass
        time.sleep(0.005)
    process.kill()
    raise RuntimeError(f"daemon did not start:\n{daemon.output()}")


def cold_start(data: Path, socket: Path, catalog: str = "") -> tuple[float, float, float]:
    """The fastest of a few starts (page cache warm, as after any first start), the least CPU
    time one took to SERVING, and the RSS after the fastest."""
    best, cpu, rss = float("inf"), float("inf"), 0.0
    for _ in range(STARTS):
        daemon, seconds = start(data, socket, catalog)
        try:
            cpu = min(cpu, cpu_seconds(daemon.process.pid))
            if seconds < best:
                best, rss = seconds, rss_mib(daemon.process.pid)
        finally:
            stop_daemon(daemon)
    return best, cpu, rss


def search_statement(dialect: Dialect = DUCKDB) -> sql.Fragment:
    """The statement the daemon runs for the search (its page of row ids, with the total)."""
    expr = parse_filter(FILTER, VERSION_FIELDS)
    keyed = keyed_search(expr, parse_order_by(ORDER_BY, VERSION_FIELDS), model=None, show_archived=False, limit=51,
                         offset=0, after=None, dialect=dialect)  # fmt: skip
    if keyed is not None:  # PostgreSQL's search from key indexes
        return keyed.page
    order = sql.compile_order(parse_order_by(ORDER_BY, VERSION_FIELDS), "versions", dialect=dialect)
    shared = sql.shared_metric_rows(expr, order, dialect)
    where = [sql.compile_version_filter(expr, dialect, metric_rows=shared), sql.Fragment("v.status <> 'archived'", [])]
    return sql.page_statement("v.vid", "versions", where, order, limit=51, filtered=True, metric_rows=shared,
                              dialect=dialect)  # fmt: skip


def raw_search(catalog: Path) -> float:
    """p50 ms of raw DuckDB running the daemon's search statement on the same file."""
    statement = search_statement()
    conn = duckdb.connect(str(catalog), read_only=True)
    try:
        conn.execute(statement.sql, statement.params).fetchall()  # warm, as the daemon's are
        return percentiles(timed(lambda: conn.execute(statement.sql, statement.params).fetchall(), SEARCHES))[0]
    finally:
        conn.close()


def raw_search_postgres(url: str) -> float:
    """p50 ms of raw psycopg running the daemon's search statement on the same database."""
    statement = search_statement(POSTGRES)
    text = POSTGRES.placeholders(statement.sql)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit TO off")  # as the daemon's connections do
        conn.execute(text, statement.params).fetchall()  # warm, and prepared, as the daemon's are
        return percentiles(timed(lambda: conn.execute(text, statement.params).fetchall(), SEARCHES))[0]


def grpc_search(daemon: Daemon) -> tuple[float, int]:
    """p50 ms of the search through gRPC, and how many versions match it."""
    request = registry_pb2.ListModelVersionsRequest(
        parent="models/-", filter=FILTER, order_by=ORDER_BY, page_size=50, summary_only=True
    )
    with daemon.channel() as channel:
        versions = registry_pb2_grpc.VersionServiceStub(channel)
        total = versions.ListModelVersions(request).total_size
        samples = timed(lambda: versions.ListModelVersions(request), SEARCHES)
    return percentiles(samples)[0], total


class Backend:
    """Where a size's catalog lives: seeds it, names it to the daemon, runs the raw floor."""

    name = "duckdb"
    engine = "raw DuckDB"

    def seed(self, data: Path, size: int, per_model: int = VERSIONS_PER_MODEL) -> int:
        return seed_catalog(data / "catalog.duckdb", models=max(1, size // per_model),
                            versions_per_model=min(size, per_model),
                            metrics_per_version=METRICS_PER_VERSION)  # fmt: skip

    def catalog(self, data: Path) -> str:
        return ""  # the daemon's own file in its data folder

    def floor(self, data: Path) -> float:
        return raw_search(data / "catalog.duckdb")

    def drop(self, data: Path) -> None:
        pass


class PostgresBackend(Backend):
    """A database per catalog on one durable server; the daemon's data folder holds no catalog."""

    name = "postgresql"
    engine = "raw psycopg"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.databases: dict[Path, str] = {}

    def seed(self, data: Path, size: int, per_model: int = VERSIONS_PER_MODEL) -> int:
        return seed_postgres(self.catalog(data), models=max(1, size // per_model),
                             versions_per_model=min(size, per_model),
                             metrics_per_version=METRICS_PER_VERSION)  # fmt: skip

    def catalog(self, data: Path) -> str:
        if data not in self.databases:
            self.databases[data] = self.server.create_database().name
        return self.server.url(self.databases[data])

    def floor(self, data: Path) -> float:
        return raw_search_postgres(self.catalog(data))

    def drop(self, data: Path) -> None:
        if data in self.databases:
            self.server.drop_database(self.databases.pop(data))


def measure(root: Path, size: int, empty: tuple[float, float, float], backend: Backend) -> Figures:
    data = root / f"data-{backend.name}-{size}"
    data.mkdir()
    started = time.perf_counter()
    count = backend.seed(data, size)
    seeded = time.perf_counter() - started
    socket = root / f"s-{size}.sock"
    catalog = backend.catalog(data)
    try:
        start_s, cpu_s, rss = cold_start(data, socket, catalog)
        # As seeded: this daemon is told not to look at its metric rows' order while measured.
        searched = search_once(data, socket, catalog, backend, unclustered_options(root))
        clustered, cluster_log = None, ""
        if backend.name == "duckdb":  # PostgreSQL's metric rows are read through its indexes instead
            cluster_log = let_daemon_cluster(data, socket)
            clustered = search_once(data, socket, catalog, backend)
    finally:
        backend.drop(data)
        shutil.rmtree(data, ignore_errors=True)
    return Figures(backend.name, count, max(1, size // VERSIONS_PER_MODEL), seeded, start_s, empty[0], cpu_s, empty[1],
                   rss, empty[2], searched.search_ms,
                   searched.search_floor_ms, searched.rss_after_mib, searched.rss_settled_mib, matches=searched.matches,
                   clustered=clustered, cluster_log=cluster_log)  # fmt: skip


def measure_wide(root: Path, size: int, empty: tuple[float, float, float], backend: Backend) -> Started:
    """Cold start on `size` versions, WIDE_VERSIONS_PER_MODEL to a model."""
    data = root / f"data-{backend.name}-wide"
    data.mkdir()
    started = time.perf_counter()
    count = backend.seed(data, size, WIDE_VERSIONS_PER_MODEL)
    seeded = time.perf_counter() - started
    try:
        start_s, cpu_s, rss = cold_start(data, root / "s-wide.sock", backend.catalog(data))
    finally:
        backend.drop(data)
        shutil.rmtree(data, ignore_errors=True)
    return Started(backend.name, count, count // WIDE_VERSIONS_PER_MODEL, seeded, start_s, empty[0], cpu_s, empty[1],
                   rss, empty[2])  # fmt: skip


@dataclass
class SearchRun(Searched):
    matches: int


def search_once(data: Path, socket: Path, catalog: str, backend: Backend, options: Sequence[str] = ()) -> SearchRun:
    daemon, _ = start(data, socket, catalog, options)
    try:
        search_ms, matches = grpc_search(daemon)
        rss_after = rss_mib(daemon.process.pid)
        time.sleep(SETTLE_S)
        rss_settled = rss_mib(daemon.process.pid)
    finally:
        stop_daemon(daemon)
    return SearchRun(search_ms, backend.floor(data), rss_after, rss_settled, matches)


def unclustered_options(root: Path) -> list[str]:
    """A daemon's options that keep it from re-clustering its metric rows for an hour."""
    config = root / "unclustered.toml"
    config.write_text("[daemon]\ncluster_check_seconds = 3600\n")
    return ["--config", str(config)]


def let_daemon_cluster(data: Path, socket: Path) -> str:
    """Starts the daemon as it is configured by default, and waits for the re-cluster that it
    finds due a few seconds after start-up, with nothing written; returns its log line."""
    daemon, _ = start(data, socket, "")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = [line for line in daemon.output().splitlines() if "metric_summary re-clustered" in line]
            if done:
                return done[-1].split("re-clustered: ", 1)[1]
            time.sleep(0.2)
        raise RuntimeError(f"the daemon did not re-cluster:\n{daemon.output()}")
    finally:
        stop_daemon(daemon)


def measure_empty(root: Path, backend: Backend) -> tuple[float, float, float]:
    data = root / f"data-{backend.name}-empty"
    data.mkdir()
    try:
        return cold_start(data, root / "s-empty.sock", backend.catalog(data))
    finally:
        backend.drop(data)


def print_scale(scale: Scale) -> None:
    print(f"catalog size: cold start, memory, search  ({FILTER!r}, order by {ORDER_BY}, top 50)")
    for f in scale.sizes:
        engine = PostgresBackend.engine if f.backend == "postgresql" else Backend.engine
        print(f"  {f.backend}, {f.versions:>9,} versions (seeded in {f.seed_s:.1f} s), {f.matches:,} match the search")
        _print_start(f)
        print(f"    {'search through gRPC, p50':<36} {f.search_ms:7.1f} ms   "
              f"({engine}, same statement: {f.search_floor_ms:.1f} ms)")  # fmt: skip
        print(f"    {'RSS after the searches':<36} {f.rss_after_mib:7.0f} MiB  "
              f"({SETTLE_S:.0f} s idle later: {f.rss_settled_mib:.0f} MiB)")  # fmt: skip
        if f.clustered is not None:
            c = f.clustered
            print(f"    re-clustered by the daemon a few seconds after its start, nothing written ({f.cluster_log})")
            print(f"    {'  search through gRPC, p50':<36} {c.search_ms:7.1f} ms   "
                  f"(raw DuckDB, same statement: {c.search_floor_ms:.1f} ms)")  # fmt: skip
            print(f"    {'  RSS after the searches':<36} {c.rss_after_mib:7.0f} MiB  "
                  f"({SETTLE_S:.0f} s idle later: {c.rss_settled_mib:.0f} MiB)")  # fmt: skip
    _print_wide(scale.wide)


def _print_wide(started: list[Started]) -> None:
    print(f"wide catalog: {WIDE_VERSIONS_PER_MODEL} versions to a model")
    for f in started:
        print(f"  {f.backend}, {f.versions:>9,} versions over {f.models:,} models (seeded in {f.seed_s:.1f} s)")
        _print_start(f)


def _print_start(f: Started) -> None:
    print(f"    {'cold start to SERVING':<36} {f.start_s * 1000:7.0f} ms   "
          f"(empty catalog: {f.start_floor_s * 1000:.0f} ms)")  # fmt: skip
    print(f"    {'  its CPU time':<36} {f.start_cpu_s * 1000:7.0f} ms   "
          f"(empty catalog: {f.start_cpu_floor_s * 1000:.0f} ms)")  # fmt: skip
    print(f"    {'RSS after start':<36} {f.rss_mib:7.0f} MiB  (empty catalog: {f.rss_floor_mib:.0f} MiB)")


def bench_scale(root: Path, sizes: tuple[int, ...] = SIZES, backends: tuple[str, ...] = BACKENDS) -> Scale:
    """Each backend at each size, one size at a time (a catalog is dropped before the next is
    seeded), then the wide catalog at the largest size (DuckDB)."""
    scale = Scale([], [])
    for name in backends:
        server = None if name == "duckdb" else start_postgres(durable=True, settings=SERVER_SETTINGS)
        try:
            backend = Backend() if server is None else PostgresBackend(server)
            empty = measure_empty(root, backend)
            scale.sizes += [measure(root, size, empty, backend) for size in sizes]
            if server is None:  # both backends start alike; seeding 100,000 models into PostgreSQL took 6.5 min
                scale.wide.append(measure_wide(root, max(sizes), empty, backend))
        finally:
            if server is not None:
                stop_postgres(server)
    return scale


def main(argv: list[str]) -> int:
    backends = BACKENDS
    if "--backend" in argv:
        at = argv.index("--backend")
        backends = (argv[at + 1],)
        argv = argv[:at] + argv[at + 2 :]
    sizes = tuple(int(a) for a in argv) or SIZES
    root = Path(tempfile.mkdtemp(prefix="sb-scale-"))
    try:
        print_scale(bench_scale(root, sizes, backends))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
