"""A round trip DuckDB -> PostgreSQL -> DuckDB through `catalog copy` gives back every row as it
was: any text (quotes, commas, newlines, backslashes, empty beside NULL), any JSON, any finite
double, any bigint, times to the microsecond, any bytes, and the sequence of version handles."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.daemon.app.catalog_copy import copy_catalog
from studbook.daemon.domain.audit import GENESIS, chain_hash
from studbook.daemon.domain.model import Event
from studbook.daemon.store.catalog import Catalog
from support.postgres import TEMPLATE, PostgresServer

# PostgreSQL's text holds no NUL; surrogates are no UTF-8 at all.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)
NAMES = st.text("abcxyz-_.", min_size=1, max_size=8)
BIGINT = st.integers(-(2**63), 2**63 - 1)
DOUBLE = st.floats(allow_nan=False, allow_infinity=False)
TIMES = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | DOUBLE | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
# Columns holding JSON, compared by what they mean: jsonb keeps its own key order and spacing.
JSON_COLUMNS = {"tags", "stages", "params", "run", "details"}

MODEL = st.tuples(NAMES, TEXT, st.dictionaries(TEXT, TEXT, max_size=3), TIMES, BIGINT)
VERSION = st.tuples(TEXT, BIGINT, TEXT, JSON, st.none() | JSON, TIMES, BIGINT, BIGINT)
METRIC = st.tuples(TEXT, TEXT, st.none() | BIGINT, DOUBLE, TIMES)
EVENT = st.tuples(TIMES, TEXT, TEXT, st.none() | st.binary(max_size=40), TEXT)
DROP = st.tuples(TEXT, st.none() | BIGINT, st.dictionaries(TEXT, JSON, max_size=3), TIMES)


def fill(path: Path, models: list[Any], versions: list[Any], metrics: list[Any], events: list[Any],
         drops: list[Any], extra_handles: int) -> None:  # fmt: skip
    Catalog(path).close()
    with duckdb.connect(str(path)) as conn:
        for name, description, tags, time, revision in models:
            conn.execute("INSERT INTO models (name, description, tags, stages, create_time, update_time, revision) "
                         "VALUES (?, ?, ?, '[\"staging\", \"production\"]', ?, ?, ?) ON CONFLICT DO NOTHING",
                         [name, description, json.dumps(tags), time, time, revision])  # fmt: skip
        for number, (semver, key, description, params, run, time, revision, parameters) in enumerate(versions, 1):
            conn.execute(
                "INSERT INTO versions (model, number, semver, semver_key, change_kind, status, description, params, "
                "run, create_time, update_time, revision, format_parameters) "
                "VALUES ('m', ?, ?, ?, 'major', 'ready', ?, ?, ?, ?, ?, ?, ?)",
                [number, semver, key, description, json.dumps(params), None if run is None else json.dumps(run),
                 time, time, revision, parameters],
            )  # fmt: skip
        for key, split, step, value, time in metrics:
            conn.execute("INSERT INTO metrics VALUES ('m', 1, ?, ?, ?, ?, ?)", [key, split, step, value, time])
        head = GENESIS
        for revision, (time, kind, subject, payload, role) in enumerate(events, 1):
            event = Event(revision, time.replace(tzinfo=UTC), kind, subject, "m", "actor", payload or b"", role)
            head = chain_hash(head, event)
            conn.execute("INSERT INTO events (revision, time, type, subject, model, actor, payload, role, chain_hash) "
                         "VALUES (?, ?, ?, ?, 'm', 'actor', ?, ?, ?)",
                         [revision, time, kind, subject, payload, role, head])  # fmt: skip
        for index, (message, number, details, time) in enumerate(drops):
            conn.execute("INSERT INTO drops (root, path, model, number, state, message, details, update_time) "
                         "VALUES ('/r', ?, 'm', ?, 'quarantined', ?, ?, ?)",
                         [f"m/{index}", number, message, json.dumps(details), time])  # fmt: skip
        if extra_handles:
            conn.execute(f"SELECT count(nextval('version_ids')) FROM range({extra_handles})")


def _number(value: Any) -> Any:
    """JSON numbers by their value: jsonb writes 1e300 as its digits, which Python reads as an int."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    return {k: _number(v) for k, v in value.items()}


def contents(path: Path) -> dict[str, Any]:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "ORDER BY table_name").fetchall()]  # fmt: skip
        found: dict[str, Any] = {}
        for table in tables:
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY ALL")
            names = [d[0] for d in cursor.description]
            found[table] = [
                tuple(_number(json.loads(v)) if n in JSON_COLUMNS and v is not None else v for n, v in zip(names, row))
                for row in cursor.fetchall()
            ]
    return found


def next_handle(path: Path) -> int:
    with duckdb.connect(str(path)) as conn:
        found = conn.execute("SELECT nextval('version_ids')").fetchone()
    assert found is not None
    return int(found[0])


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    models=st.lists(MODEL, max_size=3),
    versions=st.lists(VERSION, max_size=4),
    metrics=st.lists(METRIC, max_size=4),
    events=st.lists(EVENT, max_size=4),
    drops=st.lists(DROP, max_size=2),
    extra_handles=st.integers(0, 3),
)
def test_a_round_trip_through_postgresql_gives_back_every_row(
    postgres_server: PostgresServer, models: list[Any], versions: list[Any], metrics: list[Any],
    events: list[Any], drops: list[Any], extra_handles: int,
) -> None:  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="sb-copy-"))
    database = postgres_server.create_database(template=TEMPLATE)
    try:
        (root / "a").mkdir()
        fill(root / "a" / "catalog.duckdb", models, versions, metrics, events, drops, extra_handles)

        there = copy_catalog(str(root / "a"), database.url)
        back = copy_catalog(database.url, str(root / "b"))

        assert contents(root / "b" / "catalog.duckdb") == contents(root / "a" / "catalog.duckdb")
        # Gaps are harmless, a handle given twice is not: the copy's sequence never runs behind.
        assert next_handle(root / "b" / "catalog.duckdb") >= next_handle(root / "a" / "catalog.duckdb")
        assert there.chain_head == back.chain_head and back.revision == len(events)
    finally:
        postgres_server.drop_database(database.name)
        shutil.rmtree(root, ignore_errors=True)
