"""Input drift on each backend: LogInputStatistics throughput at 100 features a window (beside
the same rows written by a bare store transaction), and the store's set-wise drift statement over
100 features x 10,000 windows (beside a raw scan grouping the same rows).

Alone: `python -m tests.bench.drift` (from the repository root).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from studbook.client import Client
from studbook.daemon.domain.drift import histogram
from studbook.daemon.store.drift import StoredWindow, bin_rows
from studbook.daemon.store.interface import Store

from tests.conftest import start_daemon, stop_daemon
from tests.support.postgres import start_postgres, stop_postgres

FEATURES = 100
# Four bins, the README's histogram shape: 4,000,000 bin rows in all (the statement's cost grows
# with the rows; the window function's sort is most of it).
BINS = 4
WINDOWS = 10_000
LOGGED = 50  # windows sent through the daemon for the throughput figure
CLIENTS = 4
EDGES = [float(e) for e in range(BINS + 1)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _reference() -> dict[str, dict[str, list[float]]]:
    return {f"f{i:03d}": {"edges": EDGES, "counts": [float(1 + (b + i) % 7) for b in range(BINS)]}
            for i in range(FEATURES)}  # fmt: skip


def _window(n: int) -> dict[str, dict[str, list[float]]]:
    return {f"f{i:03d}": {"edges": EDGES, "counts": [float(1 + (b * n + i) % 11) for b in range(BINS)]}
            for i in range(FEATURES)}  # fmt: skip


def _throughput(address: str) -> tuple[float, float]:
    """windows/s through LogInputStatistics: one client in a row, and CLIENTS at once."""
    with Client(address) as client:
        client.register("driftbench", uri="s3://bench/drift/1", git=False, environment=False,
                        reference_statistics=_reference())  # fmt: skip
        client.promote("driftbench@1", "production")
        windows = [_window(n) for n in range(LOGGED)]
        client.log_input_statistics("driftbench", "production", windows[0])  # connections warm
        started = time.perf_counter()
        for window in windows:
            client.log_input_statistics("driftbench", "production", window)
        serial = LOGGED / (time.perf_counter() - started)
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda w: client.log_input_statistics("driftbench", "production", w), windows))
        parallel = LOGGED / (time.perf_counter() - started)
    return serial, parallel


def _store_floor(store: Store) -> float:
    """windows/s of a bare store transaction writing a window's rows (no attribution, no
    drift, no event, no gRPC): what the catalog's own insert path costs."""
    stats = [histogram(name, s["edges"], s["counts"]) for name, s in _window(1).items()]
    started = time.perf_counter()
    for n in range(LOGGED):
        tx = store.transaction()
        tx.begin()
        tx.insert_many("input_bins", ((10**9 + n, *row) for s in stats for row in bin_rows(s)))
        tx.insert_many("input_drift", ((10**9 + n, s.feature, 0.0, 0.0, False) for s in stats))
        tx.commit()
    return LOGGED / (time.perf_counter() - started)


def _seed_windows(store: Store) -> list[int]:
    """WINDOWS windows of FEATURES features x BINS bins, made inside the engine (seeding is not
    what is measured), against one version's reference."""
    tx = store.transaction()
    tx.begin()
    tx.insert_reference_statistics(
        "seeded", 1, [histogram(n, s["edges"], s["counts"]) for n, s in _reference().items()]
    )
    tx.insert_input_window(StoredWindow(0, "seeded", "production", 1, T0, "", 0, 0, "", 0, []),
                           [histogram("f000", EDGES, [1.0] * BINS)], "", T0)  # fmt: skip
    first = int(tx.execute("SELECT max(id) FROM input_windows")[0][0]) + 1
    tx.execute(
        "INSERT INTO input_windows SELECT w, 'seeded', 'production', 1, ?, '', ?, 0.0, 0.0, '', '', 0, ? "
        "FROM generate_series(CAST(? AS BIGINT), CAST(? AS BIGINT)) AS g(w)",
        [T0 + timedelta(hours=1), FEATURES, T0, first, first + WINDOWS - 1],
    )
    tx.execute(
        # Weights as the write path keeps them: shares of the window, each with its running share.
        "INSERT INTO input_bins SELECT w, feature, b, '', share, "
        "sum(share) OVER (PARTITION BY w, feature ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
        "FROM (SELECT w, feature, b, weight / sum(weight) OVER (PARTITION BY w, feature) AS share FROM ("
        "SELECT w, 'f' || lpad(CAST(f AS VARCHAR), 3, '0') AS feature, b, "
        "CAST(1 + (b * w + f) % 11 AS DOUBLE PRECISION) AS weight "
        "FROM generate_series(CAST(? AS BIGINT), CAST(? AS BIGINT)) AS gw(w), "
        "generate_series(0, ?) AS gf(f), generate_series(0, ?) AS gb(b)) raw) shares",
        [first, first + WINDOWS - 1, FEATURES - 1, BINS - 1],
    )
    tx.commit()
    if store.dialect.is_postgres:
        # As autovacuum would have by now in a catalog that grew to this size over time: without
        # statistics, the planner takes the freshly made tables for empty and joins by nested loops.
        store.query("ANALYZE input_windows, input_bins, reference_features, reference_bins")
    return list(range(first, first + WINDOWS))


def _best(run: Callable[[], object], times: int = 1) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _computation(store: Store) -> tuple[float, float, int]:
    """Seconds: the set-wise drift statement over every seeded window, and a raw scan grouping
    the same bin rows by window and feature; and how many (window, feature) figures came back."""
    ids = _seed_windows(store)
    found: dict[int, dict[str, object]] = {}

    def compute() -> None:
        found.clear()
        found.update(store.compute_input_drift(ids))

    drift = _best(compute)
    scan = _best(lambda: store.query(
        "SELECT window_id, feature, sum(weight), count(*) FROM input_bins WHERE window_id >= ? "
        "GROUP BY window_id, feature", [ids[0]]))  # fmt: skip
    return drift, scan, sum(len(v) for v in found.values())


@contextmanager
def _duckdb(folder: Path) -> Iterator[tuple[Store, str]]:
    from studbook.daemon.store.catalog import Catalog

    data = folder / "duck"
    data.mkdir()
    daemon = start_daemon(data, folder / "d.sock")
    try:
        yield Catalog(folder / "floor.duckdb"), daemon.address
    finally:
        stop_daemon(daemon)


@contextmanager
def _postgres(folder: Path) -> Iterator[tuple[Store, str]]:
    from studbook.daemon.store.postgres.catalog import PostgresCatalog

    server = start_postgres(durable=True)
    try:
        data = folder / "pg"
        data.mkdir()
        daemon = start_daemon(data, folder / "p.sock", "--catalog", server.create_database().url)
        try:
            yield PostgresCatalog(server.create_database().url), daemon.address
        finally:
            stop_daemon(daemon)
    finally:
        stop_postgres(server)


def bench_drift(root: Path) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for label, backend in (("DuckDB", _duckdb), ("PostgreSQL", _postgres)):
        folder = root / f"drift-{label.lower()}"
        folder.mkdir()
        with backend(folder) as (store, address):
            try:
                serial, parallel = _throughput(address)
                floor = _store_floor(store)
                drift, scan, pairs = _computation(store)
            finally:
                store.close()
        figures[label] = {"serial": serial, "parallel": parallel, "floor": floor, "drift_s": drift, "scan_s": scan,
                          "pairs": pairs}  # fmt: skip
    return figures


def print_drift(figures: dict[str, dict[str, float]]) -> None:
    print(f"\ninput drift, {FEATURES} features x {BINS} bins a window")
    for label, f in figures.items():
        print(f"  {label}")
        print(f"    {'store transaction, same rows (floor)':<42} {f['floor']:8.0f} windows/s")
        print(f"    {'LogInputStatistics, one client':<42} {f['serial']:8.0f} windows/s   "
              f"({f['floor'] / f['serial']:4.1f}x floor time)")  # fmt: skip
        print(f"    {f'LogInputStatistics, {CLIENTS} clients':<42} {f['parallel']:8.0f} windows/s")
        print(f"    {f'raw scan of {WINDOWS:,} windows bins (floor)':<42} {f['scan_s']:8.2f} s")
        print(f"    {'drift statement over them (set-wise)':<42} {f['drift_s']:8.2f} s   "
              f"({f['drift_s'] / f['scan_s']:4.1f}x floor; {f['pairs']:,.0f} feature figures)")  # fmt: skip


if __name__ == "__main__":
    base = Path(tempfile.mkdtemp(prefix="sb-bench-drift-"))
    try:
        started = time.perf_counter()
        print_drift(bench_drift(base))
        print(f"\n({time.perf_counter() - started:.0f} s)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(0)
