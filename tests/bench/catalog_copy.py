"""`studbook catalog copy` of a 100,000-version catalog, DuckDB -> PostgreSQL and back: rows per second.

The PostgreSQL server is the tests' throwaway cluster (fsync off, as in the tests): the figure is
what the two engines' bulk paths and the verification cost, not a disk's flush rate.
`python -m tests.bench.catalog_copy` runs it alone.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from studbook.daemon.app.catalog_copy import copy_catalog

from tests.bench.seed import seed_catalog
from tests.conftest import start_daemon, stop_daemon
from tests.support.postgres import start_postgres, stop_postgres

MODELS = 100
VERSIONS_PER_MODEL = 1_000
METRICS_PER_VERSION = 5


def bench_catalog_copy(root: Path) -> dict[str, Any]:
    source = root / "source"
    source.mkdir(parents=True)
    figures: dict[str, Any] = {"versions": seed_catalog(
        source / "catalog.duckdb", models=MODELS, versions_per_model=VERSIONS_PER_MODEL,
        metrics_per_version=METRICS_PER_VERSION)}  # fmt: skip
    # A daemon's first start chains the seeded events, as it would any catalog's.
    stop_daemon(start_daemon(source, root / "s.sock"))
    server = start_postgres()
    try:
        database = server.create_database()
        started = time.perf_counter()
        there = copy_catalog(str(source), database.url)
        figures["to_postgres_s"] = time.perf_counter() - started
        started = time.perf_counter()
        back = copy_catalog(database.url, str(root / "back"))
        figures["to_duckdb_s"] = time.perf_counter() - started
    finally:
        stop_postgres(server)
    figures["rows"] = there.rows
    assert back.rows == there.rows
    return figures


def print_catalog_copy(figures: dict[str, Any]) -> None:
    print(f"catalog copy, {figures['versions']:,} versions, {figures['rows']:,} rows, counted and chain-checked:")
    for label, key in (("DuckDB -> PostgreSQL", "to_postgres_s"), ("PostgreSQL -> DuckDB", "to_duckdb_s")):
        seconds = figures[key]
        print(f"  {label:<24} {seconds:7.2f} s   {figures['rows'] / seconds:>10,.0f} rows/s")


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    try:
        print_catalog_copy(bench_catalog_copy(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
