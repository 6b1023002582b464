"""Bulk synthetic PostgreSQL catalogs for benchmarks: the rows seed.py writes to DuckDB, set-wise.

The same models, versions and metric rows, in generate_series SQL that mirrors seed.py's
(only the hash behind the metric values differs: integer arithmetic here, DuckDB's hash there,
so the same filter matches about the same share of versions on both backends), and an event
a version (history.py).
The scale bench's search matches 36,000 of 1M versions here against ~33,000 there.

Each table is TRUNCATEd in the transaction that fills it: on a server with wal_level=minimal
(`start_postgres(durable=True, settings=SERVER_SETTINGS)`) PostgreSQL then writes the new rows
to their files and flushes them at commit instead of logging each one, and is as durable.
VACUUM ANALYZE afterwards gives the planner its statistics and index-only scans their
visibility map, as autovacuum would on a catalog that grew over time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from studbook.daemon.store.postgres.migrate import migrate

from tests.bench.history import seeded_events
from tests.bench.seed import KEYS

_TABLES = ("models", "versions", "metric_summary", "metrics", "events")
# What a bench's server runs with, besides `start_postgres(durable=True)`: every commit still
# flushed, but the seeding transaction writes its freshly truncated tables without logging each
# row (wal_level=minimal, which allows no replication connections).
SERVER_SETTINGS = {"wal_level": "minimal", "max_wal_senders": "0"}


def seed_postgres(url: str, *, models: int, versions_per_model: int, metrics_per_version: int) -> int:
    """Migrates the (empty) database at `url` and fills it; returns the version count."""
    keys = sorted(KEYS[:metrics_per_version])
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)  # the schema the daemon would create
        _fill(conn, models, versions_per_model, keys)
        # The derived tables too: the triggers of migrations 8, 14 and 17 filled them from
        # versions and metric_summary.
        for table in (*_TABLES, "version_tags", "version_metric_peaks", "tag_codes"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        # The pages the seeding and VACUUM dirtied are written now, not by the checkpoint that
        # would otherwise come during the measurement after it.
        conn.execute("CHECKPOINT")
        total = conn.execute("SELECT count(*) FROM versions").fetchone()
    return int(total[0]) if total else 0


def _fill(conn: psycopg.Connection[Any], models: int, versions_per_model: int, keys: list[str]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    with conn.transaction():
        conn.execute(f"TRUNCATE {', '.join(_TABLES)}")
        conn.execute(
            """
            INSERT INTO models
            SELECT 'model-' || i, 'synthetic model ' || i, 'team-' || (i %% 7),
                   jsonb_build_object('team', CASE WHEN i %% 2 = 0 THEN 'risk' ELSE 'ads' END),
                   '["development","staging","production"]', 'active', now(), now(), i, '',
                   %s, %s  -- the version figures the writer keeps: versions 1..versions_per_model
            FROM generate_series(0, %s - 1) i
            """,
            [versions_per_model, versions_per_model, models],
        )

        # The value of a version's metric: a function of its number and key (seed.py hashes the
        # model in too), by integer arithmetic (a multiplicative hash) since hashing text ten times
        # a row dominated. `ordinal` is the key's place in `keys`, from 1. (It was written with
        # m * 1000003 added to n, which leaves the result modulo 1000003 as it is but overflowed
        # a bigint from about 3,500 models on.)
        def value(ordinal: str) -> str:
            return f"(((n * 2654435761 + {ordinal} * 40503) %% 1000003 %% 1000) / 1000.0)::float8"

        # The metrics column written out as text per key rather than aggregated per row: a
        # subquery aggregating jsonb for each of a million rows took most of the seeding time.
        items = " || ', ' || ".join(
            f"""'{{"key": "{k}", "value": ' || {value(str(i + 1))} || ', "step": null, "split": "test", "time": "' || %(now)s || '"}}'"""
            for i, k in enumerate(keys)
        )
        conn.execute(
            f"""
            INSERT INTO versions (model, number, semver, semver_key, change_kind, status, status_reason,
                description, tags, params, metrics, signature, environment, training, model_card, datasets,
                run, parents, storage_uri, content_digest, total_size, file_count, format, created_by,
                created_from, request_id, create_time, update_time, revision, kept, format_info,
                format_parameters, format_architecture, format_framework, format_dtypes)
            SELECT 'model-' || m, n, '1.' || (n / 1000) || '.' || (n %% 1000), 1000000 + (n / 1000) * 1000000 + n %% 1000,
                   'tuning', 'ready', '', 'version ' || n,
                   jsonb_build_object('team', CASE WHEN n %% 3 = 0 THEN 'risk' ELSE 'ads' END, 'run', 'r' || n),
                   jsonb_build_object('lr', ((n %% 10) / 100.0)::text, 'depth', (n %% 12)::text),
                   ('[' || {items} || ']')::jsonb,
                   '{{}}', '{{}}', '{{}}', '', '[]', NULL, '[]', 's3://bucket/model-' || m || '/' || n, md5(m || '-' || n),
                   1000 + n, 1, 'safetensors', 'bench', 'bench', '',
                   TIMESTAMPTZ '2026-01-01 00:00:00+00' + n * INTERVAL '1 minute', now(), 0, false,
                   jsonb_build_object('format', 'safetensors', 'parameters', 1000000::bigint * (n %% 50)),
                   1000000::bigint * (n %% 50), CASE WHEN n %% 2 = 0 THEN 'llama' ELSE 'bert' END, '',
                   CASE WHEN n %% 3 = 0 THEN '["BF16"]'::jsonb ELSE '["F32"]'::jsonb END
            FROM generate_series(0, %(models)s - 1) m, generate_series(1, %(versions)s) n
            """,
            {"now": now, "models": models, "versions": versions_per_model},
        )
        conn.execute(
            f"""
            INSERT INTO metric_summary
            SELECT 'model-' || m, n, k, 'test', {value("i")}, NULL, now()
            FROM generate_series(0, %s - 1) m, generate_series(1, %s) n, unnest(%s::text[]) WITH ORDINALITY AS x(k, i)
            """,
            [models, versions_per_model, keys],
        )
        conn.execute("INSERT INTO metrics SELECT model, number, key, split, step, value, time FROM metric_summary")
        with conn.cursor().copy(
            "COPY events (revision, time, type, subject, model, actor, chain_hash) FROM STDIN"
        ) as copy:
            for event, chained in seeded_events(models, versions_per_model):
                copy.write_row(
                    (event.revision, event.time, event.type, event.subject, event.model, event.actor, chained)
                )
