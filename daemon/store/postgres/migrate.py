"""Brings a PostgreSQL catalog to this studbook's schema, from migrations/postgres/.

The numbers are the DuckDB catalog's: `meta.schema_version` says which migrations a catalog has,
whichever backend holds it. Each migration runs in its own transaction (PostgreSQL's DDL is
transactional, so a failed one leaves the catalog at the version before it) under an advisory
lock, so that several daemons starting at once on one catalog apply each migration exactly once.
"""

from __future__ import annotations

from typing import Any

import psycopg
from studbook.daemon.store import migrations
from studbook.daemon.store.records import StoreError, first_line

MIGRATIONS = migrations.load("postgres")
SCHEMA_VERSION = len(MIGRATIONS)

# Indexes only the PostgreSQL catalog has: its planner reads a metric range and looks a
# version's metric up through them (migration 7), and finds a tag's versions and the archived
# ones (migration 8), and a metric's versions by their peak value (migration 14), where DuckDB's
# scans need none. Every other table, column, key and index is the same on both backends.
POSTGRES_ONLY_INDEXES = frozenset({"metric_summary_key_value", "metric_summary_version", "version_tags_key_value",
                                   "version_tags_version", "versions_archived", "version_metric_peaks_version",
                                   "version_metric_peaks_key_value"})  # fmt: skip
# Input statistics (migration 11): PostgreSQL reads a window's rows by index; DuckDB scans its
# columns with zone maps, and an index there would only slow each window's insert.
POSTGRES_ONLY_INDEXES |= {
    "reference_bins_version",
    "input_windows_stage",
    "input_windows_request",
    "input_bins_window",
    "input_drift_window",
}
# Versions by revision (migration 15): what other daemons changed, read under the write lock;
# a DuckDB file has no other daemon.
POSTGRES_ONLY_INDEXES |= {"versions_revision"}
# The codes of tags (migration 17), looked up by pair.
POSTGRES_ONLY_INDEXES |= {"tag_codes_pair"}
# Request ids (migration 19), looked up by the writer when a call carries one; DuckDB scans.
POSTGRES_ONLY_INDEXES |= {"models_by_request_id", "promotions_by_request_id"}
# The rename events (migration 22), read at every start; DuckDB finds them by zone maps.
POSTGRES_ONLY_INDEXES |= {"events_renames"}
# Tables derived from others by the catalog's own triggers, as an index is (migrations 8, 14 and
# 17): no code writes them and a catalog copy leaves them out, since the destination derives its own.
POSTGRES_ONLY_TABLES = frozenset({"version_tags", "version_metric_peaks", "tag_codes"})
# The sequence that numbers tag_codes.
POSTGRES_ONLY_SEQUENCES = frozenset({"tag_codes_code"})

# The advisory lock's key: "studbook" in ASCII, a bigint no other application is likely to pick.
MIGRATION_LOCK = int.from_bytes(b"studbook", "big")


def describe(conn: psycopg.Connection[Any]) -> str:
    """The catalog as a user would name it in --catalog, without its password."""
    info = conn.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The catalog's schema version; 0 for a database without a catalog yet."""
    found = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
    if not (found and found[0]):
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Applies the migrations the catalog lacks and returns the schema version it had.

    Refuses (SCHEMA_TOO_NEW) a catalog that a newer studbook migrated, and (NOT_A_CATALOG) a
    database that holds other tables but no catalog: creating one among them would mix the
    registry into someone else's data."""
    found: int | None = None
    try:
        while True:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
                current = schema_version(conn)
                if found is None:
                    found = current
                if current > SCHEMA_VERSION:
                    raise StoreError(
                        f"the catalog {describe(conn)} has schema version {current}, newer than this studbook "
                        f"({SCHEMA_VERSION}); upgrade studbook",
                        reason="SCHEMA_TOO_NEW",
                    )
                if current == SCHEMA_VERSION:
                    return found
                if current == 0:
                    _refuse_foreign_tables(conn)
                migration = MIGRATIONS[current]
                # Without parameters psycopg sends the text as one simple query, so a file of several
                # statements runs as written (and its `?` and `%` are PostgreSQL's, not placeholders).
                conn.execute(migration.sql)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [str(migration.number)],
                )
    except psycopg.Error as exc:
        raise StoreError(f"cannot upgrade the catalog {describe(conn)}: {first_line(exc)}") from exc


def _refuse_foreign_tables(conn: psycopg.Connection[Any]) -> None:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "ORDER BY table_name LIMIT 5"
    ).fetchall()
    if rows:
        names = ", ".join(row[0] for row in rows)
        raise StoreError(
            f"the database {describe(conn)} holds other tables ({names}) but no studbook catalog; "
            "point --catalog at an empty database, or at one that studbook created",
            reason="NOT_A_CATALOG",
        )
