"""Set-wise queries behind garbage collection: the versions beyond retention with what protects
them, purging and archiving them, and the stored blobs no version refers to.

Each query covers the whole catalog at once: one statement gathers the facts on every version
beyond its model's `keep_last`, never one statement per version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from studbook.daemon.store.dialect import DUCKDB, where

if TYPE_CHECKING:
    from studbook.daemon.store.dialect import Dialect

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

# The name of a version node, split into model and number.
_VERSION_NODE = "^models/([^/]+)/versions/([0-9]+)$"


def _version_edges(d: Dialect) -> str:
    """An edge between two versions, from lineage_edges and from each version's own parent links."""

    def model(column: str) -> str:
        return d.regexp_group(column, _VERSION_NODE, 1)

    def number(column: str) -> str:
        return d.try_bigint(d.regexp_group(column, _VERSION_NODE, 2))

    return f"""
    version_edges AS MATERIALIZED (
        SELECT {model("source")} AS parent_model,
               {number("source")} AS parent_number,
               {model("target")} AS child_model,
               {number("target")} AS child_number
        FROM lineage_edges
        WHERE starts_with(source, 'models/') AND starts_with(target, 'models/')
        UNION
        SELECT p.model, p.number, v.model, v.number
        FROM versions v, {d.parent_links("v.parents")}
        WHERE v.parents <> '[]'
    )"""


def _parents_of(d: Dialect, name: str, among: str) -> str:
    """A recursive CTE: the versions of `among` that a version outside it descends from, directly
    or through others of `among`, each with the child that makes it so."""
    child_in = d.filter_join("SEMI", "versions", "v", on="v.model = e.child_model AND v.number = e.child_number")
    child_out = d.filter_join("ANTI", among, "k", on="k.model = e.child_model AND k.number = e.child_number")
    parent_in = d.filter_join("SEMI", among, "c", on="c.model = e.parent_model AND c.number = e.parent_number")
    return f"""
    {name}(model, number, child) AS (
        SELECT e.parent_model, e.parent_number, 'models/' || e.child_model || '/versions/' || e.child_number
        FROM version_edges e
        {parent_in[0]}
        {child_in[0]}
        {child_out[0]}
        {where(parent_in[1], child_in[1], child_out[1])}
        UNION
        SELECT e.parent_model, e.parent_number, 'models/' || e.child_model || '/versions/' || e.child_number
        FROM {name} r
        JOIN version_edges e ON e.child_model = r.model AND e.child_number = r.number
        {parent_in[0]}
        {where(parent_in[1])}
    )"""


def retention_facts_sql(d: Dialect) -> str:
    not_held = d.filter_join("ANTI", "held", "h", using="model, number", left="b")
    not_pending = d.filter_join("ANTI", "pending", "p", using="model, number", left="b")
    no_kept_child = d.filter_join("ANTI", "parent_of_kept", "pk", using="model, number", left="c")
    return f"""
WITH RECURSIVE
    rules AS (
        SELECT unnest(?::VARCHAR[]) AS model, unnest(?::BIGINT[]) AS keep_last,
               unnest(?::TIMESTAMP[]) AS purge_before, unnest(?::BOOLEAN[]) AS at_once
    ),
    beyond AS MATERIALIZED (
        SELECT * FROM (
            SELECT v.model, v.number, v.status, v.vid, v.update_time, v.kept, v.total_size, r.keep_last,
                   r.at_once OR (v.status = 'archived' AND v.update_time <= r.purge_before) AS due,
                   row_number() OVER (PARTITION BY v.model ORDER BY v.number DESC) AS newest
            FROM versions v JOIN rules r USING (model)
        ) ranked WHERE newest > keep_last
    ),
    held AS MATERIALIZED (
        SELECT model, number, string_agg(DISTINCT label, ',' ORDER BY label) AS labels
        FROM (
            SELECT model, label, number FROM stage_holders
            UNION ALL SELECT model, label, number FROM stage_history WHERE number IS NOT NULL
            UNION ALL SELECT model, label, previous_number FROM stage_history WHERE previous_number IS NOT NULL
        ) holds GROUP BY model, number
    ),
    pending AS MATERIALIZED (
        SELECT model, number, string_agg(CAST(id AS VARCHAR), ',' ORDER BY id) AS ids
        FROM promotions WHERE state IN ('pending_approval', 'approved') GROUP BY model, number
    ),
    -- Beyond keep_last and neither holding, having held, nor waiting for a stage or alias.
    candidates AS MATERIALIZED (
        SELECT b.model, b.number, b.due FROM beyond b
        {not_held[0]}
        {not_pending[0]}
        {where(not_held[1], not_pending[1])}
    ),
    {_version_edges(d)},
    -- Candidates a version that stays descends from: a version outside the candidates (within
    -- keep_last, protected, or of a model without retention), or one of these in turn.
    {_parents_of(d, "parent_of_kept", "candidates")},
    due AS MATERIALIZED (
        SELECT c.model, c.number FROM candidates c
        {no_kept_child[0]}
        {where(no_kept_child[1], "c.due")}
    ),
    -- Due versions that a version this run leaves in place descends from: not purged yet.
    {_parents_of(d, "parent_of_remaining", "due")}
SELECT b.model, b.number, b.status, b.vid, b.update_time, b.kept, b.total_size, b.keep_last, b.due,
       coalesce(h.labels, ''), coalesce(p.ids, ''), coalesce(k.child, ''), coalesce(r.child, '')
FROM beyond b
LEFT JOIN held h USING (model, number)
LEFT JOIN pending p USING (model, number)
LEFT JOIN (SELECT model, number, min(child) AS child FROM parent_of_kept GROUP BY model, number) k
    USING (model, number)
LEFT JOIN (SELECT model, number, min(child) AS child FROM parent_of_remaining GROUP BY model, number) r
    USING (model, number)
ORDER BY b.model, b.number
"""


# DuckDB's, as the bench runs it raw.
RETENTION_FACTS = retention_facts_sql(DUCKDB)


class RetentionRule(NamedTuple):
    """A model's retention as the query takes it."""

    model: str
    keep_last: int
    # An archived version whose update_time is at or before this is due for its purge.
    purge_before: datetime
    # purge_after is zero: every version beyond keep_last is due, archived or not.
    at_once: bool


class RetentionFacts(NamedTuple):
    """A version beyond its model's keep_last, and what the catalog says protects it."""

    model: str
    number: int
    status: str
    # Increases with each registration: a lineage child's is above its parent's.
    vid: int
    update_time: datetime
    kept: bool
    total_size: int
    keep_last: int
    # Archived long enough (or purge_after is zero): purged unless something protects it.
    due: bool
    # Stages and aliases it holds or ever held, comma-separated; "" when none.
    held: str
    # Ids of its promotions waiting for approval, comma-separated; "" when none.
    pending: str
    # A version that stays and descends from it (a lineage child, or a child's child ...).
    parent_of_kept: str
    # A version left in place by this run (archived, waiting) that descends from it.
    parent_of_remaining: str


def retention_facts(run: Run, rules: Sequence[RetentionRule], dialect: Dialect = DUCKDB) -> list[RetentionFacts]:
    """Every version beyond the keep_last of its model's rule, with its protections, in one query."""
    if not rules:
        return []
    params = [[r.model for r in rules], [r.keep_last for r in rules], [r.purge_before for r in rules],
              [r.at_once for r in rules]]  # fmt: skip
    return [RetentionFacts(*row) for row in run(retention_facts_sql(dialect), params)]


def rows_of(**columns: tuple[str, Sequence[Any]]) -> tuple[str, str]:
    """A derived table of parallel columns (name=(DuckDB type, values)) and the one parameter it binds.

    The values travel as one JSON document that DuckDB unpacks: a list parameter costs about as
    much per value as a statement does (measured: 10,000 sha256 bind in ~60 ms as a list, ~7 ms
    as JSON), and the store's listing and a catalog's purge run to millions of values.
    """
    structure = json.dumps({name: [kind] for name, (kind, _) in columns.items()})
    select = ", ".join(f"unnest(d.{name}) AS {name}" for name in columns)
    document = json.dumps({name: list(values) for name, (_, values) in columns.items()})
    return f"(SELECT {select} FROM (SELECT from_json(?::JSON, '{structure}') AS d))", document


def _keys(keys: Sequence[tuple[str, int]], dialect: Dialect) -> tuple[str, str]:
    return dialect.rows_of(model=("VARCHAR", [k[0] for k in keys]), number=("BIGINT", [k[1] for k in keys]))


def archive_versions(run: Run, keys: Sequence[tuple[str, int]], revisions: Sequence[int], reasons: Sequence[str],
                     time: datetime, dialect: Dialect = DUCKDB) -> None:  # fmt: skip
    """Marks versions archived, each with its reason and the revision of its event, in one statement."""
    if not keys:
        return
    table, document = dialect.rows_of(model=("VARCHAR", [k[0] for k in keys]),
                                      number=("BIGINT", [k[1] for k in keys]),
                                      revision=("BIGINT", revisions), reason=("VARCHAR", reasons))  # fmt: skip
    # Every parameter sits in the FROM list: DuckDB binds an UPDATE's FROM before its SET.
    run(
        "UPDATE versions SET status = 'archived', status_reason = k.reason, update_time = t.time, revision = k.revision "
        f"FROM {table} k, (SELECT ?::TIMESTAMP AS time) t "
        "WHERE versions.model = k.model AND versions.number = k.number",
        [document, time],
    )


def purge_versions(run: Run, keys: Sequence[tuple[str, int]], dialect: Dialect = DUCKDB) -> list[str]:
    """Deletes versions with their files, metrics, lineage edges, reference statistics and
    production feedback (points, input windows with their bins and drift, the monitor state of a
    stage last checked on one of them); returns the sha256 of their files. Promotions, stage
    history and the event log stay: they are the record of what was. Each table is one statement
    for every version, inside the caller's transaction."""
    if not keys:
        return []
    table, document = _keys(keys, dialect)
    purged = dialect.filter_join("SEMI", table, "k", using="model, number", left="f")
    shas = [row[0] for row in run(f"SELECT DISTINCT f.sha256 FROM files f {purged[0]} {where(purged[1])}",
                                  [document])]  # fmt: skip
    # A window's bins and drift are keyed by its id alone: they go before the windows that name them.
    for name in ("input_bins", "input_drift"):
        run(f"DELETE FROM {name} WHERE window_id IN (SELECT w.id FROM input_windows w JOIN {table} k "
            "ON w.model = k.model AND w.number = k.number)", [document])  # fmt: skip
    for name in ("files", "metrics", "metric_summary", "versions", "reference_features", "reference_bins",
                 "input_windows", "production_points", "monitor_states"):  # fmt: skip
        run(f"DELETE FROM {name} t USING {table} k WHERE t.model = k.model AND t.number = k.number", [document])
    names, listed = dialect.rows_of(name=("VARCHAR", [f"models/{model}/versions/{number}" for model, number in keys]))
    run(f"DELETE FROM lineage_edges WHERE source IN (SELECT name FROM {names} n) OR target IN (SELECT name FROM {names} n)",
        [listed, listed])  # fmt: skip
    return shas


class UnreferencedBlob(NamedTuple):
    sha256: str
    size: int
    # When it was written, in seconds since the epoch.
    modified: float
    # Referenced only by versions about to be purged (False: by no version at all).
    by_purged: bool


def unreferenced_blobs(run: Run, stored: Sequence[tuple[str, int, float]],
                       purging: Sequence[tuple[str, int]] = (), dialect: Dialect = DUCKDB) -> list[UnreferencedBlob]:  # fmt: skip
    """The stored blobs (sha256, size, modified) that no version's files refer to, leaving out the
    versions in `purging`: one anti-join of the store's listing against every file row."""
    if not stored:
        return []
    stored_rows, stored_document = dialect.rows_of(sha256=("VARCHAR", [s[0] for s in stored]),
                                                   size=("BIGINT", [s[1] for s in stored]),
                                                   modified=("DOUBLE", [s[2] for s in stored]))  # fmt: skip
    purging_rows, purging_document = _keys(purging, dialect)
    kept = dialect.filter_join("ANTI", "purging", "p", using="model, number", left="f")
    in_use = dialect.filter_join(
        "ANTI", f"(SELECT f.sha256 FROM files f {kept[0]} {where(kept[1])})", "r", using="sha256", left="s"
    )
    purged = dialect.filter_join("SEMI", "purging", "p", using="model, number", left="f")
    return [
        UnreferencedBlob(*row)
        for row in run(
            f"""
            WITH stored AS {stored_rows}, purging AS MATERIALIZED {purging_rows}
            SELECT s.sha256, s.size, s.modified, p.sha256 IS NOT NULL
            FROM stored s
            {in_use[0]}
            LEFT JOIN (SELECT DISTINCT f.sha256 FROM files f {purged[0]} {where(purged[1])}) p USING (sha256)
            {where(in_use[1])}
            ORDER BY s.sha256
            """,
            [stored_document, purging_document],
        )
    ]


def _recheck_sql(d: Dialect, chunk: str) -> str:
    not_held = d.filter_join("ANTI", "held", "h", using="model, number", left="c")
    not_pending = d.filter_join("ANTI", "pending", "p", using="model, number", left="c")
    return f"""
WITH chunk AS MATERIALIZED {chunk},
    rules AS (
        SELECT unnest(?::VARCHAR[]) AS model, unnest(?::TIMESTAMP[]) AS purge_before, unnest(?::BOOLEAN[]) AS at_once
    ),
    held AS (
        SELECT model, number FROM stage_holders
        UNION ALL SELECT model, number FROM stage_history WHERE number IS NOT NULL
        UNION ALL SELECT model, previous_number FROM stage_history WHERE previous_number IS NOT NULL
    ),
    pending AS (SELECT model, number FROM promotions WHERE state IN ('pending_approval', 'approved')),
    -- The versions that descend directly from those in the chunk.
    children AS (
        SELECT c.model, c.number, v.model AS child_model, v.number AS child_number, v.vid AS child_vid
        FROM chunk c
        JOIN lineage_edges e ON e.source = 'models/' || c.model || '/versions/' || c.number
        JOIN versions v ON v.model = {d.regexp_group("e.target", _VERSION_NODE, 1)}
            AND v.number = {d.try_bigint(d.regexp_group("e.target", _VERSION_NODE, 2))}
    )
SELECT c.model, c.number
FROM chunk c
JOIN versions v USING (model, number)
JOIN rules r USING (model)
{not_held[0]}
{not_pending[0]}
WHERE (NOT c.purge OR r.at_once OR (v.status = 'archived' AND v.update_time <= r.purge_before))
  AND NOT EXISTS (
      SELECT 1 FROM children k
      WHERE k.model = c.model AND k.number = c.number
        AND (k.child_vid > ? OR (c.purge AND NOT EXISTS (
            SELECT 1 FROM chunk o WHERE o.model = k.child_model AND o.number = k.child_number AND o.purge))))
  {"".join(f" AND {condition}" for condition in (not_held[1], not_pending[1]) if condition)}
"""


def max_vid(run: Run) -> int:
    """The row handle of the newest version: versions registered later have a higher one."""
    return int(run("SELECT coalesce(max(vid), 0) FROM versions", [])[0][0])


def still_decided(run: Run, purges: Sequence[tuple[str, int]], archives: Sequence[tuple[str, int]],
                  rules: Sequence[RetentionRule], horizon: int,
                  dialect: Dialect = DUCKDB) -> set[tuple[str, int]]:  # fmt: skip
    """Of versions a plan decided to purge or archive, those for which it still holds now.

    Checked set-wise for one batch, with what can have changed since the plan was read: a
    stage, alias or pending promotion of the version; an archived version edited (its purge is
    not due then); a lineage child registered after the plan (`vid` above `horizon`); and for a
    purge, any remaining child outside this batch of purges (batches go newest first, so a
    child due for its purge went in an earlier one).
    """
    keys = [*purges, *archives]
    if not keys:
        return set()
    chunk, document = dialect.rows_of(model=("VARCHAR", [k[0] for k in keys]),
                                      number=("BIGINT", [k[1] for k in keys]),
                                      purge=("BOOLEAN", [True] * len(purges) + [False] * len(archives)))  # fmt: skip
    params = [document, [r.model for r in rules], [r.purge_before for r in rules], [r.at_once for r in rules], horizon]
    return {(model, number) for model, number in run(_recheck_sql(dialect, chunk), params)}
