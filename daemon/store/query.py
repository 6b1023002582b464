"""Turns List filters and order_by terms into SQL fragments with `?` parameters, for DuckDB or,
through its dialect (`store.dialect`), PostgreSQL.

User values never enter the SQL text: literals, map keys (as JSON pointers) and metric
keys all travel as parameters; only column names from the tables below are written in.

Shapes chosen by measurement (100k versions, 1M metric_summary rows, 2 cores):
- metrics, stages and aliases filter with `(v.model, v.number) IN (SELECT ...)`: an
  uncorrelated hash semi-join, about 3x faster than the correlated EXISTS form and never
  NULL, so NOT and != stay exact complements;
- sorting by a metric LEFT JOINs the per-version max over splits, about 2x faster than a
  correlated scalar subquery in ORDER BY;
- `dataset` reads the version's own `datasets` JSON (`[{"name", "version", "uri"}]`),
  which is immutable with the version, instead of joining lineage_edges through
  name strings built per row;
- a page after the first seeks past the sort keys of the previous page's last row
  (`after_row`) instead of skipping rows with OFFSET, so page 100 costs what page 1 does;
- on DuckDB, a metric sorted by that the filter bounds below (`metrics.auc > 0.9 AND ...`) is
  read from metric_summary once per statement (`MetricRows`), not once for the filter and
  once more for the sort.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Literal, NamedTuple, cast

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.fields import MODEL_FIELDS, VERSION_FIELDS, FieldKind, FieldPathError, FieldSet, FieldSpec
from studbook.daemon.domain.filter import Expr
from studbook.daemon.domain.ordering import DEFAULT_MODEL_ORDER, DEFAULT_VERSION_ORDER, OrderTerm
from studbook.daemon.domain.predicates import (
    AllOf,
    AnyOf,
    Check,
    Condition,
    Negated,
    Predicate,
    PredicateValue,
    bind_filter,
)
from studbook.daemon.store.dialect import DUCKDB, Dialect


class Fragment(NamedTuple):
    """A piece of SQL and its parameters, in the order of the `?` in `sql`."""

    sql: str
    params: list[object]


# The Python types the catalog reads sort key values as; a page token's values must match.
KeyKind = type[int] | type[float] | type[str] | type[datetime]


@dataclass(frozen=True)
class SortKey:
    """One expression of an ORDER BY list, its direction, and what its values look like."""

    expr: Fragment
    descending: bool
    # int, float, str or datetime: the type of the values DuckDB returns for `expr`.
    kind: KeyKind
    # Whether `expr` can be NULL (a missing metric, tag or param); NULLs sort last either way.
    nullable: bool
    # The metric key when `expr` is a metric's value from a join of `OrderClause.joins`.
    metric: str | None = None

    @property
    def term(self) -> Fragment:
        """`expr DESC NULLS LAST`, as it goes into ORDER BY."""
        direction = "DESC" if self.descending else "ASC"
        return Fragment(f"{self.expr.sql} {direction} NULLS LAST", self.expr.params)


@dataclass(frozen=True)
class OrderClause:
    """An ORDER BY list and the joins its sort keys need.

    In a statement `joins` goes right after `FROM versions v` (or `models m`), so its
    parameters bind after the select list's, then the WHERE parameters, then `order_by`'s.
    `select_statement` assembles that order for you. The keys always end with the
    resource's unique key, so the order is total: no two rows tie.
    """

    joins: Fragment
    keys: tuple[SortKey, ...] = ()

    @property
    def order_by(self) -> Fragment:
        return _join_list([key.term for key in self.keys])

    @property
    def key_columns(self) -> Fragment:
        """The sort key expressions as a select list, in ORDER BY order."""
        return _join_list([key.expr for key in self.keys])


@dataclass(frozen=True)
class SharedMetric:
    """A filter's `metrics.KEY > value` (or `>=`) that every match meets, whose rows a
    statement reads once, into a materialized CTE `name` of (model, number, value)."""

    key: str
    op: str
    value: object
    # Made here (`metric_rows_N`), never from user text.
    name: str


@dataclass(frozen=True)
class MetricRows:
    """The metrics a statement both filters on and sorts by, each read once (DuckDB).

    metric_summary holds every key of every version interleaved (rows are written a version
    at a time), so each `key = ?` lookup scans the whole table: no zone map prunes it. At 1M
    versions (10M rows) a search like `metrics.auc > 0.9 AND ...` sorted by metrics.auc spent
    most of its time in two such scans, one for the filter and one for the sort. When every
    match has a row of KEY above a bound, a match's maximum over splits (the sort value) is
    among its rows above the bound, so the rows the filter selects are all the sort needs:
    one scan into a CTE of ~10% of the key's rows feeds both. Measured at 1M versions,
    interleaved on one file under load: median ~250 ms against ~320 ms, with no more memory
    (a CTE of all the key's rows was about as fast but held ~35 MiB more after searches).

    What this leaves is the one scan. With metric_summary ordered by key, zone maps prune it to
    the key's row groups: the same search then measured ~95 ms and cached 12 MiB of table
    blocks instead of 46. Rows arrive a version at a time, so that order would need a
    re-clustering pass the store does not have yet.
    """

    metrics: tuple[SharedMetric, ...]

    def name(self, key: str) -> str:
        """The CTE holding the rows the sort by `key` needs; empty when it reads the table."""
        return next((metric.name for metric in self.metrics if metric.key == key), "")

    def reads(self, node: Predicate) -> str:
        """The CTE holding exactly the versions `node` matches, or empty when none does."""
        for metric in self.metrics:
            if (node.check is Check.COMPARE and (node.key, node.op, node.value) == (metric.key, metric.op, metric.value)
                    and type(node.value) is type(metric.value)):  # fmt: skip
                return metric.name
        return ""

    @property
    def definitions(self) -> Fragment:
        """`name AS MATERIALIZED (...)`, comma-separated, as they go into a WITH clause."""
        return _join_list([
            Fragment(f"{metric.name} AS MATERIALIZED (SELECT ms.model, ms.number, ms.value FROM metric_summary ms "
                     f"WHERE ms.key = ? AND ms.value {metric.op} ?)", [metric.key, metric.value])
            for metric in self.metrics
        ])  # fmt: skip


def shared_metric_rows(expr: Expr | None, order: OrderClause, dialect: Dialect = DUCKDB) -> MetricRows | None:
    """The metrics `order` sorts by that `expr` requires above a bound (see `MetricRows`), to be
    read once; None when there are none.

    Only a condition every match must meet qualifies: one ANDed at the top of the filter, not
    negated, with `>` or `>=` (with `<`, `=` or presence, a version's maximum may lie among
    its other rows). Only on DuckDB: PostgreSQL finds a key's rows through an index, so a
    second lookup costs little there.
    """
    if expr is None or dialect.is_postgres:
        return None
    sorted_by = {key.metric for key in order.keys if key.metric is not None}
    metrics: list[SharedMetric] = []
    for node in conjuncts(bind_filter(expr, VERSION_FIELDS)):
        if (isinstance(node, Predicate) and node.field.kind is FieldKind.METRICS and node.check is Check.COMPARE
                and node.op in (">", ">=") and node.key in sorted_by
                and all(metric.key != node.key for metric in metrics)):  # fmt: skip
            metrics.append(SharedMetric(node.key, comparison_operator(node), node.value, f"metric_rows_{len(metrics)}"))
    return MetricRows(tuple(metrics)) if metrics else None


# The versions holding a tag with a value are read from `version_tags` (PostgreSQL migrations 8
# and 14) by PostgreSQL's search from key indexes (store/keyed.py). Only there: in a filter that
# also tests the row itself, the planner chose that semi-join where testing the row's tags was
# ~5x faster (a tag most versions hold, with a narrow row condition), so the general statement
# tests versions.tags as DuckDB does. `version_tags` has a row for each tag whose key and value
# take at most TAG_INDEX_MAX_BYTES of UTF-8 together, the bound its triggers apply (a btree
# entry holds ~2.7 KB; a tag value may take 4 KB).
TAG_INDEX_MAX_BYTES = 2000


def tag_in_index(node: Predicate) -> bool:
    """Whether `node` is a `tags.KEY = "text"` that the tag index answers exactly: every
    version whose tag KEY is that text has its row there, so the index's answer is the column's."""
    return (node.field.name == "tags" and node.check is Check.COMPARE and node.op == "=" and not node.numeric
            and isinstance(node.value, str) and node.key is not None
            and len(node.key.encode()) + len(node.value.encode()) <= TAG_INDEX_MAX_BYTES)  # fmt: skip


def conjuncts(node: Condition) -> list[Condition]:
    """The conditions ANDed at the top of a bound filter: each holds for every match."""
    if isinstance(node, AllOf):
        return [part for item in node.items for part in conjuncts(item)]
    return [node]


@dataclass(frozen=True)
class _Table:
    fields: FieldSet
    source: str
    alias: str
    # Field name -> the SQL that holds its value; only these strings become SQL text.
    columns: dict[str, str]
    # Field name -> sort expressions and their value types, where sorting differs from comparing.
    sort_columns: dict[str, tuple[tuple[str, KeyKind], ...]] = field(default_factory=dict)
    # The primary key, appended to every ORDER BY so the order is total and paging stable.
    tiebreak: tuple[tuple[str, KeyKind], ...] = ()


_VERSION_NAME = "('models/' || v.model || '/versions/' || CAST(v.number AS VARCHAR))"


@cache
def _versions_table(dialect: Dialect) -> _Table:
    return _Table(
        fields=VERSION_FIELDS,
        source="versions",
        alias="v",
        columns={
            "name": _VERSION_NAME,
            "semver_key": "v.semver_key",
            "datasets": "v.datasets",
            "format.format": f"coalesce({dialect.json_field('v.format_info', 'format')}, '')",
            "format.parameters": "v.format_parameters",
            "format.architecture": "v.format_architecture",
            "format.framework": "v.format_framework",
            "format.dtype": "v.format_dtypes",
            "run_id": f"coalesce({dialect.json_field('v.run', 'run_id')}, '')",
            **{
                name: f"v.{name}"
                for name in (
                    "model",
                    "number",
                    "semver",
                    "change_kind",
                    "status",
                    "status_reason",
                    "description",
                    "created_by",
                    "created_from",
                    "format",
                    "storage_uri",
                    "content_digest",
                    "total_size",
                    "create_time",
                    "update_time",
                    "tags",
                    "params",
                )
            },
        },
        sort_columns={"name": (("v.model", str), ("v.number", int)), "semver": (("v.semver_key", int),)},
        tiebreak=(("v.model", str), ("v.number", int)),
    )


_VERSIONS = _versions_table(DUCKDB)
_MODELS = _Table(
    fields=MODEL_FIELDS,
    source="models",
    alias="m",
    columns={
        "name": "('models/' || m.name)",
        **{name: f"m.{name}" for name in ("description", "owner", "state", "tags", "create_time", "update_time")},
    },
    sort_columns={"name": (("m.name", str),)},
    tiebreak=(("m.name", str),),
)
_TABLES = {"versions": _VERSIONS, "models": _MODELS}


def _table(resource: Literal["versions", "models"], dialect: Dialect) -> _Table:
    return _versions_table(dialect) if resource == "versions" else _MODELS


_TRUE = Fragment("TRUE", [])
# For statements that need no ordering (counts).
NO_ORDER = OrderClause(Fragment("", []))
_ESCAPE = "ESCAPE '\\'"
_OPERATORS = frozenset({"=", "<", "<=", ">", ">="})
# Text every JSON writer puts between quotes as it is: printable ASCII but the quote and the
# backslash (always escaped), the slash and the HTML-special <, >, & and ' (escaped by some).
_PLAIN_JSON_TEXT = re.compile(r"[A-Za-z0-9 _.,:;@+=!#$%()*?^`{|}~\[\]-]*")
# Scalar columns sort as they are stored (all NOT NULL in the schema); NAME and SEMVER use sort_columns.
_SCALAR_KINDS: dict[FieldKind, KeyKind] = {
    FieldKind.STRING: str,
    FieldKind.ENUM: str,
    FieldKind.INT: int,
    FieldKind.TIMESTAMP: datetime,
}


def compile_version_filter(
    expr: Expr | None, dialect: Dialect = DUCKDB, metric_rows: MetricRows | None = None
) -> Fragment:
    """A WHERE condition over `versions v` (and the tables it reaches); TRUE for no filter.

    With `metric_rows`, the metrics it names are read from their CTEs, so the condition only
    runs in a statement that defines them (`select_statement` or `page_statement` given the same).
    """
    return _compile_filter(expr, _versions_table(dialect), dialect, metric_rows)


def compile_model_filter(expr: Expr | None, dialect: Dialect = DUCKDB) -> Fragment:
    """A WHERE condition over `models m`; TRUE for no filter."""
    return _compile_filter(expr, _MODELS, dialect)


def compile_order(
    terms: Sequence[OrderTerm],
    resource: Literal["versions", "models"],
    default: Sequence[OrderTerm] | None = None,
    dialect: Dialect = DUCKDB,
) -> OrderClause:
    """ORDER BY for `terms` (or `default`, or the resource's default when empty).

    NULLs (a missing metric, tag or param) sort last in both directions, and the
    resource's unique key always ends the list so paging never skips or repeats rows.
    Metrics sort by their maximum over splits.
    """
    table = _table(resource, dialect)
    if not terms:
        resource_default = DEFAULT_VERSION_ORDER if resource == "versions" else DEFAULT_MODEL_ORDER
        terms = default if default is not None else resource_default
    joins: list[str] = []
    join_params: list[object] = []
    keys: list[SortKey] = []

    def add(sql: str, params: list[object], descending: bool, kind: KeyKind, nullable: bool,
            metric: str | None = None) -> None:  # fmt: skip
        # A key equal to an earlier one never decides anything (`name, number` repeats
        # v.number); dropping it keeps ORDER BY and the page token's seek condition short.
        if kind is str:
            sql = dialect.text_order(sql)
        if not any(key.expr == Fragment(sql, params) for key in keys):
            keys.append(SortKey(Fragment(sql, params), descending, kind, nullable, metric))

    for index, term in enumerate(terms):
        spec, key = _sort_field(table, term)
        if spec.kind is FieldKind.METRICS:
            alias = f"sort_{index}"
            joins.append(_metric_join(alias, table.alias))
            join_params.append(key)
            add(f"{alias}.value", [], term.descending, float, True, metric=key)
        elif spec.kind is FieldKind.STRING_MAP:
            value = dialect.json_text(table.columns[spec.name])
            pointer = dialect.json_key(key or "")
            if spec.name == "params":
                # Params hold numbers as text: sort the numeric ones by value, then the rest as text.
                number, params = dialect.to_double(value, [pointer])
                add(number, params, term.descending, float, True)
            add(value, [pointer], term.descending, str, True)
        elif spec.name in table.sort_columns:
            for column, kind in table.sort_columns[spec.name]:
                add(column, [], term.descending, kind, False)
        else:
            add(table.columns[spec.name], [], term.descending, _SCALAR_KINDS[spec.kind], False)
    for column, kind in table.tiebreak:
        add(column, [], False, kind, False)
    return OrderClause(Fragment(" ".join(joins), join_params), tuple(keys))


def after_row(order: OrderClause, values: Sequence[object]) -> Fragment:
    """A condition that holds for the rows sorting strictly after a row whose sort keys were `values`.

    DuckDB's row values cannot say this: `(a, b) > (c, d)` compares every field in one
    direction and ranks NULL above any value (checked on 1.5.5), so mixed directions
    and DESC NULLS LAST need the expanded form `k1 after c1 OR (k1 = c1 AND (k2 after
    c2 OR ...))`. With NULLs last, "after c" is `k > c OR k IS NULL` (`<` for DESC),
    and nothing sorts after a NULL at its own level, which reduces to `k IS NULL AND (...)`.
    `values` come from a page token, so they are checked against the keys first: a
    token that does not fit is INVALID_ARGUMENT, never a failed query.
    """
    keys = order.keys
    if len(values) != len(keys) or not all(_fits(key, value) for key, value in zip(keys, values)):
        raise InvalidArgument(
            "page_token does not fit this listing; start the listing again without a page_token",
            reason="INVALID_PAGE_TOKEN",
            field="page_token",
        )
    condition: Fragment | None = None  # None: FALSE, nothing after the last key
    for key, value in reversed(list(zip(keys, values))):
        expr = key.expr
        if value is None:
            # Only NULLs equal a NULL cursor here; nothing sorts after it on this key.
            condition = None if condition is None else _and(Fragment(f"{expr.sql} IS NULL", expr.params), condition)
            continue
        operator = "<" if key.descending else ">"
        after = Fragment(f"{expr.sql} {operator} ?", [*expr.params, value])
        if key.nullable:
            after = Fragment(f"({after.sql} OR {expr.sql} IS NULL)", [*after.params, *expr.params])
        if condition is not None:
            equal = Fragment(f"{expr.sql} = ?", [*expr.params, value])
            after = Fragment(f"({after.sql} OR {_and(equal, condition).sql})",
                             [*after.params, *equal.params, *condition.params])  # fmt: skip
        condition = after
    if condition is None:
        # Unreachable with a NOT NULL tie-breaker; kept so the function is total.
        return Fragment("FALSE", [])
    return condition


def select_statement(
    columns: str | Fragment,
    resource: Literal["versions", "models"],
    where: Sequence[Fragment],
    order: OrderClause,
    *,
    limit: int | None = None,
    offset: int = 0,
    metric_rows: MetricRows | None = None,
) -> Fragment:
    """`SELECT columns FROM versions v <joins> WHERE ... ORDER BY ... LIMIT ? OFFSET ?`.

    `columns` is trusted SQL (written by the store, never by a user), with its own
    parameters when it is a Fragment; `where` holds the compiled filter and any
    conditions of the caller's own, all ANDed. `metric_rows` defines the CTEs a filter
    compiled with them reads.
    """
    table = _TABLES[resource]
    conditions = [fragment for fragment in where if fragment.sql != "TRUE"] or [_TRUE]
    selected = columns if isinstance(columns, Fragment) else Fragment(columns, [])
    sql = f"SELECT {selected.sql} FROM {table.source} {table.alias}"
    params: list[object] = list(selected.params)
    if metric_rows is not None:
        definitions = metric_rows.definitions
        sql = f"WITH {definitions.sql} {sql}"
        params[:0] = definitions.params
    if order.joins.sql:
        sql += f" {order.joins.sql}"
        params.extend(order.joins.params)
    sql += " WHERE " + " AND ".join(f"({fragment.sql})" for fragment in conditions)
    for fragment in conditions:
        params.extend(fragment.params)
    if order.keys:
        order_by = order.order_by
        sql += f" ORDER BY {order_by.sql}"
        params.extend(order_by.params)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params.extend([limit, offset])
    return Fragment(sql, params)


def page_statement(
    row_id: str,
    resource: Literal["versions", "models"],
    where: Sequence[Fragment],
    order: OrderClause,
    *,
    limit: int,
    offset: int = 0,
    after: Sequence[object] | None = None,
    filtered: bool = False,
    metric_rows: MetricRows | None = None,
    dialect: Dialect = DUCKDB,
) -> Fragment:
    """One page of row ids: the rows after the sort keys `after` (from the start when
    None), then `offset` rows further, at most `limit`.

    `filtered` says `where` holds a caller's filter, which usually matches a small part of
    the rows: then a sort by metrics aggregates them for the matches only (see
    `_matched_page_statement`). Without one, aggregating every row at once is cheaper.

    Each result row is (row_id, how many rows `where` matches in all, *sort keys): one
    statement, so one snapshot, gives both the page and a total that does not depend
    on the position. The total is an uncorrelated scalar subquery, not `count(*) OVER
    ()`: on DuckDB 1.5.5 that window over a filtered input races between threads and
    now and then fails with an internal error that invalidates the whole database
    (duckdb/duckdb#25713; reproduced here with a metrics filter). The subquery costs
    about what the window did (measured at 100k versions).

    `metric_rows` (from `shared_metric_rows`, with `where` compiled against it) has the metrics
    the filter bounds and the sort reads read once.
    """
    if filtered and any(key.metric is not None for key in order.keys):
        return _matched_page_statement(row_id, resource, where, order, limit=limit, offset=offset, after=after,
                                       metric_rows=metric_rows, dialect=dialect)  # fmt: skip
    keys = order.key_columns
    count = select_statement("count(*)", resource, where, NO_ORDER)
    columns = Fragment(f"{row_id}, ({count.sql}), {keys.sql}", [*count.params, *keys.params])
    seek = [after_row(order, after)] if after is not None else []
    return select_statement(columns, resource, [*where, *seek], order, limit=limit, offset=offset,
                            metric_rows=metric_rows)  # fmt: skip


def _metric_join(alias: str, rows: str, within: str = "", source: str = "", dialect: Dialect = DUCKDB) -> str:
    """A LEFT JOIN of each row's metric value (its maximum over splits) for one key, a parameter.

    `within` names a relation of (model, number) that limits the aggregation to those rows.
    `source` names a relation holding the key's rows already (see `MetricRows`): then the key
    is no parameter.
    """
    if within and dialect.is_postgres:
        # Each match's value looked up through the metric_summary_version index. PostgreSQL
        # guesses a materialized CTE's size blindly, planned the join below as a sort of every
        # row of the key, and at 100k versions took ~0.4 s where these lookups take a few ms.
        return (
            f"LEFT JOIN LATERAL (SELECT max(ms.value) AS value FROM metric_summary ms "
            f"WHERE ms.model = {rows}.model AND ms.number = {rows}.number AND ms.key = ?) AS {alias} ON true"
        )
    if within:
        # A join, not an IN: its hash table is built on the smaller side, which at a few matches
        # is them and at most matches is still one pass; grouped and joined back by the integer vid.
        metric_rows, of_key = (source, "") if source else ("metric_summary", " WHERE ms.key = ?")
        return (
            f"LEFT JOIN (SELECT w.vid, max(ms.value) AS value FROM {within} w JOIN {metric_rows} ms "
            f"ON ms.model = w.model AND ms.number = w.number{of_key} GROUP BY w.vid) AS {alias} "
            f"ON {alias}.vid = {rows}.vid"
        )
    return (
        f"LEFT JOIN (SELECT ms.model, ms.number, max(ms.value) AS value FROM metric_summary ms "
        f"WHERE ms.key = ? GROUP BY ms.model, ms.number) AS {alias} "
        f"ON {alias}.model = {rows}.model AND {alias}.number = {rows}.number"
    )


def _matched_page_statement(
    row_id: str,
    resource: Literal["versions", "models"],
    where: Sequence[Fragment],
    order: OrderClause,
    *,
    limit: int,
    offset: int,
    after: Sequence[object] | None,
    metric_rows: MetricRows | None = None,
    dialect: Dialect = DUCKDB,
) -> Fragment:
    """`page_statement` for an order by metrics: the rows `where` matches are found once, into
    a materialized CTE, and only they are counted, have their metrics aggregated and are sorted.

    At 1M versions a metric sort otherwise aggregates the metric of every version before the
    filter cuts them down, and evaluates the filter twice (once more for the total): measured
    ~270 ms against ~130 ms this way for a metric and tag filter matching 3% of the versions.
    With no filter (every version matches) this form was measured ~1.5x slower: the matches
    are materialized and joined twice over.
    """
    table = _TABLES[resource]
    conditions = [fragment for fragment in where if fragment.sql != "TRUE"] or [_TRUE]
    inner: list[Fragment] = [Fragment(f"{row_id} AS row_id", []),
                             Fragment(f"{table.alias}.vid, {table.alias}.model, {table.alias}.number", [])]  # fmt: skip
    joins: list[Fragment] = []
    keys: list[SortKey] = []
    for index, key in enumerate(order.keys):
        if key.metric is not None:
            alias = f"sort_{index}"
            source = metric_rows.name(key.metric) if metric_rows else ""
            joins.append(Fragment(_metric_join(alias, "hit", within="matched", source=source, dialect=dialect),
                                  [] if source else [key.metric]))  # fmt: skip
            projected = f"{alias}.value"
        else:
            inner.append(Fragment(f"{key.expr.sql} AS k{index}", key.expr.params))
            projected = f"hit.k{index}"
        keys.append(replace(key, expr=Fragment(projected, [])))
    projected_order = OrderClause(Fragment("", []), tuple(keys))
    selected = _join_list(inner)
    condition = _join(" AND ", conditions)
    definitions = metric_rows.definitions if metric_rows else Fragment("", [])
    params: list[object] = [*definitions.params, *selected.params, *condition.params]
    sql = (
        f"WITH {definitions.sql + ', ' if definitions.sql else ''}"
        f"matched AS MATERIALIZED (SELECT {selected.sql} FROM {table.source} {table.alias} "
        f"WHERE {condition.sql}) "
        f"SELECT hit.row_id, (SELECT count(*) FROM matched), {projected_order.key_columns.sql} FROM matched hit"
    )
    for join in joins:
        sql += f" {join.sql}"
        params.extend(join.params)
    if after is not None:
        seek = after_row(projected_order, after)
        sql += f" WHERE {seek.sql}"
        params.extend(seek.params)
    sql += f" ORDER BY {projected_order.order_by.sql} LIMIT ? OFFSET ?"
    params.extend([limit, offset])
    return Fragment(sql, params)


def _compile_filter(expr: Expr | None, table: _Table, dialect: Dialect,
                    metric_rows: MetricRows | None = None) -> Fragment:  # fmt: skip
    if expr is None:
        return _TRUE
    return _Compiler(table, dialect, metric_rows).condition(bind_filter(expr, table.fields))


def _sort_field(table: _Table, term: OrderTerm) -> tuple[FieldSpec, str | None]:
    try:
        ref = table.fields.resolve(term.field, sortable=True)
    except FieldPathError as error:
        raise InvalidArgument(f"order_by: {error.message}", reason="INVALID_ORDER_BY", field=term.field[:100]) from None
    if not ref.spec.sortable or (ref.spec.keyed and ref.key is None):
        raise InvalidArgument(
            f"order_by: cannot sort by {term.field[:100]}", reason="INVALID_ORDER_BY", field=term.field[:100]
        )
    return ref.spec, ref.key


class _Compiler:
    """One bound condition tree -> one SQL condition; every leaf is TRUE or FALSE, never NULL."""

    def __init__(self, table: _Table, dialect: Dialect, metric_rows: MetricRows | None = None) -> None:
        self.table = table
        self.dialect = dialect
        self.metric_rows = metric_rows
        self.key = f"({table.alias}.model, {table.alias}.number)"

    def condition(self, node: Condition) -> Fragment:
        if isinstance(node, AllOf):
            return _join(" AND ", [self.condition(item) for item in node.items])
        if isinstance(node, AnyOf):
            return _join(" OR ", [self.condition(item) for item in node.items])
        if isinstance(node, Negated):
            inner = self.condition(node.item)
            return Fragment(f"NOT ({inner.sql})", inner.params)
        kind = node.field.kind
        if kind is FieldKind.METRICS:
            return self.metric(node)
        if kind is FieldKind.MEMBERSHIP:
            if node.field.name == "format.dtype":
                return self.dtype(node)
            return self.dataset(node) if node.field.name == "dataset" else self.stage(node)
        if kind is FieldKind.STRING_MAP:
            return self.map_value(node)
        return self.scalar(node)

    def scalar(self, node: Predicate) -> Fragment:
        column = self.table.columns[node.field.name]
        kind = node.field.kind
        if node.check is Check.PRESENT:
            if node.field.name == "format.parameters":
                return Fragment(f"{column} > 0", [])  # 0 means the readers found no count
            if kind in (FieldKind.INT, FieldKind.TIMESTAMP):
                return Fragment(f"{column} IS NOT NULL", [])
            return Fragment(f"{column} <> ''", [])
        if node.check is Check.MATCH:
            return Fragment(f"{column} LIKE ? {_ESCAPE}", [_like(node.value)])
        if node.check is Check.CONTAINS:
            return Fragment(f"{column} ILIKE ? {_ESCAPE}", [_contains(node.value)])
        if kind is FieldKind.TIMESTAMP and isinstance(node.value, datetime):
            # Times are stored as UTC TIMESTAMP; the literal is already UTC, so compare its wall
            # time. Text, because binding a tz-aware datetime would need pytz in the driver.
            wall_time = node.value.astimezone(UTC).replace(tzinfo=None).isoformat()
            return Fragment(f"{column} {comparison_operator(node)} CAST(? AS TIMESTAMP)", [wall_time])
        if kind is FieldKind.SEMVER and isinstance(node.value, int):
            return Fragment(f"{self.table.columns['semver_key']} {comparison_operator(node)} ?", [node.value])
        return Fragment(f"{column} {comparison_operator(node)} ?", [node.value])

    def map_value(self, node: Predicate) -> Fragment:
        column = self.table.columns[node.field.name]
        pointer = self.dialect.json_key(node.key or "")
        if node.check is Check.PRESENT:
            return Fragment(self.dialect.json_has(column), [pointer])
        value = self.dialect.json_text(column)
        # A missing key extracts as NULL; COALESCE keeps the leaf two-valued so NOT is a complement.
        if node.check is Check.MATCH:
            return Fragment(f"COALESCE({value} LIKE ? {_ESCAPE}, false)", [pointer, _like(node.value)])
        if node.check is Check.CONTAINS:
            return Fragment(f"COALESCE({value} ILIKE ? {_ESCAPE}, false)", [pointer, _contains(node.value)])
        if node.numeric:
            number, params = self.dialect.to_double(value, [pointer])
            return Fragment(f"COALESCE({number} {comparison_operator(node)} ?, false)", [*params, node.value])
        exact = Fragment(f"COALESCE({value} {comparison_operator(node)} ?, false)", [pointer, node.value])
        prefilter = self.dialect.text_contains(column)
        if prefilter and node.op == "=" and isinstance(node.value, str) and _PLAIN_JSON_TEXT.fullmatch(node.value):
            # A map holding the value holds its JSON text, `"value"`, verbatim: a plain substring
            # test rules out most rows before any JSON is parsed (1M versions: ~25 ms less).
            return Fragment(f"({prefilter} AND {exact.sql})", [f'"{node.value}"', *exact.params])
        return exact

    def metric(self, node: Predicate) -> Fragment:
        shared = self.metric_rows.reads(node) if self.metric_rows else ""
        if shared:  # a CTE of the statement holds exactly the rows this condition selects
            return Fragment(f"{self.key} IN (SELECT ms.model, ms.number FROM {shared} ms)", [])
        select = "SELECT ms.model, ms.number FROM metric_summary ms WHERE ms.key = ?"
        if node.check is Check.PRESENT:
            return Fragment(f"{self.key} IN ({select})", [node.key])
        if node.check is not Check.COMPARE:
            raise ValueError(f"metrics cannot be matched with {node.check.value}")
        return Fragment(f"{self.key} IN ({select} AND ms.value {comparison_operator(node)} ?)", [node.key, node.value])

    def stage(self, node: Predicate) -> Fragment:
        is_alias = "true" if node.field.name == "alias" else "false"
        select = f"SELECT sh.model, sh.number FROM stage_holders sh WHERE sh.is_alias = {is_alias}"
        if node.check is Check.PRESENT:
            return Fragment(f"{self.key} IN ({select})", [])
        if node.check is Check.MATCH:
            return Fragment(f"{self.key} IN ({select} AND sh.label LIKE ? {_ESCAPE})", [_like(node.value)])
        return Fragment(f"{self.key} IN ({select} AND sh.label = ?)", [node.value])

    def dtype(self, node: Predicate) -> Fragment:
        """Any of the version's element types (a JSON list of short names), ignoring case."""
        column = self.table.columns["format.dtype"]
        if node.check is Check.PRESENT:
            return Fragment(f"{self.dialect.json_array_length(column)} > 0", [])
        param: object
        if node.check is Check.MATCH:
            test, param = f"upper(d.item) LIKE upper(?) {_ESCAPE}", _like(node.value)
        else:
            test, param = "upper(d.item) = upper(?)", node.value
        items = f"{self.dialect.json_text_items(column)} AS d(item)"
        return Fragment(f"EXISTS (SELECT 1 FROM {items} WHERE {test})", [param])

    def dataset(self, node: Predicate) -> Fragment:
        column = self.table.columns["datasets"]
        if node.check is Check.PRESENT:
            return Fragment(f"{self.dialect.json_array_length(column)} > 0", [])
        name = self.dialect.json_field("d.item", "name")
        params: list[object]
        if node.check is Check.MATCH:
            test, params = f"{name} LIKE ? {_ESCAPE}", [_like(node.value)]
        else:
            test, params = f"{name} = ?", [node.value]
        if node.version is not None:
            test += f" AND {self.dialect.json_field('d.item', 'version')} = ?"
            params.append(node.version)
        items = f"{self.dialect.json_items(column)} AS d(item)"
        return Fragment(f"EXISTS (SELECT 1 FROM {items} WHERE {test})", params)


def comparison_operator(node: Predicate) -> str:
    """The comparison operator, from a fixed set: it is the one piece of a predicate written into SQL."""
    if node.op not in _OPERATORS:
        raise ValueError(f"not a comparison operator: {node.op[:10]!r}")
    return node.op


def _join(operator: str, fragments: list[Fragment]) -> Fragment:
    params: list[object] = []
    for fragment in fragments:
        params.extend(fragment.params)
    return Fragment("(" + operator.join(fragment.sql for fragment in fragments) + ")", params)


def _and(left: Fragment, right: Fragment) -> Fragment:
    return Fragment(f"({left.sql} AND {right.sql})", [*left.params, *right.params])


def _join_list(fragments: Sequence[Fragment]) -> Fragment:
    params: list[object] = []
    for fragment in fragments:
        params.extend(fragment.params)
    return Fragment(", ".join(fragment.sql for fragment in fragments), params)


def _fits(key: SortKey, value: object) -> bool:
    """Whether a token's value has the type the key's values have (bool is no int here)."""
    if value is None:
        return key.nullable
    return type(value) is key.kind


def _like(value: PredicateValue) -> str:
    """Wildcard parts -> a LIKE pattern; the user's own %, _ and backslash match literally."""
    parts = cast(tuple[str, ...], value)
    return "%".join(part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for part in parts)


def _contains(value: PredicateValue) -> str:
    return f"%{_like(value)}%"
