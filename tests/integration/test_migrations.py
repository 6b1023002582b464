"""The numbered migrations of both backends: the same schema from each, the PostgreSQL runner's
upgrades and refusals, and migration 6's data change computed alike by both engines."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.fields import VERSION_FIELDS
from studbook.daemon.domain.filter import parse_filter
from studbook.daemon.domain.ordering import parse_order_by
from studbook.daemon.store import migrations, staging
from studbook.daemon.store.catalog import SCHEMA_VERSION, Catalog, StoreError
from studbook.daemon.store.dialect import POSTGRES
from studbook.daemon.store.keyed import keyed_search
from studbook.daemon.store.postgres import migrate as pg
from support.postgres import PostgresDatabase

# The types each backend names for one kind of value.
KINDS = {
    "VARCHAR": "text", "text": "text",
    "BIGINT": "integer", "bigint": "integer",
    "DOUBLE": "float", "double precision": "float",
    "BOOLEAN": "boolean", "boolean": "boolean",
    "JSON": "json", "jsonb": "json",
    "TIMESTAMP": "time", "timestamp with time zone": "time",
    "BLOB": "bytes", "bytea": "bytes",
    "BIGINT[]": "integers", "ARRAY": "integers",  # DuckDB's staged rows, PostgreSQL's tag codes (bigint[])
}  # fmt: skip

Columns = dict[str, list[tuple[str, bool, str, str | None]]]


def normal_default(default: str | None) -> str | None:
    """A column default as either engine prints it, without the casts each one adds."""
    if default is None:
        return None
    default = re.sub(r"^CAST\((.*) AS \w+\)$", r"\1", default)
    default = re.sub(r"::[a-z ]+", "", default)
    return {"'f'": "false", "'t'": "true"}.get(default, default)


def duckdb_schema(run: Any) -> tuple[Columns, dict[str, list[str]], set[tuple[str, str, bool, str]], set[str]]:
    columns: Columns = {}
    for table, column, nullable, data_type, default in run(
        "SELECT table_name, column_name, is_nullable, data_type, column_default FROM information_schema.columns "
        "WHERE table_catalog = current_database() ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(table, []).append((column, nullable == "YES", KINDS[data_type], normal_default(default)))
    keys: dict[str, list[str]] = {}
    for table, column in run(
        "SELECT kcu.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu USING (constraint_name, table_name) "
        "WHERE tc.constraint_type = 'PRIMARY KEY' ORDER BY kcu.table_name, kcu.ordinal_position"
    ):
        keys.setdefault(table, []).append(column)
    indexes = {
        (name, table, bool(unique), expressions.strip("[]"))
        for name, table, unique, expressions in run(
            "SELECT index_name, table_name, is_unique, expressions FROM duckdb_indexes()"
        )
    }
    sequences = {row[0] for row in run("SELECT sequence_name FROM duckdb_sequences()")}
    return columns, keys, indexes, sequences


def postgres_schema(
    conn: psycopg.Connection[Any],
) -> tuple[Columns, dict[str, list[str]], set[tuple[str, str, bool, str]], set[str]]:
    def run(query: str) -> list[tuple[Any, ...]]:
        return conn.execute(query).fetchall()

    columns: Columns = {}
    for table, column, nullable, data_type, default in run(
        "SELECT table_name, column_name, is_nullable, data_type, column_default FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(table, []).append((column, nullable == "YES", KINDS[data_type], normal_default(default)))
    keys: dict[str, list[str]] = {}
    for table, column in run(
        "SELECT kcu.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name, table_name) "
        "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() "
        "ORDER BY kcu.table_name, kcu.ordinal_position"
    ):
        keys.setdefault(table, []).append(column)
    # Indexes other than those behind a primary key, as DuckDB lists them.
    indexes = {
        (name, table, unique, ", ".join(columns_))
        for name, table, unique, columns_ in run(
            "SELECT i.relname, t.relname, x.indisunique, "
            "       array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n) "
            "             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary"
        )
    }
    sequences = {
        row[0]
        for row in run(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"
        )
    }
    return columns, keys, indexes, sequences


def test_both_backends_carry_the_same_numbered_migrations() -> None:
    duck, post = migrations.load("duckdb"), migrations.load("postgres")

    assert [(m.number, m.name) for m in duck] == [(m.number, m.name) for m in post]
    assert len(duck) == SCHEMA_VERSION == pg.SCHEMA_VERSION


def test_both_backends_migrate_to_the_same_tables_columns_keys_and_indexes(
    tmp_path: Path, postgres_catalog: PostgresDatabase
) -> None:
    catalog = Catalog(tmp_path / "c.duckdb")
    from_duckdb = duckdb_schema(catalog.query)
    catalog.close()
    with postgres_catalog.connect() as conn:
        from_postgres = postgres_schema(conn)

    columns, keys, indexes, sequences = from_duckdb
    # DuckDB has its staged rows besides (migration 16), and no other table.
    assert set(columns) - set(from_postgres[0]) == {staging.TABLE}
    columns.pop(staging.TABLE)
    # PostgreSQL has its derived tables besides (migrations 8, 14 and 17), and no other table.
    assert set(from_postgres[0]) - set(columns) == pg.POSTGRES_ONLY_TABLES
    shared = {table: found for table, found in from_postgres[0].items() if table not in pg.POSTGRES_ONLY_TABLES}
    assert shared == columns
    assert from_postgres[1] == keys
    # PostgreSQL has its metric and tag indexes besides, and nothing else.
    postgres_only = {index for index in from_postgres[2] if index[0] in pg.POSTGRES_ONLY_INDEXES}
    assert {index[0] for index in postgres_only} == pg.POSTGRES_ONLY_INDEXES
    assert from_postgres[2] - postgres_only == indexes
    assert from_postgres[3] - pg.POSTGRES_ONLY_SEQUENCES == sequences
    assert pg.POSTGRES_ONLY_SEQUENCES <= from_postgres[3]
    # The comparison saw the whole schema, not two empty ones.
    assert {"meta", "models", "versions", "events", "tokens", "drops"} <= set(columns)
    assert ("versions_vid", "versions", True, "vid") in indexes and keys["versions"] == ["model", "number"]


def test_the_template_databases_are_at_the_current_schema_version(postgres_catalog: PostgresDatabase) -> None:
    with postgres_catalog.connect() as conn:
        assert pg.schema_version(conn) == pg.SCHEMA_VERSION


def test_migrating_an_empty_database_creates_the_catalog_and_a_second_run_changes_nothing(
    postgres_empty: PostgresDatabase,
) -> None:
    with postgres_empty.connect() as conn:
        first = pg.migrate(conn)
        schema = postgres_schema(conn)
        conn.execute("INSERT INTO models (name, stages, create_time, update_time, revision) "
                     "VALUES ('kept', '[]', now(), now(), 1)")  # fmt: skip
        second = pg.migrate(conn)

        assert (first, second) == (0, pg.SCHEMA_VERSION)
        assert postgres_schema(conn) == schema
        assert conn.execute("SELECT name FROM models").fetchall() == [("kept",)]
        assert conn.execute("SELECT key, value FROM meta").fetchall() == [("schema_version", str(pg.SCHEMA_VERSION))]


def test_the_runner_works_on_a_connection_outside_autocommit(postgres_empty: PostgresDatabase) -> None:
    with postgres_empty.connect(autocommit=False) as conn:
        pg.migrate(conn)
    with postgres_empty.connect() as conn:
        assert pg.schema_version(conn) == pg.SCHEMA_VERSION


def test_daemons_migrating_one_catalog_at_once_apply_each_migration_once(postgres_empty: PostgresDatabase) -> None:
    found: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def one_daemon() -> None:
        try:
            with postgres_empty.connect() as conn:
                start.wait(10)
                found.append(pg.migrate(conn))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=one_daemon) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Each migration ran once, whoever ran it: a second run of one would have failed (a table or
    # a column that exists already), and a catalog was created, not found.
    assert failures == []
    assert len(found) == 4 and min(found) == 0
    with postgres_empty.connect() as conn:
        assert pg.schema_version(conn) == pg.SCHEMA_VERSION


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_a_catalog_of_any_earlier_version_upgrades_to_the_schema_of_a_new_one(
    version: int, tmp_path: Path, postgres_empty: PostgresDatabase, postgres_catalog: PostgresDatabase
) -> None:
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    for migration in migrations.load("duckdb")[:version]:
        old.execute(migration.sql)
    old.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(version)])
    old.close()
    upgraded, fresh = Catalog(tmp_path / "old.duckdb"), Catalog(tmp_path / "new.duckdb")
    duckdb_upgraded, duckdb_fresh = duckdb_schema(upgraded.query), duckdb_schema(fresh.query)
    upgraded.close()
    fresh.close()
    with postgres_empty.connect() as conn:
        for migration in pg.MIGRATIONS[:version]:
            conn.execute(migration.sql)
        conn.execute("INSERT INTO meta VALUES ('schema_version', %s)", [str(version)])
        found = pg.migrate(conn)
        postgres_upgraded = postgres_schema(conn)
    with postgres_catalog.connect() as conn:
        postgres_fresh = postgres_schema(conn)

    assert duckdb_upgraded == duckdb_fresh
    assert found == version and postgres_upgraded == postgres_fresh


def test_a_catalog_from_a_newer_studbook_is_refused_and_left_alone(postgres_catalog: PostgresDatabase) -> None:
    newer = str(pg.SCHEMA_VERSION + 1)
    with postgres_catalog.connect() as conn:
        conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", [newer])

        with pytest.raises(StoreError) as raised:
            pg.migrate(conn)

        assert raised.value.reason == "SCHEMA_TOO_NEW"
        assert "upgrade studbook" in raised.value.message and postgres_catalog.name in raised.value.message
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (newer,)


def test_a_database_holding_other_tables_is_not_made_a_catalog(postgres_empty: PostgresDatabase) -> None:
    with postgres_empty.connect() as conn:
        conn.execute("CREATE TABLE invoices (id bigint)")

        with pytest.raises(StoreError) as raised:
            pg.migrate(conn)

        assert raised.value.reason == "NOT_A_CATALOG" and "invoices" in raised.value.message
        assert conn.execute("SELECT to_regclass('meta')").fetchone() == (None,)


def test_a_failing_migration_leaves_the_catalog_at_the_version_before_it(
    postgres_empty: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = migrations.Migration(pg.SCHEMA_VERSION + 1, "broken", "ALTER TABLE models ADD COLUMN x text; SELECT 1/0;")
    monkeypatch.setattr(pg, "MIGRATIONS", (*pg.MIGRATIONS, broken))
    monkeypatch.setattr(pg, "SCHEMA_VERSION", pg.SCHEMA_VERSION + 1)
    with postgres_empty.connect() as conn:
        with pytest.raises(StoreError) as raised:
            pg.migrate(conn)

        assert raised.value.reason == "STORE_UNAVAILABLE" and "division by zero" in raised.value.message
        assert pg.schema_version(conn) == len(pg.MIGRATIONS) - 1
        assert "x" not in {row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'models'").fetchall()}  # fmt: skip


# -- migration 6 on both engines ------------------------------------------------------------

# What a drop's `format.parameters` tag could have held: decimal numbers in every notation
# DuckDB's TRY_CAST reads, numbers too big for a bigint, and text that is no number at all.
DIGITS = st.text("0123456789", min_size=1, max_size=20)
DECIMAL_TEXT = st.builds(
    lambda space, sign, whole, point, fraction, exponent, trail: (
        f"{space}{sign}{whole}{point}{fraction}{exponent}{trail}"
    ),
    st.sampled_from(["", " ", "\t", "\n "]),
    st.sampled_from(["", "+", "-"]),
    DIGITS,
    st.sampled_from(["", "."]),
    st.text("0123456789", max_size=4),
    st.one_of(
        st.just(""),
        st.builds(
            lambda e, s, d: f"{e}{s}{d}",
            st.sampled_from("eE"),
            st.sampled_from(["", "+", "-"]),
            st.text("0123456789", min_size=1, max_size=3),
        ),
    ),
    st.sampled_from(["", " ", "\r\n"]),
).filter(lambda text: mantissa_fits(text))


def mantissa_fits(text: str) -> bool:
    """DuckDB reads the digits before an exponent as one bigint first, so it gives up on
    "9223400000000000000e-1" although the value fits; PostgreSQL reads it. No drop ever wrote
    such a number: the property holds where the digits fit."""
    mantissa, _, exponent = text.strip().lstrip("+-").lower().partition("e")
    return not exponent or len(mantissa.replace(".", "").lstrip("0")) <= 18


NOT_NUMBERS = st.text(st.characters(blacklist_categories=["Nd", "Cs"], blacklist_characters="\x00"), max_size=12)
TAG_VALUES = st.one_of(
    DECIMAL_TEXT,
    NOT_NUMBERS,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e20, max_value=1e20),
    st.none(),
)


def at_version_5_duckdb(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    for migration in migrations.load("duckdb")[:5]:
        conn.execute(migration.sql)
    return conn


def migration_6_outcome(run: Any, parse: Any) -> list[tuple[int, int, dict[str, Any], dict[str, Any]]]:
    return [
        (number, parameters, parse(info), parse(tags))
        for number, parameters, info, tags in run(
            "SELECT number, format_parameters, format_info, tags FROM versions ORDER BY number"
        )
    ]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(TAG_VALUES, min_size=1, max_size=8))
@example(values=["1234", "١٢", "2.5", "-2.5", "9223372036854775807.4", "9.3e18", "1e999", ".5", "5.", " 7 "])
def test_migration_6_reads_the_parameters_tag_alike_on_both_engines(
    values: list[Any], tmp_path: Path, postgres_empty: PostgresDatabase
) -> None:
    duck_path = tmp_path / "c.duckdb"
    if not duck_path.exists():
        at_version_5_duckdb(duck_path).close()
        with postgres_empty.connect() as conn:
            for migration in pg.MIGRATIONS[:5]:
                conn.execute(migration.sql)
    rows = [(number, json.dumps({"format.parameters": value, "team": "a"})) for number, value in enumerate(values)]
    rows.append((len(values), json.dumps({"team": "b"})))  # no tag: left as it was
    insert = ("INSERT INTO versions (model, number, semver, semver_key, change_kind, status, tags, create_time, "
              "update_time, revision) VALUES ('m', {0}, '1.0.0', 0, 'initial', 'ready', {0}, now(), now(), 1)")  # fmt: skip
    sixth = {m.number: m for m in migrations.load("duckdb")}[6].sql

    duck = duckdb.connect(str(duck_path))
    try:
        duck.executemany(insert.format("?"), rows)
        duck.execute("BEGIN")
        duck.execute(sixth)
        on_duckdb = migration_6_outcome(lambda q: duck.execute(q).fetchall(), json.loads)
        duck.execute("ROLLBACK")
        duck.execute("DELETE FROM versions")
    finally:
        duck.close()
    with postgres_empty.connect() as conn:
        conn.cursor().executemany(insert.format("%s"), rows)
        with conn.transaction():
            conn.execute(pg.MIGRATIONS[5].sql)
            on_postgres = migration_6_outcome(lambda q: conn.execute(q).fetchall(), lambda value: value)
            raise psycopg.Rollback()
        conn.execute("DELETE FROM versions")

    assert on_postgres == on_duckdb


# Migration 14 derived the peaks and the tags' rows by version id; 17 rebuilt the peaks with their
# versions' tag codes.
@pytest.mark.parametrize("version", [13, 16])
def test_migrations_14_and_17_derive_the_searched_tag_and_metric_tables_from_a_catalogs_versions(
    postgres_empty: PostgresDatabase, version: int
) -> None:
    with postgres_empty.connect() as conn:
        for migration in pg.MIGRATIONS[:version]:
            conn.execute(migration.sql)
        conn.execute("INSERT INTO meta VALUES ('schema_version', %s)", [str(version)])
        # Three versions: two splits of auc each (the peak is the larger), one without the tag;
        # beside `team`, a tag too long for the tag index and a JSON null, which get no code.
        for number, team, (test, val) in ((1, "risk", (0.2, 0.95)), (2, "risk", (0.7, 0.6)), (3, "ads", (0.99, 0.1))):
            tags = {"team": team, "note": "x" * 2000, "gone": None}
            conn.execute("INSERT INTO versions (model, number, semver, semver_key, change_kind, status, tags, "
                         "create_time, update_time, revision) VALUES ('m', %s, '1.0.0', 0, 'initial', 'ready', %s, "
                         "now(), now(), 1)", [number, json.dumps(tags)])  # fmt: skip
            for split, value in (("test", test), ("val", val)):
                conn.execute("INSERT INTO metric_summary (model, number, key, split, value, time) "
                             "VALUES ('m', %s, 'auc', %s, %s, now())", [number, split, value])  # fmt: skip
        assert pg.migrate(conn) == version
        assert conn.execute("SELECT key, value FROM tag_codes ORDER BY value").fetchall() == [("team", "ads"),
                                                                                             ("team", "risk")]  # fmt: skip

        keyed = keyed_search(parse_filter('metrics.auc > 0.5 AND tags.team = "risk"', VERSION_FIELDS),
                             parse_order_by("metrics.auc desc", VERSION_FIELDS), model=None, show_archived=False,
                             limit=10, offset=0, after=None, dialect=POSTGRES)  # fmt: skip
        assert keyed is not None
        found = conn.execute(POSTGRES.placeholders(keyed.page.sql), keyed.page.params).fetchall()
        numbers = dict(conn.execute("SELECT vid, number FROM versions").fetchall())

    assert [(numbers[vid], total, auc) for vid, total, auc, *_ in found] == [(1, 2, 0.95), (2, 2, 0.7)]
