"""Input statistics in the catalog: reference summaries, production windows, and the drift of
each window from its version's reference, computed set-wise by one statement.

A summary is stored one row per bin: a histogram's bins by position (category ''), a feature's
categories by name (bin 0). Drift joins a window's bins to its version's reference bins on
(feature, bin, category), adds the reference categories the window did not see, so a bin (or
category) either side lacks counts as empty; then PSI is a sum over the joined rows and the
KS-style distance the largest gap between running sums, bins in order and categories in code-point order (`domain.drift.feature_drift` is the same
arithmetic in Python, and the tests hold the two together on both engines).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from studbook.daemon.domain.drift import NUMERIC, PSI_FLOOR, Drift, FeatureStats
from studbook.daemon.domain.monitors import MonitorStatus
from studbook.daemon.store.dialect import Dialect

Execute = Callable[..., list[tuple[Any, ...]]]


def reference_rows(model: str, number: int, stats: Sequence[FeatureStats]) -> tuple[list[tuple[Any, ...]],
                                                                                     list[tuple[Any, ...]]]:  # fmt: skip
    """The rows of reference_features and reference_bins for a version's reference statistics."""
    features = [(model, number, s.feature, s.kind, json.dumps(list(s.edges)) if s.numeric else "") for s in stats]
    return features, [(model, number, *row) for s in stats for row in bin_rows(s)]


def bin_rows(stats: FeatureStats) -> list[tuple[str, int, str, float]]:
    """(feature, bin, category, share) of one summary: its weights kept as shares of the whole
    (normalised here, once, rather than by every drift statement that reads them)."""
    if stats.numeric:
        return [(stats.feature, i, "", w) for i, w in enumerate(stats.shares())]
    return [(stats.feature, 0, name, w) for name, w in zip(stats.categories, stats.shares())]


def has_reference(execute: Execute, model: str, number: int) -> bool:
    return bool(execute("SELECT 1 FROM reference_features WHERE model = ? AND number = ? LIMIT 1", [model, number]))


def reference_shapes(execute: Execute, model: str, number: int,
                     features: Sequence[str]) -> dict[str, tuple[str, tuple[float, ...]]]:  # fmt: skip
    """feature -> (kind, edges) of the version's reference, for the features named that it has."""
    # The version's every feature, picked here: binding a list costs about as much per value as
    # a statement does, and a reference has no more features than a call may send.
    wanted = set(features)
    found = execute(
        "SELECT feature, kind, edges FROM reference_features WHERE model = ? AND number = ?", [model, number]
    )
    return {f: (kind, tuple(json.loads(edges)) if kind == NUMERIC else ()) for f, kind, edges in found if f in wanted}


@dataclass
class StoredWindow:
    """One logged window as the catalog holds it."""

    id: int
    model: str
    stage: str
    number: int
    window_end: datetime
    segment: str
    max_psi: float
    max_ks: float
    worst: str
    revision: int
    features: list[Drift]
    # The monitor states the window changed (a breach or a recovery), checked after the commit.
    changed: list[MonitorStatus] = field(default_factory=list)


WINDOW_COLUMNS = "id, model, stage, number, window_end, segment, max_psi, max_ks, worst, revision"


def next_window_id(execute: Execute) -> int:
    return int(execute("SELECT coalesce(max(id), 0) + 1 FROM input_windows")[0][0])


def window_by_request(execute: Execute, model: str, request_id: str) -> int | None:
    found = execute("SELECT id FROM input_windows WHERE model = ? AND request_id = ?", [model, request_id])
    return int(found[0][0]) if found else None


def drift_statement(dialect: Dialect, one: bool = False) -> str:
    """PSI and the KS-style distance of every feature of the windows whose ids the one list
    parameter gives, against the reference of the version each window was attributed to; the
    next four parameters are PSI's floor (`one`: the first parameter is a single id, which the
    engines plan and bind faster than a list). Rows: (window_id, feature, psi, ks, no_reference).

    Shares are stored normalised, so each window bin meets its reference bin by a join against
    the (small) reference tables: a numeric feature's bins align one to one (the edges are the
    reference's), and only the reference categories a window did not see are added apart. One
    window function then runs the cumulative sums, bins in order and categories by code point.
    """
    order = f"bin, {dialect.text_order('category')}"
    floor = "greatest({}, ?)"
    return f"""
WITH win AS (
    SELECT id, model, number FROM input_windows WHERE {"id = ?" if one else "id IN (SELECT unnest(CAST(? AS BIGINT[])))"}
), bins AS (
    SELECT b.window_id, b.feature, b.bin, b.category, b.weight AS p, coalesce(r.weight, 0) AS q,
           rf.feature IS NOT NULL AS referenced
    FROM input_bins b JOIN win ON b.window_id = win.id
    LEFT JOIN reference_features rf ON rf.model = win.model AND rf.number = win.number AND rf.feature = b.feature
    LEFT JOIN reference_bins r ON r.model = win.model AND r.number = win.number AND r.feature = b.feature
                              AND r.bin = b.bin AND r.category = b.category
), unseen AS (
    SELECT c.window_id, r.feature, r.bin, r.category, 0.0 AS p, r.weight AS q, true AS referenced
    FROM (SELECT DISTINCT window_id, feature FROM bins WHERE category <> '' AND referenced) c
    JOIN win ON win.id = c.window_id
    JOIN reference_bins r ON r.model = win.model AND r.number = win.number AND r.feature = c.feature
    WHERE NOT EXISTS (SELECT 1 FROM input_bins s WHERE s.window_id = c.window_id AND s.feature = c.feature
                                                   AND s.category = r.category)
), terms AS (
    SELECT window_id, feature, referenced,
           ({floor.format("p")} - {floor.format("q")}) * ln({floor.format("p")} / {floor.format("q")}) AS term,
           sum(p - q) OVER (PARTITION BY window_id, feature ORDER BY {order}
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS gap
    FROM (SELECT * FROM bins UNION ALL SELECT * FROM unseen) joined
)
SELECT window_id, feature, CASE WHEN bool_or(referenced) THEN sum(term) ELSE 0.0 END,
       CASE WHEN bool_or(referenced) THEN max(abs(gap)) ELSE 0.0 END, NOT bool_or(referenced)
FROM terms GROUP BY window_id, feature
"""


def compute_drift(execute: Execute, dialect: Dialect, window_ids: Sequence[int]) -> dict[int, dict[str, Drift]]:
    """window id -> feature -> its drift, in one statement for all the windows."""
    one = len(window_ids) == 1
    ids: object = window_ids[0] if one else list(window_ids)
    found = execute(drift_statement(dialect, one), [ids, PSI_FLOOR, PSI_FLOOR, PSI_FLOOR, PSI_FLOOR])
    result: dict[int, dict[str, Drift]] = {}
    for window_id, feature, psi, ks, no_reference in found:
        # Rounding can leave a hair above 1 or below 0; the distance is a share of the whole.
        result.setdefault(int(window_id), {})[feature] = Drift(feature, max(float(psi), 0.0),
                                                               min(max(float(ks), 0.0), 1.0), bool(no_reference))  # fmt: skip
    return result


def stored_windows(execute: Execute, dialect: Dialect, model: str, stage: str, *, number: int | None,
                   since: datetime | None, until: datetime | None, segment: str | None,
                   limit: int) -> list[StoredWindow]:  # fmt: skip
    """A stage's windows, newest first, with their features' drift (features in name order)."""
    where, params = ["model = ?", "stage = ?"], list[object]([model, stage])
    for condition, value in (("number = ?", number), ("window_end >= ?", since), ("window_end < ?", until),
                             ("segment = ?", segment)):  # fmt: skip
        if value is not None:
            where.append(condition)
            params.append(value)
    found = execute(f"SELECT {WINDOW_COLUMNS} FROM input_windows WHERE {' AND '.join(where)} "
                    "ORDER BY window_end DESC, id DESC LIMIT ?", [*params, limit])  # fmt: skip
    return with_features(execute, dialect, found)


def windows_by_id(execute: Execute, dialect: Dialect, ids: Sequence[int]) -> list[StoredWindow]:
    found = execute(f"SELECT {WINDOW_COLUMNS} FROM input_windows WHERE id IN (SELECT unnest(CAST(? AS BIGINT[])))",
                    [list(ids)])  # fmt: skip
    return with_features(execute, dialect, found)


def with_features(execute: Execute, dialect: Dialect, found: list[tuple[Any, ...]]) -> list[StoredWindow]:
    windows = [StoredWindow(int(i), m, s, int(n), end, seg, float(psi), float(ks), worst, int(rev), [])
               for i, m, s, n, end, seg, psi, ks, worst, rev in found]  # fmt: skip
    if not windows:
        return windows
    by_id = {w.id: w for w in windows}
    for window_id, feature, psi, ks, no_reference in execute(
        "SELECT window_id, feature, psi, ks, no_reference FROM input_drift "
        f"WHERE window_id IN (SELECT unnest(CAST(? AS BIGINT[]))) ORDER BY window_id, {dialect.text_order('feature')}",
        [list(by_id)],
    ):
        by_id[int(window_id)].features.append(Drift(feature, float(psi), float(ks), bool(no_reference)))
    return windows
