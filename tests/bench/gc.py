"""`gc --dry-run` over a seeded catalog, next to the raw DuckDB queries behind it, at several sizes.

The catalog is seeded set-wise (tests/bench/seed.py) and then given what retention looks at:
two files a version (its own, and one of 1,000 shared ones), a production stage that every 50th
version held once, a lineage parent for every 10th version, and a pending promotion per model.
The policy keeps the 20 newest versions of every model and purges at once, so the plan weighs
nearly every version and passes ~all of them as `purging` to the blob query. The artifact folder
holds BLOBS blobs whatever the catalog's size: listing it is a cost of the store, not the catalog.

`python -m tests.bench.gc [VERSIONS ...]` runs it alone (default 10000 100000 1000000).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.v1 import retention_pb2, retention_pb2_grpc

from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles, timed

KEEP_LAST = 20
VERSIONS_PER_MODEL = 1_000
BLOBS = 10_000
SHARED = 1_000
POLICY = f'[[models]]\npattern = "*"\n[models.retention]\nkeep_last = {KEEP_LAST}\npurge_after = "0s"\n'


def seed_for_retention(data: Path, versions: int) -> int:
    """A catalog of `versions` versions in models of VERSIONS_PER_MODEL, with what retention reads."""
    models = max(1, versions // VERSIONS_PER_MODEL)
    count = seed_catalog(data / "catalog.duckdb", models=models, versions_per_model=min(versions, VERSIONS_PER_MODEL),
                         metrics_per_version=1)  # fmt: skip
    conn = duckdb.connect(str(data / "catalog.duckdb"))
    conn.execute("BEGIN")
    conn.execute("UPDATE versions SET kept = true")
    conn.execute("INSERT INTO files SELECT model, number, 'model.bin', 1000 + number, sha256(model || '/' || number), "
                 "'safetensors', '[]', '{}' FROM versions")  # fmt: skip
    conn.execute(f"INSERT INTO files SELECT model, number, 'shared.bin', 4096, sha256('shared-' || (number % {SHARED})), "
                 "'', '[]', '{}' FROM versions")  # fmt: skip
    conn.execute("INSERT INTO stage_history SELECT row_number() OVER (), model, 'production', false, number, NULL, 'bench', "
                 "'', now()::TIMESTAMP, NULL, false FROM versions WHERE number % 50 = 0")  # fmt: skip
    conn.execute("INSERT INTO stage_holders SELECT model, 'production', false, max(number) FROM versions "
                 "WHERE number % 50 = 0 GROUP BY model")  # fmt: skip
    conn.execute("INSERT INTO lineage_edges SELECT 'models/' || model || '/versions/' || (number - 1), "
                 "'models/' || model || '/versions/' || number, 'fine_tuned_from' FROM versions WHERE number % 10 = 0")  # fmt: skip
    conn.execute("INSERT INTO promotions SELECT row_number() OVER (), name, 5, 'canary', true, 'pending_approval', NULL, "
                 "'', 'bench', '[]', '[]', false, '', now()::TIMESTAMP, now()::TIMESTAMP, 1 FROM models")  # fmt: skip
    conn.execute("COMMIT")
    conn.execute("CHECKPOINT")
    shas = [row[0] for row in conn.execute(
        f"SELECT DISTINCT sha256 FROM files WHERE path = 'shared.bin' UNION ALL "
        f"(SELECT sha256 FROM files WHERE path = 'model.bin' ORDER BY model, number LIMIT {BLOBS - SHARED})").fetchall()]  # fmt: skip
    conn.close()
    _seed_blobs(data / "blobs", shas)
    _record_catalog(data)
    return count


def _record_catalog(data: Path) -> None:
    """The store's record of the catalog, as the daemon that wrote both would have left it: the
    store holds only some of the seeded files, and a daemon refuses a store that holds none of a
    catalog's newest files unless it names the catalog."""
    from studbook.daemon.blobs.local import LocalBlobStore
    from studbook.daemon.store.catalog import Catalog

    catalog = Catalog(data / "catalog.duckdb")
    try:
        LocalBlobStore(data / "blobs").add_catalog(catalog.identity())
    finally:
        catalog.close()


def _seed_blobs(root: Path, shas: list[str]) -> None:
    old = time.time() - 7200  # older than the grace: the plan would delete them
    for sha in shas:
        path = root / "sha256" / sha[:2] / sha[2:4] / sha
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (old, old))


def bench_gc(workdir: Path, versions: int, samples: int = 5, *, collect: bool = True) -> dict[str, Any]:
    """p50 milliseconds of PlanGarbageCollection and of its floors, on a catalog of `versions`;
    with `collect`, the seconds one CollectGarbage then takes. The floors are measured on the
    seeded file before the daemon opens it, since DuckDB lets one process at a time open it."""
    root = Path(tempfile.mkdtemp(prefix="gc-", dir=workdir))
    try:
        data = root / "data"
        data.mkdir()
        started = time.perf_counter()
        count = seed_for_retention(data, versions)
        figures: dict[str, Any] = {"versions": count, "seed_s": time.perf_counter() - started}
        figures.update(_floors(data, samples))
        figures.update(_through_the_daemon(root, data, samples, collect))
        return figures
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _floors(data: Path, samples: int) -> dict[str, float]:
    """The raw retention query and a count over files, then the store's own calls, on the same file."""
    from studbook.daemon.blobs.local import LocalBlobStore
    from studbook.daemon.store.catalog import Catalog, make_pandas_probes_cheap
    from studbook.daemon.store.retention import RETENTION_FACTS, RetentionRule

    make_pandas_probes_cheap()  # as the daemon does: parameters bind without pandas probes
    figures: dict[str, float] = {}
    raw = duckdb.connect(str(data / "catalog.duckdb"), read_only=True)
    try:
        now = raw.execute("SELECT now()::TIMESTAMP").fetchall()[0][0]
        rules = [
            RetentionRule(name, KEEP_LAST, now, True) for (name,) in raw.execute("SELECT name FROM models").fetchall()
        ]
        params = [[r.model for r in rules], [r.keep_last for r in rules], [r.purge_before for r in rules],
                  [r.at_once for r in rules]]  # fmt: skip
        figures["raw_facts_ms"] = percentiles(timed(lambda: raw.execute(RETENTION_FACTS, params).fetchall(), samples))[
            0
        ]
        figures["count_files_ms"] = percentiles(timed(
            lambda: raw.execute("SELECT count(*), count(DISTINCT sha256) FROM files").fetchall(), samples))[0]  # fmt: skip
    finally:
        raw.close()
    catalog = Catalog(data / "catalog.duckdb")
    try:
        facts = catalog.retention_facts(rules)
        purging = [(f.model, f.number) for f in facts if not f.held and not f.pending and not f.parent_of_kept]
        stored = [(b.sha256, b.size, b.modified) for b in LocalBlobStore(data / "blobs").list_entries()]
        figures["facts_ms"] = percentiles(timed(lambda: catalog.retention_facts(rules), samples))[0]
        figures["blobs_query_ms"] = percentiles(timed(lambda: catalog.unreferenced_blobs(stored, purging), samples))[0]
        figures["list_store_ms"] = percentiles(timed(lambda: list(LocalBlobStore(data / "blobs").list_entries()),
                                                     samples))[0]  # fmt: skip
    finally:
        catalog.close()
    return figures


def _through_the_daemon(root: Path, data: Path, samples: int, collect: bool) -> dict[str, Any]:
    from tests.conftest import start_daemon, stop_daemon

    (root / "policy.toml").write_text(POLICY)
    figures: dict[str, Any] = {}
    daemon = start_daemon(data, root / "s.sock", "--policy", str(root / "policy.toml"))
    try:
        with daemon.channel() as channel:
            health = health_pb2_grpc.HealthStub(channel)
            retention = retention_pb2_grpc.RetentionServiceStub(channel)
            figures["health_ms"] = percentiles(timed(lambda: health.Check(health_pb2.HealthCheckRequest()), 200))[0]
            plan = retention.PlanGarbageCollection(retention_pb2.PlanGarbageCollectionRequest(), timeout=600)
            figures["plan_ms"] = percentiles(timed(
                lambda: retention.PlanGarbageCollection(retention_pb2.PlanGarbageCollectionRequest(), timeout=600),
                samples))[0]  # fmt: skip
            figures.update(purged=plan.purged, kept=plan.kept, blobs=plan.blobs.deleted)
            if collect:
                # Once, as it changes the catalog: purges in batches, an event each, then the blobs.
                started = time.perf_counter()
                done = retention.CollectGarbage(retention_pb2.CollectGarbageRequest(), timeout=3600)
                figures["collect_s"] = time.perf_counter() - started
                figures["collected"] = done.purged
    finally:
        stop_daemon(daemon)
    return figures


def print_gc(figures: dict[str, Any]) -> None:
    plan, floor = figures["plan_ms"], figures["raw_facts_ms"]
    print(f"gc --dry-run over {figures['versions']:,} versions ({figures['purged']:,} would be purged, "
          f"{figures['kept']:,} kept by a protection; {BLOBS:,} blobs in the folder, {figures['blobs']:,} would go)")  # fmt: skip
    print(f"  {'gRPC health Check (floor)':<44} p50 {figures['health_ms']:9.3f} ms")
    print(f"  {'raw DuckDB: the retention query (floor)':<44} p50 {floor:9.1f} ms")
    print(f"  {'raw DuckDB: count files and distinct sha256':<44} p50 {figures['count_files_ms']:9.1f} ms")
    print(f"  {'PlanGarbageCollection':<44} p50 {plan:9.1f} ms   ({plan / floor:.1f}x the retention query)")
    print(f"  {'  store: retention facts':<44} p50 {figures['facts_ms']:9.1f} ms")
    print(f"  {'  store: unreferenced blobs (anti-join)':<44} p50 {figures['blobs_query_ms']:9.1f} ms")
    print(f"  {'  listing the artifact folder':<44} p50 {figures['list_store_ms']:9.1f} ms")
    if "collect_s" in figures:
        print(
            f"  {'CollectGarbage, once':<44}     {figures['collect_s']:9.1f} s    "
            f"({figures['collected']:,} purged, {figures['collected'] / figures['collect_s']:,.0f} versions/s)"
        )


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [10_000, 100_000, 1_000_000]
    workdir = Path(tempfile.mkdtemp(prefix="sb-gc-bench-"))
    try:
        for size in sizes:
            figures = bench_gc(workdir, size)
            print(f"(seeded in {figures['seed_s']:.1f} s)")
            print_gc(figures)
            print()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
