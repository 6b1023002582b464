"""Set-wise queries behind garbage collection: the versions beyond retention with what protects
them, purging and archiving them, and the stored blobs no version refers to.

Each query covers the whole catalog at once: one statement gathers the facts on every version
beyond its model's `keep_last`, never one statement per version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

# An edge between two versions, from lineage_edges and from each version's own parent links.
_VERSION_EDGES = r"""
    version_edges AS MATERIALIZED (
        SELECT regexp_extract(source, '^models/([^/]+)/versions/([0-9]+)$', 1) AS parent_model,
               TRY_CAST(regexp_extract(source, '^models/([^/]+)/versions/([0-9]+)$', 2) AS BIGINT) AS parent_number,
               regexp_extract(target, '^models/([^/]+)/versions/([0-9]+)$', 1) AS child_model,
               TRY_CAST(regexp_extract(target, '^models/([^/]+)/versions/([0-9]+)$', 2) AS BIGINT) AS child_number
        FROM lineage_edges
        WHERE starts_with(source, 'models/') AND starts_with(target, 'models/')
        UNION
        SELECT p.model, p.number, v.model, v.number
        FROM versions v, unnest(from_json(v.parents, '[{"model": "VARCHAR", "number": "BIGINT"}]')) t(p)
        WHERE v.parents <> '[]'
    )"""

RETENTION_FACTS = f"""
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
        ) WHERE newest > keep_last
    ),
    held AS MATERIALIZED (
        SELECT model, number, string_agg(DISTINCT label, ',' ORDER BY label) AS labels
        FROM (
            SELECT model, label, number FROM stage_holders
            UNION ALL SELECT model, label, number FROM stage_history WHERE number IS NOT NULL
            UNION ALL SELECT model, label, previous_number FROM stage_history WHERE previous_number IS NOT NULL
        ) GROUP BY model, number
    ),
    pending AS MATERIALIZED (
        SELECT model, number, string_agg(id::VARCHAR, ',' ORDER BY id) AS ids
        FROM promotions WHERE state IN ('pending_approval', 'approved') GROUP BY model, number
    ),
    -- Beyond keep_last and neither holding, having held, nor waiting for a stage or alias.
    candidates AS MATERIALIZED (
        SELECT b.model, b.number, b.due FROM beyond b
        ANTI JOIN held h USING (model, number)
        ANTI JOIN pending p USING (model, number)
    ),
    {_VERSION_EDGES},
    -- Candidates a version that stays descends from: a version outside the candidates (within
    -- keep_last, protected, or of a model without retention), or one of these in turn.
    parent_of_kept(model, number, child) AS (
        SELECT e.parent_model, e.parent_number, 'models/' || e.child_model || '/versions/' || e.child_number
        FROM version_edges e
        SEMI JOIN candidates c ON c.model = e.parent_model AND c.number = e.parent_number
        SEMI JOIN versions v ON v.model = e.child_model AND v.number = e.child_number
        ANTI JOIN candidates k ON k.model = e.child_model AND k.number = e.child_number
        UNION
        SELECT e.parent_model, e.parent_number, 'models/' || e.child_model || '/versions/' || e.child_number
        FROM parent_of_kept r
        JOIN version_edges e ON e.child_model = r.model AND e.child_number = r.number
        SEMI JOIN candidates c ON c.model = e.parent_model AND c.number = e.parent_number
    ),
    due AS MATERIALIZED (
        SELECT model, number FROM candidates
        ANTI JOIN parent_of_kept USING (model, number)
        WHERE due
    ),
    -- Due versions that a version this run leaves in place descends from: not purged yet.
    parent_of_remaining(model, number, child) AS (
        SELECT e.parent_model, e.parent_number, 'models/' || e.child_model || '/versions/' || e.child_number
        FROM version_edges e
        SEMI JOIN due d ON d.model = e.parent_model AND d.number = e.parent_number
        SEMI JOIN versions v ON v.model = e.child_model AND v.number = e.child_number
        ANTI JOIN due k ON k.model = e.child_model AND k.number = e.child_number
        UNION
        SELECT e.parent_model, e.parent_number, 'models/' || e.child_model || '/versions/' || e.child_number
        FROM parent_of_remaining r
        JOIN version_edges e ON e.child_model = r.model AND e.child_number = r.number
        SEMI JOIN due d ON d.model = e.parent_model AND d.number = e.parent_number
    )
SELECT b.model, b.number, b.status, b.vid, b.update_time, b.kept, b.total_size, b.keep_last, b.due,
       coalesce(h.labels, ''), coalesce(p.ids, ''), coalesce(k.child, ''), coalesce(r.child, '')
FROM beyond b
LEFT JOIN held h USING (model, number)
LEFT JOIN pending p USING (model, number)
LEFT JOIN (SELECT model, number, min(child) AS child FROM parent_of_kept GROUP BY ALL) k USING (model, number)
LEFT JOIN (SELECT model, number, min(child) AS child FROM parent_of_remaining GROUP BY ALL) r USING (model, number)
ORDER BY b.model, b.number
"""


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


def retention_facts(run: Run, rules: Sequence[RetentionRule]) -> list[RetentionFacts]:
    """Every version beyond the keep_last of its model's rule, with its protections, in one query."""
    if not rules:
        return []
    params = [[r.model for r in rules], [r.keep_last for r in rules], [r.purge_before for r in rules],
              [r.at_once for r in rules]]  # fmt: skip
    return [RetentionFacts(*row) for row in run(RETENTION_FACTS, params)]


def _keys(keys: Sequence[tuple[str, int]]) -> list[list[Any]]:
    return [[k[0] for k in keys], [k[1] for k in keys]]


_KEYS = "(SELECT unnest(?::VARCHAR[]) AS model, unnest(?::BIGINT[]) AS number)"


def archive_versions(run: Run, keys: Sequence[tuple[str, int]], revisions: Sequence[int], reasons: Sequence[str],
                     time: datetime) -> None:  # fmt: skip
    """Marks versions archived, each with its reason and the revision of its event, in one statement."""
    if not keys:
        return
    # Every parameter sits in the FROM list: DuckDB binds an UPDATE's FROM before its SET.
    run(
        "UPDATE versions SET status = 'archived', status_reason = k.reason, update_time = k.time, revision = k.revision "
        "FROM (SELECT unnest(?::VARCHAR[]) AS model, unnest(?::BIGINT[]) AS number, unnest(?::BIGINT[]) AS revision, "
        "unnest(?::VARCHAR[]) AS reason, ?::TIMESTAMP AS time) k "
        "WHERE versions.model = k.model AND versions.number = k.number",
        [*_keys(keys), list(revisions), list(reasons), time],
    )


def purge_versions(run: Run, keys: Sequence[tuple[str, int]]) -> list[str]:
    """Deletes versions with their files, metrics and lineage edges; returns the sha256 of their
    files. Promotions, stage history and the event log stay: they are the record of what was."""
    if not keys:
        return []
    params = _keys(keys)
    shas = [row[0] for row in run(f"SELECT DISTINCT f.sha256 FROM files f SEMI JOIN {_KEYS} k USING (model, number)",
                                  params)]  # fmt: skip
    for table in ("files", "metrics", "metric_summary", "versions"):
        run(f"DELETE FROM {table} t USING {_KEYS} k WHERE t.model = k.model AND t.number = k.number", params)
    names = [f"models/{model}/versions/{number}" for model, number in keys]
    run("DELETE FROM lineage_edges WHERE source IN (SELECT unnest(?::VARCHAR[])) "
        "OR target IN (SELECT unnest(?::VARCHAR[]))", [names, names])  # fmt: skip
    return shas


class UnreferencedBlob(NamedTuple):
    sha256: str
    size: int
    # When it was written, in seconds since the epoch.
    modified: float
    # Referenced only by versions about to be purged (False: by no version at all).
    by_purged: bool


def unreferenced_blobs(run: Run, stored: Sequence[tuple[str, int, float]],
                       purging: Sequence[tuple[str, int]] = ()) -> list[UnreferencedBlob]:  # fmt: skip
    """The stored blobs (sha256, size, modified) that no version's files refer to, leaving out the
    versions in `purging`: one anti-join of the store's listing against every file row."""
    if not stored:
        return []
    return [
        UnreferencedBlob(*row)
        for row in run(
            f"""
            WITH stored AS (
                SELECT unnest(?::VARCHAR[]) AS sha256, unnest(?::BIGINT[]) AS size, unnest(?::DOUBLE[]) AS modified
            ), purging AS MATERIALIZED {_KEYS}
            SELECT s.sha256, s.size, s.modified, p.sha256 IS NOT NULL
            FROM stored s
            ANTI JOIN (SELECT f.sha256 FROM files f ANTI JOIN purging p USING (model, number)) r USING (sha256)
            LEFT JOIN (SELECT DISTINCT f.sha256 FROM files f SEMI JOIN purging p USING (model, number)) p USING (sha256)
            ORDER BY s.sha256
            """,
            [[s[0] for s in stored], [s[1] for s in stored], [s[2] for s in stored], *_keys(purging)],
        )
    ]
