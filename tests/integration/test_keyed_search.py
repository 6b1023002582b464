"""PostgreSQL's search from key indexes (store/keyed.py) pages exactly as the general statement does.

Random catalogs (tags, statuses, metric values in several splits) go into a DuckDB and a
PostgreSQL catalog alike; random filters of metric ranges, metric presence and tag values,
sorted by metrics, number or name, are then paged through on PostgreSQL by `keyed_search` and
on DuckDB by the general `page_statement`: the same versions, totals, sort keys and page
positions, page after page, with and without archived versions and within one model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from integration.test_query_sql import NOON, Db, insert_version, open_catalog
from studbook.daemon.domain.fields import VERSION_FIELDS
from studbook.daemon.domain.filter import Comparison, Text, format_filter, parse_filter
from studbook.daemon.domain.ordering import parse_order_by
from studbook.daemon.store import query as sql
from studbook.daemon.store.dialect import DUCKDB, POSTGRES
from studbook.daemon.store.keyed import keyed_search

PAGE = 3


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Db, Db]]:
    """An empty catalog on each backend, refilled per example."""
    with open_catalog("duckdb", request, tmp_path_factory.mktemp("keyed") / "studbook.duckdb") as duck:
        with open_catalog("postgres", request, tmp_path_factory.mktemp("keyed") / "unused") as postgres:
            yield duck, postgres


# A version: its tag `team` (or none), archived or not, and its auc and loss per split (or none).
versions_st = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.sampled_from([None, "risk", "ads"]),
        st.booleans(),
        st.dictionaries(st.sampled_from(["test", "val"]), st.sampled_from([0.1, 0.5, 0.9, 0.95])),
        st.dictionaries(st.sampled_from(["test"]), st.sampled_from([0.2, 0.9])),
    ),
    max_size=12,
)
keyed_conditions = st.sampled_from([
    "metrics.auc > 0.5", "metrics.auc >= 0.9", "metrics.auc < 0.9", "metrics.auc = 0.95", "metrics:auc",
    "metrics.loss > 0.1", "metrics.loss <= 0.2", 'tags.team = "risk"', 'tags.team = "ads"', 'tags.team = "none"',
])  # fmt: skip
keyed_filters = st.lists(keyed_conditions, min_size=1, max_size=3).map(" AND ".join)
keyed_orders = st.sampled_from([
    "metrics.auc desc", "metrics.auc", "metrics.loss desc, metrics.auc", "number desc", "name", "",
    "metrics.auc desc, number desc",
])  # fmt: skip


def fill(db: Db, rows: Sequence[tuple[Any, ...]]) -> None:
    db.execute("DELETE FROM metric_summary")
    db.execute("DELETE FROM versions")
    for number, (model, team, archived, auc, loss) in enumerate(rows, start=1):
        tags = {"team": team} if team else {}
        status = "archived" if archived else "ready"
        insert_version(db, (model, number, "1.0.0", 10**12, "initial", status, "", tags, {}, [], NOON, "", "", 0))
        for key, splits in (("auc", auc), ("loss", loss)):
            for split, value in splits.items():
                db.execute("INSERT INTO metric_summary (model, number, key, split, value, time) "
                           "VALUES (?, ?, ?, ?, ?, now())", [model, number, key, split, value])  # fmt: skip


def names(db: Db, vids: Sequence[int]) -> list[str]:
    found = dict(
        (vid, f"{model}/{number}") for vid, model, number in db.execute("SELECT vid, model, number FROM versions")
    )
    return [found[vid] for vid in vids]


def general_pages(db: Db, filter_text: str, order_by: str, model: str | None, show_archived: bool,
                  skip: int = 0) -> list[Any]:  # fmt: skip
    """Every page as the general statement gives it on DuckDB: (names, total, last keys) each."""
    expr = parse_filter(filter_text, VERSION_FIELDS)
    order = sql.compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions", dialect=DUCKDB)
    shared = sql.shared_metric_rows(expr, order, DUCKDB)
    where = [sql.compile_version_filter(expr, DUCKDB, shared)]
    if model is not None:
        where.append(sql.Fragment("v.model = ?", [model]))
    if not show_archived:
        where.append(sql.Fragment("v.status <> 'archived'", []))
    pages, after = [], None
    while True:
        statement = sql.page_statement("v.vid", "versions", where, order, limit=PAGE + 1, offset=skip, after=after,
                                       filtered=True, metric_rows=shared)  # fmt: skip
        found = db.execute(statement.sql, statement.params)
        page = found[:PAGE]
        pages.append((names(db, [row[0] for row in page]), [tuple(row[2:]) for row in page],
                      int(found[0][1]) if found else None))  # fmt: skip
        if len(found) <= PAGE:
            return pages
        after = tuple(page[-1][2:])


def keyed_pages(db: Db, filter_text: str, order_by: str, model: str | None, show_archived: bool,
                skip: int = 0) -> list[Any]:  # fmt: skip
    """The same through `keyed_search` on PostgreSQL."""
    expr = parse_filter(filter_text, VERSION_FIELDS)
    order = parse_order_by(order_by, VERSION_FIELDS)
    pages, after = [], None
    while True:
        keyed = keyed_search(expr, order, model=model, show_archived=show_archived, limit=PAGE + 1, offset=skip,
                             after=after, dialect=POSTGRES)  # fmt: skip
        assert keyed is not None, "a filter of metric ranges and tags is answered from the key indexes"
        found = db.execute(keyed.page.sql, keyed.page.params)
        page = found[:PAGE]
        pages.append((names(db, [row[0] for row in page]), [tuple(row[2:]) for row in page],
                      int(found[0][1]) if found else None))  # fmt: skip
        if not found:
            total = int(db.execute(keyed.count.sql, keyed.count.params)[0][0])
            assert total == 0 or after is not None or skip > 0
        if len(found) <= PAGE:
            return pages
        after = tuple(page[-1][2:])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=versions_st, filter_text=keyed_filters, order_by=keyed_orders, model=st.sampled_from([None, "a"]),
       show_archived=st.booleans(), skip=st.sampled_from([0, 0, 1, 4]))  # fmt: skip
def test_keyed_search_pages_as_the_general_statement_does(
    engines: tuple[Db, Db],
    rows: list[Any],
    filter_text: str,
    order_by: str,
    model: str | None,
    show_archived: bool,
    skip: int,
) -> None:
    duck, postgres = engines
    for db in engines:
        fill(db, rows)

    assert keyed_pages(postgres, filter_text, order_by, model, show_archived, skip) == general_pages(
        duck, filter_text, order_by, model, show_archived, skip
    )


def test_the_total_of_a_page_past_the_last_match_comes_from_the_count(engines: tuple[Db, Db]) -> None:
    duck, postgres = engines
    fill(postgres, [("a", "risk", False, {"test": 0.95}, {}), ("a", "risk", False, {"test": 0.5}, {})])
    keyed = keyed_search(parse_filter('tags.team = "risk"', VERSION_FIELDS), [], model=None, show_archived=False,
                         limit=10, offset=5, after=None, dialect=POSTGRES)  # fmt: skip
    assert keyed is not None

    assert postgres.execute(keyed.page.sql, keyed.page.params) == []
    assert postgres.execute(keyed.count.sql, keyed.count.params) == [(2,)]


@pytest.mark.parametrize(
    ("filter_text", "order_by"),
    [
        ('metrics.auc > 0.9 AND description = "x"', ""),  # a condition on the row itself
        ('metrics.auc > 0.9 OR tags.team = "risk"', ""),  # not an AND of key sets
        ('NOT tags.team = "risk"', ""),
        ('tags.team = "r*"', ""),  # a pattern: the index holds values, not patterns
        ("tags.team = 3", ""),  # compared as a number
        ("tags:team", ""),  # presence: a long value has no row in the index
        ("tags.team = " + json.dumps("x" * 2001), ""),  # too long for the index
        ("metrics.auc > 0.9", "create_time desc"),  # a sort key the row holds
    ],
)
def test_other_searches_take_the_general_statement(filter_text: str, order_by: str) -> None:
    expr = parse_filter(filter_text, VERSION_FIELDS)
    order = parse_order_by(order_by, VERSION_FIELDS)

    assert keyed_search(expr, order, model=None, show_archived=False, limit=10, offset=0, after=None,
                        dialect=POSTGRES) is None  # fmt: skip
    assert keyed_search(parse_filter("metrics.auc > 0.9", VERSION_FIELDS), [], model=None, show_archived=False,
                        limit=10, offset=0, after=None, dialect=DUCKDB) is None  # fmt: skip


def keyed_names(db: Db, filter_text: str, order_by: str = "") -> list[str]:
    """The versions the keyed search finds. Sorted by a metric the filter bounds below, that
    metric's range drives and the tags are tested by their codes; else a tag's rows drive."""
    keyed = keyed_search(parse_filter(filter_text, VERSION_FIELDS), parse_order_by(order_by, VERSION_FIELDS),
                         model=None, show_archived=True, limit=100, offset=0, after=None, dialect=POSTGRES)  # fmt: skip
    assert keyed is not None
    return sorted(names(db, [row[0] for row in db.execute(keyed.page.sql, keyed.page.params)]))


# Strings as gRPC carries them: valid UTF-8, so no lone surrogates (and PostgreSQL text holds no NUL).
any_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=any_text, value=any_text)
def test_any_tag_key_and_value_is_found_through_the_tag_index(engines: tuple[Db, Db], key: str, value: str) -> None:
    _, postgres = engines
    fill(postgres, [])
    for number, tags in ((1, {key: value}), (2, {key + "x": value}), (3, {key: value + "x"})):
        insert_version(postgres, ("m", number, "1.0.0", 10**12, "initial", "ready", "", tags, {}, [], NOON, "", "", 0))
        postgres.execute("INSERT INTO metric_summary (model, number, key, split, value, time) "
                         "VALUES ('m', ?, 'auc', 'test', 0.5, now())", [number])  # fmt: skip
    tag = format_filter(Comparison(f"tags.{key}", "=", Text(value)))

    assert keyed_names(postgres, tag) == ["m/1"]
    assert keyed_names(postgres, f"metrics:auc AND {tag}", "metrics.auc") == ["m/1"]


def test_the_tag_index_follows_each_change_of_a_versions_tags(engines: tuple[Db, Db]) -> None:
    _, postgres = engines
    fill(postgres, [("a", "risk", False, {"test": 0.5}, {}), ("a", "ads", False, {"test": 0.5}, {}),
                    ("b", "risk", False, {"test": 0.5}, {})])  # fmt: skip

    def found(team: str) -> list[str]:
        """The versions holding the tag, by its rows and by the codes on the metric's range alike."""
        by_rows = keyed_names(postgres, f'tags.team = "{team}"')
        assert keyed_names(postgres, f'metrics:auc AND tags.team = "{team}"', "metrics.auc") == by_rows
        return by_rows

    postgres.execute("""UPDATE versions SET tags = '{"team": "ads"}' WHERE model = 'a' AND number = 1""")
    postgres.execute("UPDATE versions SET status = 'archived' WHERE model = 'b'")  # tags as they were
    assert found("risk") == ["b/3"]
    assert found("ads") == ["a/1", "a/2"]

    postgres.execute("""UPDATE versions SET tags = '{"team": "new"}' WHERE number = 3""")  # a pair without a code yet
    assert found("new") == ["b/3"]
    assert found("risk") == []

    postgres.execute("DELETE FROM versions WHERE number = 2")
    assert found("ads") == ["a/1"]

    postgres.execute("TRUNCATE versions")
    assert found("ads") == []


def test_a_tag_value_too_long_for_the_index_is_stored_and_found_by_the_general_statement(
    engines: tuple[Db, Db],
) -> None:
    _, postgres = engines
    fill(postgres, [])
    long = "é" * 1024  # the longest value a tag may have: 2 KB of UTF-8, beyond the tag index's bound
    insert_version(postgres, ("m", 1, "1.0.0", 10**12, "initial", "ready", "", {"note": long, "team": "risk"}, {}, [],
                              NOON, "", "", 0))  # fmt: skip
    expr = parse_filter(f"tags.note = {json.dumps(long, ensure_ascii=False)}", VERSION_FIELDS)
    assert keyed_search(expr, [], model=None, show_archived=True, limit=10, offset=0, after=None,
                        dialect=POSTGRES) is None  # fmt: skip
    where = sql.compile_version_filter(expr, POSTGRES)
    statement = sql.select_statement("v.model, v.number", "versions", [where], sql.NO_ORDER)

    assert postgres.execute(statement.sql, statement.params) == [("m", 1)]
    assert keyed_names(postgres, 'tags.team = "risk"') == ["m/1"]


# A change of the metric rows or of the versions they belong to, made alike on both catalogs:
# a split's latest value replaced (as a metrics write does, which can lower a version's peak),
# a key's rows deleted, a version deleted (its metric rows before or after it, as a purge and a
# model's deletion do), model `a` renamed (versions before metric_summary, as a rename does, or
# the other way), a version's tags replaced (a value no version held before among them).
changes_st = st.lists(
    st.one_of(
        st.tuples(
            st.just("log"),
            st.integers(1, 6),
            st.sampled_from(["auc", "loss"]),
            st.sampled_from(["test", "val"]),
            st.sampled_from([0.05, 0.5, 0.9, 0.95]),
        ),
        st.tuples(st.just("forget"), st.integers(1, 6), st.sampled_from(["auc", "loss"])),
        st.tuples(st.just("delete"), st.integers(1, 6), st.booleans()),
        st.tuples(st.just("rename"), st.booleans()),
        st.tuples(st.just("retag"), st.integers(1, 6), st.sampled_from([None, "risk", "ads", "new"])),
    ),
    max_size=8,
)


def change(db: Db, step: tuple[Any, ...]) -> None:
    kind, *args = step
    if kind == "log":
        number, key, split, value = args
        db.execute("DELETE FROM metric_summary WHERE number = ? AND key = ? AND split = ?", [number, key, split])
        db.execute("INSERT INTO metric_summary (model, number, key, split, value, time) "
                   "SELECT model, number, ?, ?, ?, now() FROM versions WHERE number = ?", [key, split, value, number])  # fmt: skip
    elif kind == "forget":
        db.execute("DELETE FROM metric_summary WHERE number = ? AND key = ?", args)
    elif kind == "retag":
        number, team = args
        tags = json.dumps({"team": team} if team else {})
        db.execute(f"UPDATE versions SET tags = '{tags}' WHERE number = ?", [number])
    elif kind == "delete":
        number, metrics_first = args
        tables = ["metric_summary", "versions"] if metrics_first else ["versions", "metric_summary"]
        for table in tables:
            db.execute(f"DELETE FROM {table} WHERE number = ?", [number])
    else:
        (versions_first,) = args
        for table in ["versions", "metric_summary"] if versions_first else ["metric_summary", "versions"]:
            db.execute(f"UPDATE {table} SET model = 'c' WHERE model = 'a'")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=versions_st, changes=changes_st,
       filter_text=st.sampled_from(["metrics.auc > 0.5", "metrics:loss", 'metrics.auc >= 0.05 AND tags.team = "risk"',
                                    "metrics.loss < 0.9 AND metrics:auc", 'tags.team = "ads" AND metrics.loss > 0.1',
                                    'metrics:auc AND tags.team = "new"']),
       order_by=st.sampled_from(["metrics.auc desc", "metrics.loss desc, name", "number"]))  # fmt: skip
def test_keyed_search_follows_each_change_of_the_metrics_and_versions(
    engines: tuple[Db, Db], rows: list[Any], changes: list[tuple[Any, ...]], filter_text: str, order_by: str
) -> None:
    duck, postgres = engines
    for db in engines:
        fill(db, rows)
        for step in changes:
            change(db, step)

    assert keyed_pages(postgres, filter_text, order_by, None, True) == general_pages(
        duck, filter_text, order_by, None, True
    )
