"""Bulk synthetic catalogs for benchmarks: 100k versions and 1M metric rows in seconds.

Seeding through the API would take minutes and measure registration, not reads, so this
writes the catalog file directly, set-wise, before the daemon opens it: models, versions, their
metric rows, and an event a version (history.py).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import duckdb
from studbook.daemon.store import engine
from studbook.daemon.store.catalog import Catalog

from .history import seeded_events

KEYS = ["auc", "loss", "f1", "precision", "recall", "latency_ms", "rmse", "accuracy", "mae", "logloss"]


def seed_catalog(path: Path, *, models: int, versions_per_model: int, metrics_per_version: int) -> int:
    """Creates `models` models with `versions_per_model` versions each; returns the version count.

    A version's metric values are a function of its model, number and key, so its row carries
    its own copy of them as it is written (an UPDATE of every row afterwards took ~45% of the time).
    """
    Catalog(path).close()  # creates the schema through the real migrations
    conn = engine.connect(path)  # row groups of the size the daemon writes
    conn.execute("BEGIN")
    conn.execute(
        """
        INSERT INTO models
        SELECT 'model-' || i, 'synthetic model ' || i, 'team-' || (i % 7), json_object('team', CASE WHEN i % 2 = 0 THEN 'risk' ELSE 'ads' END),
               '["development","staging","production"]', 'active', now()::TIMESTAMP, now()::TIMESTAMP, i, '',
               ?, ?  -- the version figures the writer keeps: versions 1..versions_per_model
        FROM range(?) t(i)
        """,
        [versions_per_model, versions_per_model, models],
    )
    conn.execute(
        """
        INSERT INTO versions
        SELECT 'model-' || m, n, '1.' || (n // 1000) || '.' || (n % 1000), 1000000 + (n // 1000) * 1000000 + n % 1000,
               'tuning', 'ready', '', 'version ' || n,
               json_object('team', CASE WHEN n % 3 = 0 THEN 'risk' ELSE 'ads' END, 'run', 'r' || n),
               json_object('lr', ((n % 10) / 100.0)::VARCHAR, 'depth', (n % 12)::VARCHAR),
               to_json([{'key': k, 'value': ((hash('model-' || m || n || k) % 1000) / 1000.0), 'step': NULL::BIGINT,
                         'split': 'test', 'time': strftime(now()::TIMESTAMP, '%Y-%m-%dT%H:%M:%S')}
                        FOR k IN list_sort(?)]),
               '{}', '{}', '{}', '', '[]', NULL, '[]', 's3://bucket/model-' || m || '/' || n, md5(m || '-' || n),
               1000 + n, 1, 'safetensors', 'bench', 'bench', '',
               (TIMESTAMP '2026-01-01' + to_seconds(n * 60))::TIMESTAMP, now()::TIMESTAMP, 0, nextval('version_ids'), false,
               json_object('format', 'safetensors', 'parameters', 1000000 * (n % 50)), 1000000 * (n % 50),
               CASE WHEN n % 2 = 0 THEN 'llama' ELSE 'bert' END, '', CASE WHEN n % 3 = 0 THEN '["BF16"]' ELSE '["F32"]' END
        FROM range(?) a(m), range(1, ? + 1) b(n)
        """,
        [KEYS[:metrics_per_version], models, versions_per_model],
    )
    conn.execute(
        """
        INSERT INTO metric_summary
        SELECT v.model, v.number, k.key, 'test', ((hash(v.model || v.number || k.key) % 1000) / 1000.0), NULL, now()::TIMESTAMP
        FROM versions v, (SELECT unnest(?) AS key LIMIT ?) k
        """,
        [KEYS, metrics_per_version],
    )
    conn.execute("INSERT INTO metrics SELECT model, number, key, split, step, value, time FROM metric_summary")
    _insert_events(conn, models, versions_per_model)
    conn.execute("COMMIT")
    conn.execute("CHECKPOINT")
    total = conn.execute("SELECT count(*) FROM versions").fetchone()
    conn.close()
    return int(total[0]) if total else 0


def _insert_events(conn: duckdb.DuckDBPyConnection, models: int, versions_per_model: int) -> None:
    """An event a version (history.py), through a CSV file that DuckDB reads set-wise."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        with path.open("w", newline="") as handle:
            rows = csv.writer(handle)
            for event, chained in seeded_events(models, versions_per_model):
                rows.writerow((event.revision, event.time.replace(tzinfo=None).isoformat(sep=" "), event.type,
                               event.subject, event.model, event.actor, chained))  # fmt: skip
        conn.execute(f"COPY events (revision, time, type, subject, model, actor, chain_hash) FROM "
                     f"{engine.sql_text(str(path))} (FORMAT csv, HEADER false)")  # fmt: skip
