"""A search of versions answered from indexes of version keys, not from the versions rows (PostgreSQL).

A row of `versions` is wide (its metrics, signature, environment... ~1.6 KB), so on PostgreSQL
a search that tests each candidate's row pays a page read per candidate: at 1M versions,
`metrics.auc > 0.9 AND tags.team = "risk"` sorted by metrics.auc had 100k candidates and took
~1 s, all but a little of it reading rows. Yet each of its conditions is a set of versions that
an index lists, and the matches are their intersection, taken from those indexes alone; the sort
reads the metric values the range scan found; and `versions` is read only for the page (by id).

The sets, in tables the catalog's triggers derive (PostgreSQL migrations 8, 14 and 17):
- `version_metric_peaks`: one row per version and metric key, its largest value over the
  version's splits, indexed by (key, value, vid) with (model, number) and the codes of the
  version's tags included. A metric's presence or lower bound (`> x`, `>= x`) holds exactly for
  the versions whose peak it holds for, and the peak is the value a sort by the metric uses, so
  such a range names each version once and needs no grouping. Upper bounds and equalities hold
  if any split's value does, and are tested on metric_summary's rows (metric_summary_key_value,
  migration 7);
- `version_tags`: one row per version and tag, indexed by (key, value, vid) with (model,
  number) included;
- `tag_codes`: a number for each (key, value) pair that version_tags holds;
- the archived versions, by the partial index versions_archived.
When a metric's range drives, each tag is tested on the range's own entries, by its code; other
sets are intersected with it by the integer version id, which PostgreSQL hashes and merges far
faster than text (model, number) keys; (model, number) stays with each match for the sort's
tie-break and the model filter.

Measured at 1M versions on PostgreSQL 15 (the scale bench's search, 36k matches): the metric's
range joined to the tag's by id took 143 ms of one backend (84 ms with two parallel workers),
most of it hashing and probing: the tag's 333k index entries against the range's 103k. The
range alone, each entry tested for the tag's code, takes 36 ms on one backend and 29 ms with
workers; through gRPC, 37 ms against 85-91 ms before (an idle machine, the same hour), and 42.5 ms
in `make bench` against 120 ms in its two runs before.

The values of the conditions are written into the statement, not passed as parameters: psycopg
prepares a statement it runs often, and the generic plan of the prepared one guessed every tag
rare and probed the peaks once per tag row (1.6 s).

Which filters qualify: an AND of `metrics.KEY <op> number`, `metrics:KEY` and `tags.KEY = "text"`
(short enough for the tag index), with a sort by metrics, number or name. Any other filter or
sort takes the general statement of `query.page_statement`, which gives the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from studbook.daemon.domain.fields import VERSION_FIELDS, FieldKind
from studbook.daemon.domain.filter import Expr
from studbook.daemon.domain.ordering import OrderTerm
from studbook.daemon.domain.predicates import Check, Predicate, bind_filter
from studbook.daemon.store import query as sql
from studbook.daemon.store.dialect import Dialect

# The sort keys besides metrics that a match's key holds: (SQL in the general statement, here).
_KEY_COLUMNS = {'(v.model COLLATE "C")': '(hit.model COLLATE "C")', "v.number": "hit.number"}


@dataclass(frozen=True)
class KeyedSearch:
    """The statements of one page: `page` gives rows as `page_statement` does (vid, the total,
    the sort keys); `count` gives the total alone, for a page past the last match."""

    page: sql.Fragment
    count: sql.Fragment


@dataclass(frozen=True)
class _Driver:
    """The relation the matches are drawn from, each of its rows one version: `rows` selects
    (vid, model, number, value) as d; `has_vid` when its rows name the version by id (from the
    derived tables), `value_of` the metric whose value `value` holds (else None)."""

    rows: sql.Fragment
    has_vid: bool
    value_of: str | None


def keyed_search(
    expr: Expr | None,
    order: Sequence[OrderTerm],
    *,
    model: str | None,
    show_archived: bool,
    limit: int,
    offset: int,
    after: Sequence[object] | None,
    dialect: Dialect,
) -> KeyedSearch | None:
    """The statements for this search when every condition of `expr` is a set of version keys
    and the sort needs nothing else; None when the general statement must run."""
    if not dialect.is_postgres or expr is None:
        return None
    conditions = sql.conjuncts(bind_filter(expr, VERSION_FIELDS))
    if not all(isinstance(node, Predicate) and _keyed(node) for node in conditions):
        return None
    predicates = [node for node in conditions if isinstance(node, Predicate)]
    clause = sql.compile_order(order, "versions", dialect=dialect)
    if not all(key.metric is not None or key.expr.sql in _KEY_COLUMNS for key in clause.keys):
        return None

    driver, rest = _driver(predicates, {key.metric for key in clause.keys if key.metric is not None})
    joins = [_joined(node, index) for index, node in enumerate(rest) if driver.has_vid and _by_vid(node)]
    tests = [_in_set(node) for node in rest if not (driver.has_vid and _by_vid(node))]
    if model is not None:
        tests.append(sql.Fragment(f"d.model = {_literal(model)}", []))
    if not show_archived:
        # NOT IN over NOT NULL columns: exactly the versions whose status is not archived.
        archived = ("d.vid NOT IN (SELECT a.vid FROM versions a WHERE a.status = 'archived')" if driver.has_vid else
                    "(d.model, d.number) NOT IN (SELECT a.model, a.number FROM versions a WHERE a.status = 'archived')")  # fmt: skip
        tests.append(sql.Fragment(archived, []))
    where = _all_of(tests)
    joined = " ".join(join.sql for join in joins)
    matched = sql.Fragment(f"matched AS MATERIALIZED (SELECT d.vid, d.model, d.number, d.value FROM {driver.rows.sql} d "
                           f"{joined} WHERE {where.sql})",
                           [*driver.rows.params, *(p for join in joins for p in join.params), *where.params])  # fmt: skip

    # The page's sort keys, projected as k0, k1, ... of each match.
    projected: list[str] = []
    lookups: list[sql.Fragment] = []
    keys: list[sql.SortKey] = []
    for index, key in enumerate(clause.keys):
        if key.metric is not None and key.metric == driver.value_of:
            expr_sql = "hit.value"
        elif key.metric is not None:
            alias = f"sort_{index}"
            # A version's peak of another metric: its one row of version_metric_peaks by id, or
            # the largest of its metric_summary rows.
            source = ("SELECT p.value FROM version_metric_peaks p WHERE p.vid = hit.vid AND p.key = ?" if driver.has_vid
                      else "SELECT max(ms.value) AS value FROM metric_summary ms WHERE ms.model = hit.model "
                           "AND ms.number = hit.number AND ms.key = ?")  # fmt: skip
            lookups.append(sql.Fragment(f"LEFT JOIN LATERAL ({source}) AS {alias} ON true", [key.metric]))
            expr_sql = f"{alias}.value"
        else:
            expr_sql = _KEY_COLUMNS[key.expr.sql]
        projected.append(f"{expr_sql} AS k{index}")
        keys.append(replace(key, expr=sql.Fragment(f"s.k{index}", [])))
    page_order = sql.OrderClause(sql.Fragment("", []), tuple(keys))
    outer_order = sql.OrderClause(sql.Fragment("", []), tuple(replace(key, expr=sql.Fragment(f"p.k{index}", []))
                                                             for index, key in enumerate(keys)))  # fmt: skip
    inner = f"SELECT hit.vid, hit.model, hit.number, {', '.join(projected)} FROM matched hit"
    params: list[object] = list(matched.params)
    for lookup in lookups:
        inner += f" {lookup.sql}"
        params.extend(lookup.params)
    if after is not None:
        seek = sql.after_row(page_order, after)
        inner = f"SELECT s.* FROM ({inner}) s WHERE {seek.sql}"
        params.extend(seek.params)
    # A driver keyed by id names the page's versions already; one from metric_summary by key.
    source, vid = (("", "p.vid") if driver.has_vid else
                   (" JOIN versions v ON v.model = p.model AND v.number = p.number", "v.vid"))  # fmt: skip
    page = sql.Fragment(
        f"WITH {matched.sql} SELECT {vid}, (SELECT count(*) FROM matched), {outer_order.key_columns.sql} FROM "
        f"(SELECT s.* FROM ({inner}) s ORDER BY {page_order.order_by.sql} LIMIT ? OFFSET ?) p{source} "
        f"ORDER BY {outer_order.order_by.sql}",
        [*params, limit, offset],
    )
    count = sql.Fragment(f"WITH {matched.sql} SELECT count(*) FROM matched", list(matched.params))
    return KeyedSearch(page, count)


def _all_of(tests: list[sql.Fragment]) -> sql.Fragment:
    if not tests:
        return sql.Fragment("TRUE", [])
    return sql.Fragment(" AND ".join(f"({test.sql})" for test in tests), [p for test in tests for p in test.params])


def _keyed(node: Predicate) -> bool:
    """Whether the versions `node` holds for are listed by an index of version keys."""
    if node.field.kind is FieldKind.METRICS:
        return node.check in (Check.COMPARE, Check.PRESENT)
    return sql.tag_in_index(node)


def _peak(node: Predicate) -> bool:
    """Whether `node` holds exactly for the versions whose peak of its metric it holds for: a
    metric's presence, or a lower bound (some split's value is above it iff the largest is)."""
    return node.field.kind is FieldKind.METRICS and (
        node.check is Check.PRESENT or (node.check is Check.COMPARE and node.op in (">", ">="))
    )


def _by_vid(node: Predicate) -> bool:
    """Whether a derived table keyed by version id lists `node`'s versions."""
    return _peak(node) or node.field.kind is not FieldKind.METRICS


def _literal(value: object) -> str:
    """`value` as an SQL literal. The conditions of a keyed search carry their values written
    out, not as parameters: the plan depends on them (a tag most versions hold is hashed, a rare
    one probed), and psycopg prepares a statement run often, whose generic plan guessed every tag
    rare: at 1M versions it probed the metric's peaks once per tag row, 1.6 s instead of 0.07 s."""
    # Only a PostgreSQL catalog searches this way: psycopg is not loaded at start-up.
    from studbook.daemon.store.postgres.quoting import literal

    return literal(value)


def _peak_range(node: Predicate, alias: str) -> str:
    """The condition on `alias`, a row of version_metric_peaks, that selects `node`'s versions."""
    if node.check is Check.PRESENT:
        return f"{alias}.key = {_literal(node.key)}"
    return (
        f"{alias}.key = {_literal(node.key)} AND {alias}.value {sql.comparison_operator(node)} {_literal(node.value)}"
    )


def _joined(node: Predicate, index: int) -> sql.Fragment:
    """An inner join of the driver's rows to `node`'s by version id. Each table has at most one
    row per (version, key), so the join repeats no match; a join rather than IN (...) lets the
    planner hash the smaller side (a tag's range is often the larger)."""
    alias = f"j{index}"
    if _peak(node):
        return sql.Fragment(
            f"JOIN version_metric_peaks {alias} ON {alias}.vid = d.vid AND {_peak_range(node, alias)}", []
        )
    return sql.Fragment(f"JOIN version_tags {alias} ON {alias}.vid = d.vid AND {_tag_test(node, alias)}", [])


def _tag_test(node: Predicate, alias: str) -> str:
    return f"{alias}.key = {_literal(node.key)} AND {alias}.value = {_literal(node.value)}"


def _has_tag(node: Predicate, alias: str) -> str:
    """Whether the version of `alias`, a row of version_metric_peaks, holds `node`'s tag: its
    code is among the row's. A pair no version ever held has no code, and the test is NULL."""
    code = f"SELECT c.code FROM tag_codes c WHERE c.key = {_literal(node.key)} AND c.value = {_literal(node.value)}"
    return f"({code}) = ANY ({alias}.tag_codes)"


def _metric_rows(node: Predicate) -> sql.Fragment:
    select = f"SELECT ms.model, ms.number FROM metric_summary ms WHERE ms.key = {_literal(node.key)}"
    if node.check is Check.PRESENT:
        return sql.Fragment(select, [])
    return sql.Fragment(f"{select} AND ms.value {sql.comparison_operator(node)} {_literal(node.value)}", [])


def _in_set(node: Predicate) -> sql.Fragment:
    """`node` tested on the driver's (model, number): a metric's rows, any split's value."""
    rows = _metric_rows(node)
    return sql.Fragment(f"(d.model, d.number) IN ({rows.sql})", rows.params)


def _driver(predicates: list[Predicate], sorted_by: set[str]) -> tuple[_Driver, list[Predicate]]:
    """The relation the matches are drawn from, and the conditions left to test on it.

    A metric's peaks drive when the sort reads that metric (each match's sort value is its peak)
    and the condition tests the peak (a presence or a lower bound); else a tag's rows, else a
    metric's peaks. Each of these names a version once and by id. Only a filter of upper bounds
    and equalities on metrics alone draws from metric_summary, whose rows repeat a version per
    split.
    """
    ranked = [node for node in predicates if _peak(node) and node.key in sorted_by]
    ranked += [node for node in predicates if node.field.kind is not FieldKind.METRICS]
    ranked += [node for node in predicates if _peak(node)]
    if ranked:
        first = ranked[0]
        others = [node for node in predicates if node is not first]
        if _peak(first):
            # The tags are tested on the range's own entries, by the codes each carries.
            tags = [node for node in others if node.field.kind is not FieldKind.METRICS]
            tests = " AND ".join([_peak_range(first, "k"), *(_has_tag(node, "k") for node in tags)])
            rows = sql.Fragment(f"(SELECT k.vid, k.model, k.number, k.value FROM version_metric_peaks k "
                                f"WHERE {tests})", [])  # fmt: skip
            metrics = [node for node in others if node.field.kind is FieldKind.METRICS]
            return _Driver(rows, True, first.key if first.key in sorted_by else None), metrics
        rows = sql.Fragment(f"(SELECT t.vid, t.model, t.number, NULL::float8 AS value FROM version_tags t "
                            f"WHERE {_tag_test(first, 't')})", [])  # fmt: skip
        return _Driver(rows, True, None), others
    rows = _metric_rows(predicates[0])
    return _Driver(sql.Fragment(f"(SELECT DISTINCT r.model, r.number, NULL::bigint AS vid, NULL::float8 AS value "
                                f"FROM ({rows.sql}) r)", rows.params), False, None), predicates[1:]  # fmt: skip
