"""`make bench`: figures next to their floors, measured in the same run. Prints, never asserts."""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.v1 import access_pb2, access_pb2_grpc, registry_pb2, registry_pb2_grpc

from tests.bench.admission import bench_admission, print_admission
from tests.bench.backup import bench_backup, print_backup
from tests.bench.blobs import bench_blobs, print_blobs
from tests.bench.drift import bench_drift, print_drift
from tests.bench.dropins import bench_drop_to_visible
from tests.bench.gc import bench_gc, print_gc
from tests.bench.hashing import bench_hashing
from tests.bench.ingest import bench_ingest, print_ingest
from tests.bench.judging import bench_judging, print_judging
from tests.bench.mlflow_peer import bench_mlflow, print_mlflow
from tests.bench.observe import bench_observe, print_observe
from tests.bench.pgreads import bench_pg_reads, print_pg_reads
from tests.bench.registration import bench_registration, bench_registration_postgres, print_registration
from tests.bench.replicas import bench_replicas, print_replicas
from tests.bench.scale import bench_scale, print_scale
from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles, timed
from tests.bench.tui import bench_tui
from tests.bench.webhooks import bench_webhooks, print_webhooks
from tests.conftest import Daemon, compile_studbook, start_daemon, stop_daemon
from tests.support.postgres import start_postgres, stop_postgres

MODELS = 100
VERSIONS_PER_MODEL = 1_000
METRICS_PER_VERSION = 10
SAMPLES = 2_000


def line(label: str, samples: list[float], floor: list[float] | None = None) -> None:
    p50, p99 = percentiles(samples)
    text = f"  {label:<44} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms"
    if floor:
        floor_p50, _ = percentiles(floor)
        text += f"   ({p50 / floor_p50:4.2f}x floor)"
    print(text)


def rss_mib(pid: int) -> float:
    for entry in Path(f"/proc/{pid}/status").read_text().splitlines():
        if entry.startswith("VmRSS:"):
            return int(entry.split()[1]) / 1024
    return 0.0


def bench_reads(daemon: Daemon) -> None:
    rng = random.Random(7)
    with daemon.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        versions = registry_pb2_grpc.VersionServiceStub(channel)
        floor = timed(lambda: health.Check(health_pb2.HealthCheckRequest()), SAMPLES)
        names = [f"models/model-{rng.randrange(MODELS)}/versions/{rng.randrange(1, VERSIONS_PER_MODEL + 1)}"
                 for _ in range(SAMPLES)]  # fmt: skip
        cold = timed(
            lambda: versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=names.pop())), SAMPLES // 2
        )
        hot_names = [f"models/model-{rng.randrange(10)}/versions/{rng.randrange(1, 50)}" for _ in range(SAMPLES)]
        for name in set(hot_names):
            versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name))
        hot = timed(
            lambda: versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=hot_names.pop())), SAMPLES
        )
        secret = (
            access_pb2_grpc.AccessServiceStub(channel)
            .CreateToken(access_pb2.CreateTokenRequest(display_name="bench-viewer", role=access_pb2.ROLE_VIEWER))
            .secret
        )
        bearer = (("authorization", f"Bearer {secret}"),)
        hot_names = [f"models/model-{rng.randrange(10)}/versions/{rng.randrange(1, 50)}" for _ in range(SAMPLES)]
        with_token = timed(lambda: versions.GetModelVersion(
            registry_pb2.GetModelVersionRequest(name=hot_names.pop()), metadata=bearer), SAMPLES)  # fmt: skip
        filtered = 'metrics.auc > 0.9 AND tags.team = "risk"'
        search = timed(lambda: versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
            parent="models/-", filter=filtered, order_by="metrics.auc desc", page_size=50, summary_only=True)), 50)  # fmt: skip
        one_model = timed(lambda: versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
            parent="models/model-3", page_size=50, summary_only=True)), 200)  # fmt: skip

        def deep_page(page_size: int = 50, **position: object) -> registry_pb2.ListModelVersionsResponse:
            return versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
                parent="models/-", page_size=page_size, summary_only=True, **position))  # fmt: skip

        # The token that starts page 1000 (row 49,951), reached in big steps: a token belongs to
        # the query, not to a page size. Reaching it once is enough; a token may be used again.
        deep_token = ""
        for step in [1000] * 49 + [950]:
            deep_token = deep_page(step, page_token=deep_token).next_page_token
        deep_first = timed(deep_page, 50)
        deep_keyset = timed(lambda: deep_page(page_token=deep_token), 50)
        deep_offset = timed(lambda: deep_page(skip=49_950), 50)
    print(
        f"reads over {MODELS * VERSIONS_PER_MODEL:,} versions, {MODELS * VERSIONS_PER_MODEL * METRICS_PER_VERSION:,} metric rows"
    )
    line("gRPC health Check (floor)", floor)
    line("GetModelVersion, cached", hot, floor)
    line("GetModelVersion, cached, with a token", with_token, floor)
    line("GetModelVersion, first read (catalog)", cold, floor)
    line("ListModelVersions one model, page 50", one_model, floor)
    line(f"search all: {filtered}", search, floor)
    line("ListModelVersions all, page 1 of 50", deep_first, floor)
    line("  same, page 1000 by page token (keyset)", deep_keyset, floor)
    line("  same, page 1000 by skip (offset)", deep_offset, floor)


def bench_raw_duckdb(catalog: Path) -> None:
    conn = duckdb.connect(str(catalog), read_only=True)
    rng = random.Random(3)
    point = timed(lambda: conn.execute(
        "SELECT * FROM versions WHERE model = ? AND number = ?",
        [f"model-{rng.randrange(MODELS)}", rng.randrange(1, VERSIONS_PER_MODEL)]).fetchall(), 500)  # fmt: skip
    search = timed(lambda: conn.execute(
        "SELECT v.* FROM versions v JOIN metric_summary ms USING (model, number) "
        "WHERE ms.key = 'auc' AND ms.value > 0.9 AND json_extract_string(v.tags, '$.team') = 'risk' "
        "ORDER BY ms.value DESC LIMIT 50").fetchall(), 50)  # fmt: skip
    conn.close()
    print("raw DuckDB on the same catalog (store floor)")
    line("point select of one version row", point)
    line("metric + tag search, top 50", search)


def bench_postgres(root: Path) -> None:
    """The PostgreSQL catalog: reads, registration with one and two daemons, follower lag."""
    print_pg_reads(bench_pg_reads(root))
    print()
    for label, figures in bench_registration_postgres(root).items():
        print_registration(figures, label)
    print()
    server = start_postgres(durable=True)
    try:
        folder = root / "replicas"
        folder.mkdir()
        print_replicas(bench_replicas(server.create_database().url, folder))
    finally:
        stop_postgres(server)
    print()


def main() -> int:
    compile_studbook()  # every daemon measured starts as an installed one does: no module compiled at start
    root = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    try:
        print(
            f"studbook bench  (python {sys.version.split()[0]}, duckdb {duckdb.__version__}, {os.cpu_count()} cores)\n"
        )
        data = root / "data"
        data.mkdir()
        started = time.perf_counter()
        count = seed_catalog(data / "catalog.duckdb", models=MODELS, versions_per_model=VERSIONS_PER_MODEL,
                             metrics_per_version=METRICS_PER_VERSION)  # fmt: skip
        print(f"seeded {count:,} versions in {time.perf_counter() - started:.1f} s\n")
        # Cold start and memory against catalog size are measured by `bench_scale` below.
        daemon = start_daemon(data, root / "s.sock")
        try:
            bench_reads(daemon)
            print(f"  daemon RSS after reads: {rss_mib(daemon.process.pid):.0f} MiB\n")
            print_registration(bench_registration(daemon, root))
            print(f"  daemon RSS after writes: {rss_mib(daemon.process.pid):.0f} MiB\n")
        finally:
            stop_daemon(daemon)
        bench_raw_duckdb(data / "catalog.duckdb")
        print()
        bench_postgres(root)
        print_scale(bench_scale(root))
        print()
        print_gc(bench_gc(root, MODELS * VERSIONS_PER_MODEL))
        print("\nthe peer: MLflow Model Registry on SQLite, same machine, same run")
        figures = bench_mlflow(root)
        if figures:
            print_mlflow(figures)
        drops = bench_drop_to_visible(root)
        print(
            f"\ndrop-in to visible, {drops['seeded_versions']:,.0f} versions registered, {drops['samples']:.0f} drops "
            f"of {drops['file_bytes'] / 2**20:.0f} MiB"
        )
        print(f"  {'health Check (floor)':<44} p50 {drops['floor_p50_ms']:7.3f} ms")
        print(
            f"  {'rename -> GetModelVersion finds it':<44} p50 {drops['get_p50_ms']:7.3f} ms   p99 {drops['get_p99_ms']:7.3f} ms"
        )
        print(
            f"  {'rename -> Watch delivers it':<44} p50 {drops['watch_p50_ms']:7.3f} ms   p99 {drops['watch_p99_ms']:7.3f} ms"
        )
        print_webhooks(bench_webhooks(root))
        print_observe(bench_observe(root))
        print_drift(bench_drift(root))
        ui = bench_tui(root)
        print("\nterminal UI (a real `studbook` on a pseudo-terminal; 100,000 versions in one model)")
        print(f"  {'python -c pass (floor)':<44} p50 {ui['floor_python_p50_ms']:7.0f} ms")
        print(f"  {'bare Textual app with a table (floor)':<44} p50 {ui['floor_textual_table_p50_ms']:7.0f} ms")
        print(
            f"  {'studbook: first frame painted (headers)':<44} p50 {ui['paint_frame_p50_ms']:7.0f} ms   "
            f"({ui['paint_frame_vs_floor']:4.2f}x floor; CPU {ui['paint_frame_cpu_p50_ms']:.0f} ms, "
            f"{ui['paint_frame_cpu_vs_floor']:4.2f}x)"
        )
        print(
            f"  {'studbook: first models row painted':<44} p50 {ui['paint_rows_p50_ms']:7.0f} ms   "
            f"({ui['paint_rows_vs_floor']:4.2f}x floor; CPU {ui['paint_rows_cpu_p50_ms']:.0f} ms against "
            f"{ui['floor_textual_table_cpu_p50_ms']:.0f} ms, {ui['paint_rows_cpu_vs_floor']:4.2f}x)"
        )
        print(
            f"  {'open the big model: first page painted':<44}     {ui['open_first_page_ms']:7.0f} ms   "
            f"(daemon alone: {ui['daemon_page_p50_ms']:.0f} ms a page)"
        )
        print(
            f"  {'G: cursor on the last version':<44}     {ui['walk_cursor_ms']:7.0f} ms   "
            f"({ui['walk_rpcs']:.0f} RPCs, longest UI stall {ui['ui_max_stall_ms']:.0f} ms)"
        )
        hashing = bench_hashing(root)
        print(f"\nhashing {hashing['bytes'] / 2**20:.0f} MiB in {hashing['files']} files")
        print(f"  {'hashlib.sha256 (floor)':<44} {hashing['hashlib_mb_s']:9.0f} MB/s")
        print(f"  {'scan_artifact':<44} {hashing['scan_artifact_mb_s']:9.0f} MB/s   ({hashing['ratio']:.2f}x)")
        print_judging(bench_judging(root))
        print_ingest(bench_ingest(root))
        print()
        print_blobs(bench_blobs(root))
        print_backup(bench_backup(root))
        print()
        print_admission(bench_admission(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
