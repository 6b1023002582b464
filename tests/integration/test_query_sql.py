"""Compiled filters and orderings run on a real DuckDB catalog and select exactly the right rows.

Run this file directly (`python tests/integration/test_query_sql.py`) to print filter
latencies over 100k versions and 1M metric rows next to a plain indexed page query.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.string import TextLoader
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.fields import MODEL_FIELDS, VERSION_FIELDS
from studbook.daemon.domain.filter import Comparison, Has, Star, Text, format_filter, parse_filter
from studbook.daemon.domain.ordering import OrderTerm, parse_order_by
from studbook.daemon.store.catalog import MIGRATIONS
from studbook.daemon.store.dialect import DUCKDB, POSTGRES, Dialect
from studbook.daemon.store.query import (
    NO_ORDER,
    after_row,
    compile_model_filter,
    compile_order,
    compile_version_filter,
    page_statement,
    select_statement,
    shared_metric_rows,
)

# Format records of some fixture versions: model, number, record JSON, parameters, architecture, dtypes.
FORMATS = [
    ("fraud", 1, '{"format": "onnx"}', 1200, "", ["F32"]),
    ("fraud", 2, '{"format": "gguf"}', 7_000_000_000, "llama", ["Q4_K", "F32"]),
    ("churn", 2, '{"format": "huggingface"}', 300, "bert", ["BF16"]),
]

# model, number, semver, semver_key, change_kind, status, description, tags, params, datasets,
# create_time (UTC, as the catalog stores it), created_by, format, total_size
VERSIONS = [
    (
        "fraud",
        1,
        "1.0.0",
        1 * 10**12,
        "initial",
        "ready",
        "First fraud model",
        {"team": "risk", "my key": "x"},
        {"lr": "0.01"},
        [{"name": "transactions", "version": "2026-01", "uri": ""}],
        "2026-01-01 00:00:00",
        "ana",
        "onnx",
        100,
    ),
    (
        "fraud",
        2,
        "1.1.0",
        1 * 10**12 + 1 * 10**6,
        "data",
        "ready",
        "Retrained fraud model",
        {"team": "risk", "val/loss": "low"},
        {"lr": "0.1"},
        [{"name": "transactions", "version": "2026-02", "uri": ""}],
        "2026-02-01 00:00:00",
        "bob",
        "safetensors",
        2000,
    ),
    (
        "fraud",
        3,
        "2.0.0",
        2 * 10**12,
        "schema",
        "failed",
        "",
        {},
        {"lr": "abc"},
        [],
        "2026-03-01 00:00:00",
        "ana",
        "onnx",
        30,
    ),
    (
        "churn",
        1,
        "1.0.0",
        1 * 10**12,
        "initial",
        "registering",
        "Churn 50%_off",
        {"team": "growth"},
        {"lr": "0.001"},
        [{"name": "crm", "version": "v1", "uri": ""}],
        "2026-01-15 00:00:00",
        "carol",
        "pickle",
        10,
    ),
    (
        "churn",
        2,
        "10.0.0",
        10 * 10**12,
        "schema",
        "quarantined",
        "Churn, big",
        {"team": "growth", "prod": "true"},
        {},
        [{"name": "crm", "version": "v2", "uri": ""}],
        "2026-04-01 00:00:00",
        "carol",
        "pickle",
        10,
    ),
]
# model, number, key, split, value
METRICS = [
    ("fraud", 1, "auc", "test", 0.91),
    ("fraud", 1, "auc", "val", 0.85),
    ("fraud", 1, "loss", "test", 0.3),
    ("fraud", 2, "auc", "test", 0.88),
    ("fraud", 2, "auc", "val", 0.95),
    ("fraud", 3, "loss", "test", 0.5),
    ("churn", 1, "auc", "test", 0.7),
    ("churn", 1, "val/loss", "val", 0.2),
]
# model, label, is_alias, number
HOLDERS = [
    ("fraud", "production", False, 2),
    ("fraud", "staging", False, 3),
    ("fraud", "champion", True, 1),
    ("churn", "production", False, 1),
]
# name, description, owner, tags, state, create_time
MODELS = [
    ("fraud", "Detects fraud", "ana", {"team": "risk"}, "active", "2026-01-01 00:00:00"),
    ("churn", "Predicts churn", "bob", {}, "archived", "2026-01-10 00:00:00"),
    ("ranker", "", "ana", {"team": "search"}, "active", "2026-02-01 00:00:00"),
]

ALL = {"fraud/1", "fraud/2", "fraud/3", "churn/1", "churn/2"}
# The runs that produced some versions (the others record none).
RUNS = [("fraud", 1, "run-a1"), ("fraud", 2, "run-b2"), ("churn", 1, "run-a3")]
NOON = "2026-01-01 12:00:00"


class Db:
    """A connection to a migrated catalog on either backend, taking statements with `?`
    placeholders as the store writes them and returning rows as the store reads them."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.execute(self.dialect.placeholders(sql), list(params))
        return cursor.fetchall() if cursor.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if self.dialect is DUCKDB:
            self.connection.executemany(sql, rows)
        else:
            with self.connection.cursor() as cursor:
                cursor.executemany(self.dialect.placeholders(sql), rows)

    def close(self) -> None:
        self.connection.close()


def create_catalog(path: Path) -> Db:
    connection = duckdb.connect(str(path))
    for migration in MIGRATIONS:
        connection.execute(migration)
    return Db(connection, DUCKDB)


@contextmanager
def open_catalog(backend: str, request: pytest.FixtureRequest, path: Path) -> Iterator[Db]:
    """A new migrated catalog on `backend`: a DuckDB file, or a database on the test server."""
    if backend == "duckdb":
        db = create_catalog(path)
        yield db
        db.close()
        return
    from support.postgres import TEMPLATE

    server = request.getfixturevalue("postgres_server")
    database = server.create_database(template=TEMPLATE)
    connection = psycopg.connect(database.url, autocommit=True, options="-c TimeZone=UTC")
    for name in ("json", "jsonb"):  # JSON as its text, as the PostgreSQL catalog reads it
        connection.adapters.register_loader(name, TextLoader)
    try:
        yield Db(connection, POSTGRES)
    finally:
        connection.close()
        server.drop_database(database.name)


def insert_version(connection: Db, row: tuple) -> None:
    (model, number, semver, key, kind, status, description, tags, params, datasets, created, by, fmt, size) = row
    connection.execute(
        "INSERT INTO versions (model, number, semver, semver_key, change_kind, status, description, tags, "
        "params, datasets, create_time, update_time, created_by, format, total_size, revision) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?, 1)",
        [
            model,
            number,
            semver,
            key,
            kind,
            status,
            description,
            json.dumps(tags),
            json.dumps(params),
            json.dumps(datasets),
            created,
            created,
            by,
            fmt,
            size,
        ],
    )


def fill_rows(connection: Db) -> None:
    for row in VERSIONS:
        insert_version(connection, row)
    for model, number, record, parameters, architecture, dtypes in FORMATS:
        connection.execute(
            "UPDATE versions SET format_info = ?, format_parameters = ?, format_architecture = ?, format_dtypes = ? "
            "WHERE model = ? AND number = ?",
            [record, parameters, architecture, json.dumps(dtypes), model, number],
        )
    for model, number, run_id in RUNS:
        connection.execute("UPDATE versions SET run = ? WHERE model = ? AND number = ?",
                           [json.dumps({"run_id": run_id, "uri": ""}), model, number])  # fmt: skip
    connection.executemany(
        "INSERT INTO metric_summary (model, number, key, split, value, time) VALUES (?, ?, ?, ?, ?, now())", METRICS
    )
    connection.executemany("INSERT INTO stage_holders VALUES (?, ?, ?, ?)", HOLDERS)
    for name, description, owner, tags, state, created in MODELS:
        connection.execute(
            "INSERT INTO models (name, description, owner, tags, stages, state, create_time, update_time, revision) "
            "VALUES (?, ?, ?, ?, '[]', ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), 1)",
            [name, description, owner, json.dumps(tags), state, created, created],
        )


BACKENDS = ["duckdb", "postgres"]


@pytest.fixture(scope="module", params=BACKENDS)
def catalog(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """The fixture rows in a catalog on each backend; read-only for the tests, so shared by the module."""
    with open_catalog(request.param, request, tmp_path_factory.mktemp("catalog") / "studbook.duckdb") as connection:
        fill_rows(connection)
        yield connection


@pytest.fixture(scope="module", params=BACKENDS)
def scratch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """An empty catalog that property tests refill per example (a schema per example is slow)."""
    with open_catalog(request.param, request, tmp_path_factory.mktemp("scratch") / "studbook.duckdb") as connection:
        yield connection


def versions(connection: Db, filter_text: str = "", order_by: str = "", **page: int) -> list[str]:
    where = compile_version_filter(parse_filter(filter_text, VERSION_FIELDS), connection.dialect)
    order = compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions", dialect=connection.dialect)
    statement = select_statement("v.model, v.number", "versions", [where], order, **page)
    return [f"{model}/{number}" for model, number in connection.execute(statement.sql, statement.params)]


def models(connection: Db, filter_text: str = "", order_by: str = "") -> list[str]:
    where = compile_model_filter(parse_filter(filter_text, MODEL_FIELDS), connection.dialect)
    order = compile_order(parse_order_by(order_by, MODEL_FIELDS), "models", dialect=connection.dialect)
    statement = select_statement("m.name", "models", [where], order)
    return [name for (name,) in connection.execute(statement.sql, statement.params)]


# --- Version filters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        # tags and params
        ('tags.team = "risk"', {"fraud/1", "fraud/2"}),
        ('tags.team != "risk"', {"fraud/3", "churn/1", "churn/2"}),
        ('-tags.team = "risk"', {"fraud/3", "churn/1", "churn/2"}),
        ('tags."my key" = "x"', {"fraud/1"}),
        ("tags.val/loss:*", {"fraud/2"}),
        ("tags:prod", {"churn/2"}),
        ("tags.prod = true", {"churn/2"}),
        ('tags.team = "gr*"', {"churn/1", "churn/2"}),
        ('tags.team:"ISK"', {"fraud/1", "fraud/2"}),
        ("params.lr < 0.05", {"fraud/1", "churn/1"}),
        ("params.lr = 0.1", {"fraud/2"}),
        ('params.lr = "abc"', {"fraud/3"}),
        # metrics: the latest value in any split
        ("metrics.auc > 0.9", {"fraud/1", "fraud/2"}),
        ("metrics.auc >= 0.95", {"fraud/2"}),
        ("metrics.auc < 0.86", {"fraud/1", "churn/1"}),
        ("metrics:loss", {"fraud/1", "fraud/3"}),
        ("metrics.auc:*", {"fraud/1", "fraud/2", "churn/1"}),
        ("NOT metrics:auc", {"fraud/3", "churn/2"}),
        ("metrics.auc != 0.91", {"fraud/2", "fraud/3", "churn/1", "churn/2"}),
        ('metrics."val/loss" < 1', {"churn/1"}),
        # stages, aliases, datasets
        ('stage = "production"', {"fraud/2", "churn/1"}),
        ("stage = PRODUCTION", {"fraud/2", "churn/1"}),
        ('stage = "prod*"', {"fraud/2", "churn/1"}),
        ("stage:*", {"fraud/2", "fraud/3", "churn/1"}),
        ("stage != production", {"fraud/1", "fraud/3", "churn/2"}),
        ("alias = champion", {"fraud/1"}),
        ('alias = "production"', set()),
        ('dataset = "transactions"', {"fraud/1", "fraud/2"}),
        ('dataset = "transactions@2026-02"', {"fraud/2"}),
        ('dataset = "tr*"', {"fraud/1", "fraud/2"}),
        ("dataset:*", ALL - {"fraud/3"}),
        # versions, enums, numbers, timestamps, names, text
        ('semver >= "2.0.0"', {"fraud/3", "churn/2"}),
        ('semver < "1.1"', {"fraud/1", "churn/1"}),
        ('semver = "1.0.0"', {"fraud/1", "churn/1"}),
        ('semver = "1.*"', {"fraud/1", "fraud/2", "churn/1"}),
        ("status = READY", {"fraud/1", "fraud/2"}),
        ("status != ready", {"fraud/3", "churn/1", "churn/2"}),
        ("change_kind = SCHEMA", {"fraud/3", "churn/2"}),
        ("number >= 2", {"fraud/2", "fraud/3", "churn/2"}),
        ("total_size > 1e3", {"fraud/2"}),
        ('create_time > "2026-01-31T00:00:00Z"', {"fraud/2", "fraud/3", "churn/2"}),
        ('create_time >= "2026-01-15"', {"churn/1", "fraud/2", "fraud/3", "churn/2"}),
        ('create_time < "2026-01-15T01:00:00+02:00"', {"fraud/1"}),
        ('run_id = "run-b2"', {"fraud/2"}),
        ('run_id = "run-a*"', {"fraud/1", "churn/1"}),
        ("run_id:*", {"fraud/1", "fraud/2", "churn/1"}),
        ('run_id != "run-a1"', ALL - {"fraud/1"}),
        ('model = "churn"', {"churn/1", "churn/2"}),
        ('name = "fraud/versions/2"', {"fraud/2"}),
        ('name = "models/churn/versions/1"', {"churn/1"}),
        ('name = "models/fraud/*"', {"fraud/1", "fraud/2", "fraud/3"}),
        ('description:"FRAUD"', {"fraud/1", "fraud/2"}),
        ("description:*", ALL - {"fraud/3"}),
        ('description = "*%_off"', {"churn/1"}),
        ('description = "Churn 5_*"', set()),
        ('created_by = "carol" format = pickle', {"churn/1", "churn/2"}),
        # precedence: OR binds tighter than AND
        ("status = failed AND stage = staging OR alias = champion", {"fraud/3"}),
        ("(status = failed AND stage = staging) OR alias = champion", {"fraud/3", "fraud/1"}),
        ('NOT (tags.team = "risk" OR metrics:auc)', {"fraud/3", "churn/2"}),
    ],
)
def test_each_filter_kind_selects_exactly_the_expected_versions(
    catalog: Db, filter_text: str, expected: set[str]
) -> None:
    assert set(versions(catalog, filter_text)) == expected


def test_no_filter_selects_everything(catalog: Db) -> None:
    assert set(versions(catalog, "  ")) == ALL


def test_user_values_never_reach_the_sql_text() -> None:
    hostile = "x' OR 1=1 --"
    expr = parse_filter(format_filter(Comparison(f"tags.{hostile}", "=", Text(hostile))), VERSION_FIELDS)

    fragment = compile_version_filter(expr)

    assert hostile not in fragment.sql
    assert hostile in fragment.params


# --- Model filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('owner = "ana"', {"fraud", "ranker"}),
        ("state = ARCHIVED", {"churn"}),
        ('name = "fra*"', {"fraud"}),
        ('name = "churn"', {"churn"}),
        ('name = "models/ranker"', {"ranker"}),
        ("tags.team:*", {"fraud", "ranker"}),
        ('tags.team != "risk"', {"churn", "ranker"}),
        ('description:"CHURN"', {"churn"}),
        ('create_time < "2026-01-31T00:00:00Z"', {"fraud", "churn"}),
    ],
)
def test_each_filter_kind_selects_exactly_the_expected_models(
    catalog: Db, filter_text: str, expected: set[str]
) -> None:
    assert set(models(catalog, filter_text)) == expected


# --- Ordering -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("", ["fraud/3", "churn/2", "fraud/2", "churn/1", "fraud/1"]),
        ("name", ["churn/1", "churn/2", "fraud/1", "fraud/2", "fraud/3"]),
        ("metrics.auc desc", ["fraud/2", "fraud/1", "churn/1", "churn/2", "fraud/3"]),
        ("metrics.auc", ["churn/1", "fraud/1", "fraud/2", "churn/2", "fraud/3"]),
        ("metrics.loss desc, metrics.auc desc", ["fraud/3", "fraud/1", "fraud/2", "churn/1", "churn/2"]),
        ("semver desc", ["churn/2", "fraud/3", "fraud/2", "churn/1", "fraud/1"]),
        ("params.lr", ["churn/1", "fraud/1", "fraud/2", "fraud/3", "churn/2"]),
        ("tags.team desc, number desc", ["fraud/2", "fraud/1", "churn/2", "churn/1", "fraud/3"]),
        ("create_time desc", ["churn/2", "fraud/3", "fraud/2", "churn/1", "fraud/1"]),
        ("status", ["fraud/3", "churn/2", "fraud/1", "fraud/2", "churn/1"]),
    ],
)
def test_ordering_puts_nulls_last_and_breaks_ties_by_name(catalog: Db, order_by: str, expected: list[str]) -> None:
    assert versions(catalog, order_by=order_by) == expected


def test_filter_and_metric_ordering_combine(catalog: Db) -> None:
    assert versions(catalog, 'tags.team = "risk" OR model = churn', "metrics.auc desc") == [
        "fraud/2",
        "fraud/1",
        "churn/1",
        "churn/2",
    ]


def test_offset_pages_cover_every_row_once_even_with_ties(catalog: Db) -> None:
    pages = [versions(catalog, order_by="format", limit=2, offset=offset) for offset in (0, 2, 4)]

    assert sorted(sum(pages, [])) == sorted(ALL)


def test_models_order_by_owner_then_name(catalog: Db) -> None:
    assert models(catalog, order_by="owner desc") == ["churn", "fraud", "ranker"]
    assert models(catalog) == ["churn", "fraud", "ranker"]


def test_every_order_ends_with_the_primary_key_and_names_no_key_twice() -> None:
    by_name = compile_order(parse_order_by("name, number desc", VERSION_FIELDS), "versions")
    default = compile_order([], "versions")
    by_owner = compile_order(parse_order_by("owner", MODEL_FIELDS), "models")

    assert [(key.expr.sql, key.descending) for key in by_name.keys] == [("v.model", False), ("v.number", False)]
    assert [(key.expr.sql, key.descending) for key in default.keys] == [("v.number", True), ("v.model", False)]
    assert [key.expr.sql for key in by_owner.keys] == ["m.owner", "m.name"]


# --- Seeking past a position (keyset pages) -------------------------------------------


def versions_after(
    connection: Db, order_by: str, after: tuple[object, ...], filtered: bool = False
) -> tuple[list[str], set[int]]:
    """The versions after the row whose sort keys are `after`, and the totals each row reports."""
    order = compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions", dialect=connection.dialect)
    statement = page_statement("v.model || '/' || v.number", "versions", [compile_version_filter(None)], order,
                               limit=10, after=after, filtered=filtered)  # fmt: skip
    found = connection.execute(statement.sql, statement.params)
    return [row[0] for row in found], {row[1] for row in found}


@pytest.mark.parametrize(
    ("order_by", "after", "expected"),
    [
        # newest first: number desc, then model
        ("", (2, "churn"), ["fraud/2", "churn/1", "fraud/1"]),
        # auc: fraud/2 0.95, fraud/1 0.91, churn/1 0.7, then the NULLs churn/2, fraud/3
        ("metrics.auc desc", (0.7, "churn", 1), ["churn/2", "fraud/3"]),
        ("metrics.auc desc", (None, "churn", 2), ["fraud/3"]),
        ("metrics.auc", (0.91, "fraud", 1), ["fraud/2", "churn/2", "fraud/3"]),
        # team desc: risk (fraud/2, fraud/1), growth (churn/2, churn/1), then fraud/3 with no team
        ("tags.team desc, number desc", ("risk", 1, "fraud"), ["churn/2", "churn/1", "fraud/3"]),
        ("tags.team desc, number desc", ("growth", 2, "churn"), ["churn/1", "fraud/3"]),
        # lr by value, then as text: churn/1, fraud/1, fraud/2, fraud/3 ("abc": no value), churn/2 (none)
        ("params.lr", (0.1, "0.1", "fraud", 2), ["fraud/3", "churn/2"]),
        ("params.lr", (None, "abc", "fraud", 3), ["churn/2"]),
        ("params.lr", (None, None, "churn", 2), []),
    ],
)
@pytest.mark.parametrize("filtered", [False, True], ids=["one-pass", "matches-first"])
def test_a_page_starts_right_after_its_position_with_nulls_last_in_either_direction(
    catalog: Db, order_by: str, after: tuple[object, ...], expected: list[str], filtered: bool
) -> None:
    # Both statement shapes (the matches found first for a filtered search) page alike.
    found, totals = versions_after(catalog, order_by, after, filtered)

    assert found == expected
    assert totals <= {len(ALL)}  # every row counts every match, wherever the page starts


# Metric conditions over keys with several splits (fraud/1 and fraud/2 hold auc twice), missing
# keys (fraud/3 has no auc) and a key with a slash, mixed with conditions on other columns.
metric_conditions = st.sampled_from([
    "metrics.auc > 0.86", "metrics.auc >= 0.88", "metrics.auc > 0.9", "metrics.auc <= 0.88", "metrics.auc = 0.85",
    "metrics:auc", "metrics.loss >= 0.3", "metrics:loss", 'metrics.val/loss > 0', 'tags.team = "risk"',
    "model = churn",
])  # fmt: skip
metric_filters = st.lists(st.tuples(st.sampled_from(["", "NOT "]), metric_conditions), min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from([" AND ", " AND ", " OR "]).map(
        lambda joiner: joiner.join(prefix + condition for prefix, condition in parts)
    )
)
metric_orders = st.sampled_from(["metrics.auc desc", "metrics.auc", "metrics.loss desc, metrics.auc",
                                 "metrics.auc desc, number", "metrics.val/loss, metrics.auc desc"])  # fmt: skip


def metric_page(connection: Db, filter_text: str, order_by: str, *, share: bool, limit: int,
                after: tuple[object, ...] | None = None) -> list[tuple[Any, ...]]:  # fmt: skip
    """One page of a filtered search sorted by metrics (row id, total, sort keys), with the metrics
    the filter and the sort share read once (`share`) or each read where it is used."""
    expr = parse_filter(filter_text, VERSION_FIELDS)
    order = compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions", dialect=connection.dialect)
    shared = shared_metric_rows(expr, order, connection.dialect) if share else None
    where = compile_version_filter(expr, connection.dialect, shared)
    statement = page_statement("v.model || '/' || v.number", "versions", [where], order, limit=limit, after=after,
                               filtered=True, metric_rows=shared)  # fmt: skip
    return connection.execute(statement.sql, statement.params)


@settings(max_examples=80, deadline=None)
@given(filter_text=metric_filters, order_by=metric_orders)
def test_metrics_read_once_for_filter_and_sort_select_and_page_as_when_read_twice(
    catalog: Db, filter_text: str, order_by: str
) -> None:
    expr = parse_filter(filter_text, VERSION_FIELDS)
    order = compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions", dialect=catalog.dialect)
    shared = shared_metric_rows(expr, order, catalog.dialect)

    for limit in (2, 10):
        once = metric_page(catalog, filter_text, order_by, share=True, limit=limit)
        twice = metric_page(catalog, filter_text, order_by, share=False, limit=limit)
        assert once == twice
    first = metric_page(catalog, filter_text, order_by, share=True, limit=2)
    if len(first) == 2:  # the next page, seeking past the last row's sort keys
        after = tuple(first[-1][2:])
        assert metric_page(catalog, filter_text, order_by, share=True, limit=10, after=after) == metric_page(
            catalog, filter_text, order_by, share=False, limit=10, after=after
        )
    # The total past the last page comes from a count of its own, which defines the same rows.
    if shared is not None:
        count = select_statement("count(*)", "versions", [compile_version_filter(expr, catalog.dialect, shared)],
                                 NO_ORDER, metric_rows=shared)  # fmt: skip
        plain = select_statement("count(*)", "versions", [compile_version_filter(expr, catalog.dialect)], NO_ORDER)
        assert catalog.execute(count.sql, count.params) == catalog.execute(plain.sql, plain.params)


@pytest.mark.parametrize(
    ("filter_text", "order_by", "expected"),
    [
        ('metrics.auc > 0.9 AND tags.team = "risk"', "metrics.auc desc", [("auc", ">", 0.9)]),
        (
            "model = fraud AND (metrics.auc >= 1 AND metrics.loss > 0)",
            "metrics.loss, metrics.auc desc",
            [("auc", ">=", 1), ("loss", ">", 0)],
        ),
        ("metrics.auc > 0.9 AND metrics.auc > 0.95", "metrics.auc", [("auc", ">", 0.9)]),  # one read per key
        ("metrics.auc > 0.9 OR model = churn", "metrics.auc desc", []),  # not every match has a row above
        ("NOT metrics.auc > 0.9", "metrics.auc desc", []),
        ("metrics.auc < 0.9", "metrics.auc desc", []),  # the maximum may lie above the bound
        ("metrics.auc = 0.9", "metrics.auc desc", []),
        ("metrics:auc", "metrics.auc desc", []),  # every row of the key: as cheap to read twice
        ("metrics.auc > 0.9", "metrics.loss desc", []),  # nothing the sort reads
        ("metrics.auc > 0.9", "create_time", []),
    ],
)
def test_a_sorted_metric_the_filter_bounds_below_is_read_once_on_duckdb(
    filter_text: str, order_by: str, expected: list[tuple[str, str, object]]
) -> None:
    expr = parse_filter(filter_text, VERSION_FIELDS)
    order = compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions")
    postgres_order = compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions", dialect=POSTGRES)

    shared = shared_metric_rows(expr, order)

    assert ([(m.key, m.op, m.value) for m in shared.metrics] if shared else []) == expected
    assert shared_metric_rows(expr, postgres_order, POSTGRES) is None


@pytest.mark.parametrize(
    "after",
    [
        (0.7, "churn"),  # a key left out
        (0.7, "churn", 1, 1),  # one too many
        ("0.7", "churn", 1),  # text for a metric value
        (0.7, "churn", None),  # NULL for the never-NULL version number
        (0.7, "churn", True),  # a boolean is no number
        (0.7, "churn", 1.0),  # nor is a float
    ],
)
def test_a_position_that_does_not_fit_the_sort_keys_is_invalid_page_token(after: tuple[object, ...]) -> None:
    order = compile_order(parse_order_by("metrics.auc desc", VERSION_FIELDS), "versions")

    with pytest.raises(InvalidArgument) as raised:
        after_row(order, after)

    assert raised.value.reason == "INVALID_PAGE_TOKEN"


def test_compile_order_rejects_fields_that_cannot_sort() -> None:
    with pytest.raises(InvalidArgument) as raised:
        compile_order([OrderTerm("stage")], "versions")

    assert raised.value.reason == "INVALID_ORDER_BY"


# --- Arbitrary keys and filters -----------------------------------------------------

# Strings as gRPC carries them: valid UTF-8, so no lone surrogates.
any_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(key=any_text, value=any_text)
def test_any_tag_key_and_value_is_found_exactly(scratch: Db, key: str, value: str) -> None:
    scratch.execute("DELETE FROM versions")
    for number, tags in ((1, {key: value}), (2, {key + "x": value})):
        insert_version(scratch, ("m", number, "1.0.0", 10**12, "initial", "ready", "", tags, {}, [], NOON, "", "", 0))
    equal = format_filter(Comparison(f"tags.{key}", "=", Text(value)))
    present = format_filter(Has(f"tags.{key}", Star()))

    found_equal = versions(scratch, equal)
    found_present = versions(scratch, present)

    assert found_equal == found_present == ["m/1"]


version_roots = st.sampled_from(
    [name.removesuffix(".KEY") + (".k" if name.endswith(".KEY") else "") for name in VERSION_FIELDS.names()]
)
literals = st.sampled_from(
    ['"x"', '"*"', '"a*b"', "1", "-2.5", "1e300", "true", "READY", "*", '"2026-01-01T00:00:00Z"', '"1.2.3"', '"%_\\\\"']
)
conditions = st.builds(
    lambda field, op, value: f"{field} {op} {value}" if op != ":" else f"{field}:{value}",
    version_roots,
    st.sampled_from(["=", "!=", "<", ">=", ":"]),
    literals,
)
filters = st.lists(st.tuples(st.sampled_from(["", "NOT ", "-"]), conditions), min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from([" AND ", " OR ", " "]).map(
        lambda joiner: joiner.join(prefix + condition for prefix, condition in parts)
    )
)


@settings(max_examples=150, deadline=None)
@given(filters)
def test_every_accepted_filter_runs_on_each_backend(catalog: Db, filter_text: str) -> None:
    try:
        parse_filter(filter_text, VERSION_FIELDS)
    except InvalidArgument:
        return  # rejected with a message: the other tests check those

    rows = versions(catalog, filter_text, order_by="metrics.auc desc, params.k, tags.k desc", limit=3)

    assert len(rows) <= 3


# --- Measurement (by hand, never asserted) --------------------------------------------


def fill_synthetic(connection: Db, versions_count: int = 100_000, metrics_per_version: int = 10) -> None:
    """100 models x N/100 versions; 10 metric keys over two splits; a production holder per model."""
    connection.execute(
        """
        INSERT INTO versions (model, number, semver, semver_key, change_kind, status, tags, params, datasets,
                              create_time, update_time, revision)
        SELECT 'm' || (i % 100), i // 100 + 1, '1.' || (i % 50) || '.0', 10^12 + (i % 50) * 10^6, 'data',
               CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'ready' END,
               '{"team":"' || CASE WHEN i % 3 = 0 THEN 'risk' ELSE 'growth' END || '"}',
               '{"lr":"' || (i % 10) / 100.0 || '"}',
               '[{"name":"ds' || (i % 20) || '","version":"v1","uri":""}]',
               TIMESTAMP '2026-01-01' + to_seconds(i), TIMESTAMP '2026-01-01' + to_seconds(i), i
        FROM range(?) r(i)
        """,
        [versions_count],
    )
    connection.execute(
        """
        INSERT INTO metric_summary (model, number, key, split, value, time)
        SELECT 'm' || (i % 100), i // 100 + 1,
               ['auc','loss','f1','acc','precision','recall','mae','rmse','r2','ks'][(j % 10) + 1],
               ['test','val'][(j % 2) + 1], random(), now()
        FROM range(?) r(i), range(?) s(j)
        """,
        [versions_count, metrics_per_version],
    )
    connection.execute("INSERT INTO stage_holders SELECT 'm' || i, 'production', false, 5 FROM range(100) r(i)")


def measure(connection: Db, repeats: int = 7) -> list[tuple[str, float, float]]:
    """Best-of-N milliseconds for a 50-row page per filter, next to the plain page query (the floor)."""
    cases = [
        ("(floor) no filter, name order", "", "name"),
        ("metrics.auc > 0.9", "metrics.auc > 0.9", "name"),
        ("metrics.auc > 0.9, sorted by it", "metrics.auc > 0.9", "metrics.auc desc"),
        ("sort by metrics.auc only", "", "metrics.auc desc"),
        ('tags.team = "risk" AND metrics.auc > 0.9', 'tags.team = "risk" AND metrics.auc > 0.9', ""),
        ("params.lr < 0.05", "params.lr < 0.05", ""),
        ("stage = production", "stage = production", ""),
        ('dataset = "ds3"', 'dataset = "ds3"', ""),
        ('create_time > "2026-01-02T00:00:00Z"', 'create_time > "2026-01-02T00:00:00Z"', "create_time desc"),
        ("NOT metrics:loss OR status = failed", "NOT metrics:loss OR status = failed", ""),
    ]
    figures = []
    floor = 0.0
    for label, filter_text, order_by in cases:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            versions(connection, filter_text, order_by, limit=50, offset=0)
            best = min(best, time.perf_counter() - started)
        floor = floor or best
        figures.append((label, best * 1000, best / floor))
    return figures


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        catalog_connection = create_catalog(Path(directory) / "bench.duckdb")
        started = time.perf_counter()
        fill_synthetic(catalog_connection)
        print(f"filled 100k versions / 1M metric rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for label, millis, ratio in measure(catalog_connection):
            print(f"{label:45s} {millis:8.1f} ms  {ratio:5.1f}x floor")


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('format.format = "gguf"', {"fraud/2"}),
        ("format.parameters > 1e9", {"fraud/2"}),
        ("format.parameters < 1000", {"fraud/3", "churn/1", "churn/2"}),
        ("format.parameters:*", {"fraud/1", "fraud/2", "churn/2"}),
        ('format.architecture = "llama"', {"fraud/2"}),
        ('format.dtype = "f32"', {"fraud/1", "fraud/2"}),
        ('format.dtype = "Q4*"', {"fraud/2"}),
        ('format.dtype != "F32"', {"fraud/3", "churn/1", "churn/2"}),
        ("format.dtype:*", {"fraud/1", "fraud/2", "churn/2"}),
        ('format.format = "huggingface" OR format.architecture = "llama"', {"fraud/2", "churn/2"}),
    ],
)
def test_format_record_filters_select_exactly(catalog, filter_text: str, expected: set[str]) -> None:
    assert set(versions(catalog, filter_text)) == expected


def test_versions_sort_by_parameters(catalog) -> None:
    assert versions(catalog, "format.parameters > 0", "format.parameters desc") == ["fraud/2", "fraud/1", "churn/2"]


# --- The two backends agree -----------------------------------------------------------


@pytest.fixture(scope="module")
def both(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Db]]:
    """The fixture rows in one catalog of each backend, side by side."""
    with open_catalog("duckdb", request, tmp_path_factory.mktemp("both") / "studbook.duckdb") as duck:
        with open_catalog("postgres", request, tmp_path_factory.mktemp("both") / "unused") as postgres:
            for db in (duck, postgres):
                fill_rows(db)
            yield [duck, postgres]


# Fields and values the fixture rows hold, so that filters select some rows and not others.
data_fields = st.sampled_from([
    "model", "number", "semver", "status", "change_kind", "description", "created_by", "tags.team", "tags.prod",
    "params.lr", "metrics.auc", "metrics.loss", "stage", "alias", "dataset", "format", "format.format",
    "format.parameters", "format.architecture", "format.dtype", "create_time", "total_size", "name",
])  # fmt: skip
data_literals = st.sampled_from([
    '"risk"', '"growth"', '"0.1"', "0.1", "0.001", "0.9", "1", "2", '"fraud"', '"*raud*"', '"ready"', '"READY"',
    '"production"', '"F32"', '"f32"', '"Q4*"', '"transactions"', '"crm"', '"2026-02-01T00:00:00Z"', "1000",
    '"1.1.0"', '"2.0.0"', '"Churn*"', '"*BIG*"', '"*fraud model*"', '"onnx"', '"llama"', "*", '"%_\\\\"',
])  # fmt: skip
data_conditions = st.builds(
    lambda field, op, value: f"{field} {op} {value}" if op != ":" else f"{field}:{value}",
    data_fields, st.sampled_from(["=", "!=", "<", ">=", ":"]), data_literals,
)  # fmt: skip
data_filters = st.lists(st.tuples(st.sampled_from(["", "NOT "]), data_conditions), min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from([" AND ", " OR "]).map(lambda joiner: joiner.join(p + c for p, c in parts))
)
data_orders = st.lists(
    st.tuples(st.sampled_from(["metrics.auc", "params.lr", "tags.team", "semver", "description", "create_time",
                               "format.parameters", "name", "status"]), st.sampled_from(["", " desc"])),
    max_size=2, unique_by=lambda term: term[0],
).map(lambda terms: ", ".join(field + direction for field, direction in terms))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(filter_text=data_filters, order_by=data_orders)
def test_any_filter_and_order_select_the_same_rows_in_the_same_order_on_both_backends(
    both: list[Db], filter_text: str, order_by: str
) -> None:
    try:
        parse_filter(filter_text, VERSION_FIELDS)
    except InvalidArgument:
        return  # refused before any SQL: the same on both

    duck, postgres = (versions(db, filter_text, order_by) for db in both)

    assert duck == postgres
