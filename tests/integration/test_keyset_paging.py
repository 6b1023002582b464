"""Keyset page tokens: walking every page gives exactly the unpaged listing, whatever the order.

A page token carries the sort keys of the last row it returned; the next page seeks past
them. These tests walk pages on a real catalog file (random rows with ties and NULLs in
every sort column) and over real gRPC (rows inserted mid-walk, tampered tokens).

Run this file directly (`PYTHONPATH=tests python tests/integration/test_keyset_paging.py`)
to print the cost of page 1 against pages 100 and 1000 over 100k versions, by token and by offset.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import pytest
from bench.seed import seed_catalog
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.app.paging import KeysetToken, PageToken
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.fields import MODEL_FIELDS, VERSION_FIELDS
from studbook.daemon.domain.filter import parse_filter, quote
from studbook.daemon.domain.ordering import OrderTerm, format_order_by, parse_order_by
from studbook.daemon.store import query as sql
from studbook.daemon.store.catalog import Catalog, Page
from studbook.daemon.store.interface import Store
from studbook.v1 import registry_pb2, resources_pb2
from support.rpc import error_info, register, stubs

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Few distinct values per column, so sort keys tie often; None leaves the key out (a NULL key).
TIMES = [T0, T0 + timedelta(microseconds=1), T0 + timedelta(days=40, microseconds=250)]
METRIC_VALUES = [0.5, 0.7, 0.0, -0.0, 1e300, -2.5]
# Numeric params tie by value ("0.1", "0.10", "1e-1") and then sort as text; "nan", "inf"
# and "-0" are numbers to DuckDB's TRY_CAST too.
PARAM_VALUES = ["0.1", "0.10", "1e-1", "abc", "nan", "inf", "-0", "0", "", "Z"]
TAG_VALUES = ["", "risk", "Risk", "ads", "é"]
VERSION_ORDER_FIELDS = [
    "number", "name", "model", "semver", "status", "change_kind", "description", "format", "total_size",
    "create_time", "update_time", "created_by", "metrics.auc", "metrics.loss", "metrics.absent", "tags.team",
    "params.lr",
]  # fmt: skip
MODEL_ORDER_FIELDS = ["name", "description", "owner", "state", "tags.team", "create_time", "update_time"]
EVERYTHING = 100_000


# --- A real catalog, refilled per example ----------------------------------------------


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def catalog(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One catalog on each backend for the module; each example replaces its rows (a catalog per
    example is slow)."""
    if request.param == "duckdb":
        opened: Store = Catalog(tmp_path_factory.mktemp("keyset") / "studbook.duckdb")
        yield opened
        opened.close()
        return
    from support.postgres import TEMPLATE, open_catalog

    server = request.getfixturevalue("postgres_server")
    database = server.create_database(template=TEMPLATE)
    opened = open_catalog(database.url)
    yield opened
    opened.close()
    server.drop_database(database.name)


class Rows(NamedTuple):
    """Rows for one table: column -> DuckDB type, the rows as dicts, and columns set to a constant."""

    table: str
    types: dict[str, str]
    rows: list[dict[str, object]]
    constants: dict[str, str]


# The DuckDB types above in PostgreSQL; the JSON columns arrive as text and are cast to jsonb.
PG_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "DOUBLE": "double precision", "TIMESTAMP": "timestamp"}
JSON_COLUMNS = {"tags", "params"}


def replace_rows(catalog: Store, tables: list[str], inserts: list[Rows]) -> None:
    """Empties `tables`, then inserts each table's rows as one JSON document (one statement a table)."""
    tx = catalog.transaction()
    tx.begin()
    try:
        for table in tables:
            tx.execute(f"DELETE FROM {table}")
        for insert in inserts:
            if insert.rows:
                names = [*insert.types, *insert.constants]
                values = [f"r.{name}" for name in insert.types] + list(insert.constants.values())
                if catalog.dialect.is_postgres:
                    values = [f"CAST({v} AS jsonb)" if v.removeprefix("r.") in JSON_COLUMNS else v for v in values]
                    shape = ", ".join(f"{name} {PG_TYPES[kind]}" for name, kind in insert.types.items())
                    tx.execute(f"INSERT INTO {insert.table} ({', '.join(names)}) SELECT {', '.join(values)} "
                               f"FROM jsonb_to_recordset(CAST(? AS jsonb)) AS r({shape})",
                               [json.dumps(insert.rows)])  # fmt: skip
                else:
                    tx.execute(f"INSERT INTO {insert.table} ({', '.join(names)}) SELECT {', '.join(values)} "
                               f"FROM (SELECT unnest(from_json(?, ?)) AS r)",
                               [json.dumps(insert.rows), json.dumps([insert.types])])  # fmt: skip
    except BaseException:
        tx.rollback()  # so one failing example does not fail every later one
        raise
    tx.commit()


def naive(time_: datetime) -> str:
    """The UTC wall time the catalog stores, as text DuckDB reads back exactly (microseconds included)."""
    return time_.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


version_row = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["a", "b", "c"]),
        "semver": st.sampled_from([(1, 0, 0), (1, 1, 0), (2, 0, 0)]),
        "change_kind": st.sampled_from(["data", "schema"]),
        "status": st.sampled_from(["ready", "failed", "archived"]),
        "description": st.sampled_from(["", "x", "X", "é"]),
        "format": st.sampled_from(["", "onnx"]),
        "total_size": st.sampled_from([0, 10, 10**12]),
        "create_time": st.sampled_from(TIMES),
        "created_by": st.sampled_from(["ana", "bob"]),
        "tags": st.dictionaries(st.just("team"), st.sampled_from(TAG_VALUES)),
        "params": st.dictionaries(st.just("lr"), st.sampled_from(PARAM_VALUES)),
        # A metric over one or two splits: it sorts by the maximum.
        "metrics": st.dictionaries(
            st.sampled_from(["auc", "loss"]), st.lists(st.sampled_from(METRIC_VALUES), min_size=1, max_size=2)
        ),
    }
)
# Lists of any length up to 30 (plain st.lists stays short), so listings span several pages.
version_rows = st.integers(0, 30).flatmap(lambda size: st.lists(version_row, min_size=size, max_size=size))


VERSION_TYPES = {
    "model": "VARCHAR", "number": "BIGINT", "semver": "VARCHAR", "semver_key": "BIGINT", "change_kind": "VARCHAR",
    "status": "VARCHAR", "description": "VARCHAR", "tags": "VARCHAR", "params": "VARCHAR",
    "create_time": "TIMESTAMP", "update_time": "TIMESTAMP", "created_by": "VARCHAR", "format": "VARCHAR",
    "total_size": "BIGINT",
}  # fmt: skip
METRIC_TYPES = {"model": "VARCHAR", "number": "BIGINT", "key": "VARCHAR", "split": "VARCHAR", "value": "DOUBLE"}
MODEL_TYPES = {
    "name": "VARCHAR", "description": "VARCHAR", "owner": "VARCHAR", "tags": "VARCHAR", "state": "VARCHAR",
    "create_time": "TIMESTAMP", "update_time": "TIMESTAMP",
}  # fmt: skip


def fill_versions(catalog: Store, rows: list[dict[str, Any]]) -> None:
    numbers: dict[str, int] = {}
    versions: list[dict[str, object]] = []
    metrics: list[dict[str, object]] = []
    for row in rows:
        number = numbers[row["model"]] = numbers.get(row["model"], 0) + 1
        major, minor, patch = row["semver"]
        versions.append({
            **{name: row[name] for name in ("model", "change_kind", "status", "description", "created_by",
                                            "format", "total_size")},
            "number": number, "semver": f"{major}.{minor}.{patch}",
            "semver_key": major * 10**12 + minor * 10**6 + patch, "tags": json.dumps(row["tags"]),
            "params": json.dumps(row["params"]), "create_time": naive(row["create_time"]),
            "update_time": naive(row["create_time"]),
        })  # fmt: skip
        for key, values in row["metrics"].items():
            metrics.extend({"model": row["model"], "number": number, "key": key, "split": f"split{index}",
                            "value": value} for index, value in enumerate(values))  # fmt: skip
    replace_rows(catalog, ["versions", "metric_summary"], [
        Rows("versions", VERSION_TYPES, versions, {"revision": "1"}),
        Rows("metric_summary", METRIC_TYPES, metrics, {"time": "now()"}),
    ])  # fmt: skip


model_row = st.fixed_dictionaries(
    {
        "description": st.sampled_from(["", "x", "y"]),
        "owner": st.sampled_from(["ana", "bob", ""]),
        "state": st.sampled_from(["active", "archived"]),
        "tags": st.dictionaries(st.just("team"), st.sampled_from(TAG_VALUES)),
        "create_time": st.sampled_from(TIMES),
    }
)
model_rows = st.integers(0, 20).flatmap(lambda size: st.lists(model_row, min_size=size, max_size=size))


def fill_models(catalog: Store, rows: list[dict[str, Any]]) -> None:
    models: list[dict[str, object]] = [
        {"name": f"m{index:02d}", "description": row["description"], "owner": row["owner"],
         "tags": json.dumps(row["tags"]), "state": row["state"], "create_time": naive(row["create_time"]),
         "update_time": naive(row["create_time"])}
        for index, row in enumerate(rows)
    ]  # fmt: skip
    replace_rows(catalog, ["models"], [Rows("models", MODEL_TYPES, models, {"stages": "'[]'", "revision": "1"})])


def order_texts(fields: list[str], nullable: list[str]) -> st.SearchStrategy[str]:
    """Random order_by text over `fields`: up to three distinct terms, mixed directions; "" is the default.

    Half the time a key that can be NULL leads, so NULLs decide page boundaries often.
    """

    def term(names: list[str]) -> st.SearchStrategy[OrderTerm]:
        return st.builds(OrderTerm, st.sampled_from(names), st.booleans())

    def distinct(terms: list[OrderTerm | None]) -> list[OrderTerm]:
        kept: dict[str, OrderTerm] = {}
        for item in terms:
            if item is not None:
                kept.setdefault(item.field, item)
        return list(kept.values())

    lists = st.tuples(st.none() | term(nullable), st.lists(term(fields), max_size=2))
    return lists.map(lambda pair: format_order_by(distinct([pair[0], *pair[1]])))


def walk(list_page: Callable[[KeysetToken], Page], query: tuple[object, ...], total: int) -> list[Any]:
    """Every page in turn, each token through its text form as a client would carry it."""
    seen: list[Any] = []
    token_text = ""
    for _ in range(total + 2):  # a walk that does not end is a failure, not a hang
        page = list_page(KeysetToken.decode(token_text, *query))
        assert page.total == total
        seen.extend(page.items)
        if page.next_after is None:
            return seen
        token_text = KeysetToken(page.next_after).encode(*query)
    raise AssertionError(f"no last page after {total + 2} pages")


# --- Walking pages gives the unpaged listing ----------------------------------------------


@settings(max_examples=120, deadline=None)
@given(
    rows=version_rows,
    order_by=order_texts(VERSION_ORDER_FIELDS, ["metrics.auc", "metrics.loss", "tags.team", "params.lr"]),
    filter_text=st.sampled_from(["", "metrics.auc > 0.6", 'tags.team = "risk" OR params:lr', "NOT status = failed"]),
    model=st.sampled_from([None, "a"]),
    show_archived=st.booleans(),
    page_size=st.integers(1, 5),
)
def test_walking_version_pages_gives_the_unpaged_listing_once_in_order(
    catalog: Store, rows: list[dict[str, Any]], order_by: str, filter_text: str, model: str | None,
    show_archived: bool, page_size: int,
) -> None:  # fmt: skip
    fill_versions(catalog, rows)
    expr = parse_filter(filter_text, VERSION_FIELDS)
    order = parse_order_by(order_by, VERSION_FIELDS)

    def list_page(token: KeysetToken, limit: int = page_size) -> Page:
        return catalog.list_versions(expr, order, model=model, show_archived=show_archived, limit=limit,
                                     offset=token.offset, after=token.after, summary_only=True)  # fmt: skip

    query = (model, filter_text, order_by, show_archived)
    unpaged = [(v.model, v.number) for v in list_page(KeysetToken(), EVERYTHING).items]
    walked = [(v.model, v.number) for v in walk(list_page, query, len(unpaged))]

    assert walked == unpaged
    assert len(set(walked)) == len(walked)


@settings(max_examples=80, deadline=None)
@given(
    rows=version_rows,
    order_by=order_texts(VERSION_ORDER_FIELDS, ["metrics.auc", "metrics.loss", "metrics.absent"]),
    filter_text=st.sampled_from(["metrics.auc > 0.6", 'tags.team = "risk" OR params:lr', "NOT status = failed"]),
    after_rows=st.integers(0, 6),
)
def test_a_filtered_search_sorted_by_metrics_finds_its_matches_first_and_lists_what_one_pass_lists(
    catalog: Store, rows: list[dict[str, Any]], order_by: str, filter_text: str, after_rows: int
) -> None:
    """A filtered search by metrics aggregates them for its matches only; rows, order, totals and
    positions are those of the statement that aggregates every version's metrics in one pass."""
    fill_versions(catalog, rows)
    where = [
        sql.compile_version_filter(parse_filter(filter_text, VERSION_FIELDS), catalog.dialect),
        sql.Fragment("v.status <> 'archived'", []),
    ]
    order = sql.compile_order(parse_order_by(order_by, VERSION_FIELDS), "versions", dialect=catalog.dialect)

    def page(filtered: bool, after: tuple[object, ...] | None) -> list[tuple[Any, ...]]:
        statement = sql.page_statement("v.model || '/' || v.number", "versions", where, order, limit=EVERYTHING,
                                       after=after, filtered=filtered)  # fmt: skip
        return catalog.query(statement.sql, statement.params)

    def shown(found: list[tuple[Any, ...]]) -> list[str]:
        # As text, where a NaN sort key equals itself; -0.0 may come back as the 0.0 it equals.
        return [repr(tuple(0.0 if isinstance(v, float) and v == 0 else v for v in row)) for row in found]

    one_pass = page(False, None)
    assert shown(page(True, None)) == shown(one_pass)
    if after_rows < len(one_pass):
        position = tuple(one_pass[after_rows][2:])
        assert shown(page(True, position)) == shown(page(False, position)) == shown(one_pass[after_rows + 1 :])


# Values whose JSON text differs from themselves (quotes, backslashes, slashes, accents, HTML
# characters, controls) next to plain ones, so both forms of a map comparison are met.
tag_texts = st.sampled_from(["risk", "Risk", "", "a b", "x/y", 'say "hi"', "back\\slash", "é", "<&>", "it's", "\t"])


@settings(max_examples=100, deadline=None)
@given(
    tags=st.lists(st.dictionaries(st.sampled_from(["team", "note"]), tag_texts), max_size=8),
    value=tag_texts,
    negated=st.booleans(),
)
def test_a_tag_equals_exactly_its_value_whatever_characters_it_holds(
    catalog: Store, tags: list[dict[str, str]], value: str, negated: bool
) -> None:
    base = {"model": "a", "semver": (1, 0, 0), "change_kind": "data", "status": "ready", "description": "",
            "format": "", "total_size": 0, "create_time": T0, "created_by": "", "params": {}, "metrics": {}}  # fmt: skip
    fill_versions(catalog, [{**base, "tags": t} for t in tags])
    text = f"tags.team = {quote(value)}"
    expr = parse_filter(f"NOT {text}" if negated else text, VERSION_FIELDS)

    found = catalog.list_versions(expr, [], model=None, show_archived=True, limit=EVERYTHING, summary_only=True)

    expected = {n for n, t in enumerate(tags, 1) if (t.get("team") == value) != negated}
    assert {v.number for v in found.items} == expected


@settings(max_examples=60, deadline=None)
@given(rows=model_rows, order_by=order_texts(MODEL_ORDER_FIELDS, ["tags.team"]), show_archived=st.booleans(),
       page_size=st.integers(1, 5))  # fmt: skip
def test_walking_model_pages_gives_the_unpaged_listing_once_in_order(
    catalog: Store, rows: list[dict[str, Any]], order_by: str, show_archived: bool, page_size: int
) -> None:
    fill_models(catalog, rows)
    order = parse_order_by(order_by, MODEL_FIELDS)

    def list_page(token: KeysetToken, limit: int = page_size) -> Page:
        return catalog.list_models(None, order, show_archived=show_archived, limit=limit, offset=token.offset,
                                   after=token.after)  # fmt: skip

    unpaged = list_page(KeysetToken(), EVERYTHING).items
    walked = walk(list_page, (order_by, show_archived), len(unpaged))

    assert walked == unpaged


def test_a_page_past_the_last_row_is_empty_and_still_counts_every_match(catalog: Store) -> None:
    fill_versions(catalog, [{"model": "a", "semver": (1, 0, 0), "change_kind": "data", "status": "ready",
                             "description": "", "format": "", "total_size": 0, "create_time": T0,
                             "created_by": "", "tags": {}, "params": {}, "metrics": {}}] * 3)  # fmt: skip
    order = parse_order_by("", VERSION_FIELDS)
    last = catalog.list_versions(None, order, model=None, show_archived=True, limit=3, summary_only=True)

    after_the_end = catalog.list_versions(None, order, model=None, show_archived=True, limit=3,
                                          after=(1, "a"), summary_only=True)  # fmt: skip

    assert last.next_after is None
    assert after_the_end.items == [] and after_the_end.total == 3


# --- Token text ---------------------------------------------------------------------------

key_values = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.datetimes(timezones=st.just(UTC)),
)


@settings(max_examples=200)
@given(st.lists(key_values, min_size=1, max_size=6))
def test_a_token_carries_its_sort_keys_back_exactly(after: list[object]) -> None:
    query = ("models/m", "", "metrics.auc desc", False)

    decoded = KeysetToken.decode(KeysetToken(tuple(after)).encode(*query), *query)

    assert decoded.after == tuple(after)
    assert [type(value) for value in decoded.after or ()] == [type(value) for value in after]


def tokenize(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def untokenize(token: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return loaded


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("koqt"), inner),
    max_leaves=8,
)
token_like_texts = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    json_values.map(lambda data: tokenize(data)),  # well-formed envelopes with anything inside
)


@settings(max_examples=300)
@given(token_like_texts)
def test_any_text_decodes_as_a_position_or_is_refused_with_invalid_page_token(text: str) -> None:
    try:
        KeysetToken.decode(text, "models/m", "", "", False)
    except InvalidArgument as error:
        assert error.reason == "INVALID_PAGE_TOKEN"


# --- Over gRPC ------------------------------------------------------------------------


@pytest.fixture
def api(shared_daemon):
    with shared_daemon.channel() as channel:
        yield stubs(channel)


def list_versions(api, model_id: str, **request: object) -> registry_pb2.ListModelVersionsResponse:
    parent = f"models/{model_id}"
    return api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent=parent, **request))


def refused(call: Callable[[], object]) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    info = error_info(raised.value)
    return raised.value.code(), info.reason, raised.value.details() or ""


@pytest.mark.parametrize("order_by", ["", "metrics.auc desc"])
def test_a_version_registered_before_the_position_does_not_shift_later_pages(api, model_id, order_by):
    for i in range(6):
        register(api, model_id, storage_uri=f"s3://b/{i}", metrics=[resources_pb2.Metric(key="auc", value=i / 10)])
    first = list_versions(api, model_id, order_by=order_by, page_size=2)
    # Newest first, and the best auc: it sorts before every row already listed.
    register(api, model_id, storage_uri="s3://b/new", metrics=[resources_pb2.Metric(key="auc", value=0.99)])

    pages = [first]
    while pages[-1].next_page_token:
        pages.append(list_versions(api, model_id, order_by=order_by, page_size=2,
                                   page_token=pages[-1].next_page_token))  # fmt: skip

    numbers = [v.number for page in pages for v in page.versions]
    assert numbers == [6, 5, 4, 3, 2, 1]
    assert [page.total_size for page in pages] == [6, 7, 7]


def test_skip_counts_from_the_position_a_token_carries(api, model_id):
    for i in range(7):
        register(api, model_id, storage_uri=f"s3://b/{i}")
    first = list_versions(api, model_id, page_size=2)

    skipped = list_versions(api, model_id, page_size=2, page_token=first.next_page_token, skip=2)
    after_skip = list_versions(api, model_id, page_size=2, page_token=skipped.next_page_token)

    assert [v.number for v in skipped.versions] == [3, 2]
    assert [v.number for v in after_skip.versions] == [1]
    assert after_skip.next_page_token == "" and after_skip.total_size == 7


def test_a_token_of_the_earlier_offset_format_carries_on_from_its_offset(api, model_id):
    for i in range(5):
        register(api, model_id, storage_uri=f"s3://b/{i}")
    legacy = PageToken(2, f"models/{model_id}", "", "number desc", False).encode()

    page = list_versions(api, model_id, order_by="number desc", page_size=2, page_token=legacy)
    rest = list_versions(api, model_id, order_by="number desc", page_size=2, page_token=page.next_page_token)

    assert [v.number for v in page.versions] == [3, 2]
    assert "k" in untokenize(page.next_page_token)
    assert [v.number for v in rest.versions] == [1]


def test_a_token_used_with_another_order_or_filter_is_refused(api, model_id):
    for i in range(3):
        register(api, model_id, storage_uri=f"s3://b/{i}", metrics=[resources_pb2.Metric(key="auc", value=i / 10)])
    token = list_versions(api, model_id, order_by="metrics.auc desc", page_size=1).next_page_token

    other_order = refused(lambda: list_versions(api, model_id, order_by="number", page_size=1, page_token=token))
    other_filter = refused(lambda: list_versions(api, model_id, order_by="metrics.auc desc", filter="number > 0",
                                                 page_size=1, page_token=token))  # fmt: skip

    assert other_order[:2] == other_filter[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
    assert "keep filter and order_by the same" in other_order[2]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda data: {**data, "k": ["not a number", *data["k"][1:]]},  # a text where a metric value goes
        lambda data: {**data, "k": data["k"][:-1]},  # a sort key left out
        lambda data: {**data, "k": [*data["k"][:-1], None]},  # NULL for the never-NULL version number
        lambda data: {**data, "k": [*data["k"][:-1], True]},  # a boolean is no version number
        lambda data: {**data, "k": [{"t": "yesterday"}, *data["k"][1:]]},  # a time that is no time
        lambda data: {**data, "k": []},
        lambda data: {"k": data["k"]},  # no query fingerprint
    ],
)
def test_a_tampered_token_is_refused_as_invalid_not_run(api, model_id, tamper):
    for i in range(3):
        register(api, model_id, storage_uri=f"s3://b/{i}", metrics=[resources_pb2.Metric(key="auc", value=i / 10)])
    token = list_versions(api, model_id, order_by="metrics.auc desc", page_size=1).next_page_token
    forged = tokenize(tamper(untokenize(token)))

    code, reason, _ = refused(lambda: list_versions(api, model_id, order_by="metrics.auc desc", page_size=1,
                                                    page_token=forged))  # fmt: skip

    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def test_a_token_that_is_no_token_is_refused(api, model_id):
    register(api, model_id)

    code, reason, details = refused(lambda: list_versions(api, model_id, page_token="not-a-token!"))

    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
    assert "not one this server issued" in details


# --- Measurement (by hand, never asserted) --------------------------------------------


def measure(path: Path, repeats: int = 5) -> None:
    """Best-of-N milliseconds of page 1 and of deep pages through the catalog, by keyset token and by offset."""
    started = time.perf_counter()
    count = seed_catalog(path, models=100, versions_per_model=1000, metrics_per_version=10)
    print(f"seeded {count:,} versions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    catalog = Catalog(path)
    for order_by in ("", "create_time", "metrics.auc desc"):
        order = parse_order_by(order_by, VERSION_FIELDS)

        def page(limit: int, after: tuple[object, ...] | None = None, offset: int = 0) -> Page:
            return catalog.list_versions(None, order, model=None, show_archived=False, limit=limit, offset=offset,
                                         after=after, summary_only=True)  # fmt: skip

        def position(rows: int) -> tuple[object, ...] | None:
            """The sort keys after the first `rows` rows, reached by walking pages as a client would."""
            after = None
            while rows:
                step = min(rows, 1000)
                after, rows = page(step, after).next_after, rows - step
            return after

        def best(call: Callable[[], object]) -> float:
            times = []
            for _ in range(repeats):
                begun = time.perf_counter()
                call()
                times.append(time.perf_counter() - begun)
            return min(times) * 1000

        for size, number in ((50, 100), (50, 1000), (1000, 100)):
            after = position((number - 1) * size)
            first = best(lambda: page(size))
            keyset = best(lambda: page(size, after))
            offset = best(lambda: page(size, offset=(number - 1) * size))
            print(
                f"order_by {order_by or '(default)':<17} page_size {size:<5} page 1 {first:6.1f} ms   "
                f"page {number:<4} by token {keyset:6.1f} ms, by offset {offset:6.1f} ms"
            )
    catalog.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        measure(Path(directory) / "bench.duckdb")
