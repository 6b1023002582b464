"""Input statistics in the catalog: reference summaries, production windows, and the drift of
each window from its version's reference, computed set-wise by one statement.

A summary is stored one row per bin: a histogram's bins by position (category ''), a feature's
categories by name (bin 0). Drift joins a window's bins to its version's reference bins on
(feature, bin, category), a FULL JOIN so a bin (or category) either side lacks counts as empty,
then PSI is a sum over the joined rows and the KS-style distance the largest gap between running
sums, bins in order and categories in code-point order (`domain.drift.feature_drift` is the same
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
    """(feature, bin, category, share) of one summary: its weights kept as shares of the whole,
    so the statement's own normalisation divides by about 1 and cannot underflow."""
    if stats.numeric:
        return [(stats.feature, i, "", w) for i, w in enumerate(stats.shares())]
    return [(stats.feature, 0, name, w) for name, w in zip(stats.categories, stats.shares())]


def has_reference(execute: Execute, model: str, number: int) -> bool:
    return bool(execute("SELECT 1 FROM reference_features WHERE model = ? AND number = ? LIMIT 1", [model, number]))


def reference_shapes(execute: Execute, model: str, number: int,
                     features: Sequence[str]) -> dict[str, tuple[str, tuple[float, ...]]]:  # fmt: skip
    """feature -> (kind, edges) of the version's reference, for the features named that it has."""
    found = execute(
        "SELECT feature, kind, edges FROM reference_features WHERE model = ? AND number = ? "
        "AND feature IN (SELECT unnest(CAST(? AS VARCHAR[])))",
        [model, number, list(features)],
    )
    return {f: (kind, tuple(json.loads(edges)) if kind == NUMERIC else ()) for f, kind, edges in found}


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


def drift_statement(dialect: Dialect) -> str:
    """PSI and the KS-style distance of every feature of the windows whose ids the one list
    parameter gives, against the reference of the version each window was attributed to; the
    next four parameters are PSI's floor. Rows: (window_id, feature, psi, ks, no_reference)."""
    order = f"bin, {dialect.text_order('category')}"
    floor = "greatest({}, ?)"
    return f"""
WITH win AS (
    SELECT id, model, number FROM input_windows WHERE id IN (SELECT unnest(CAST(? AS BIGINT[])))
), logged AS (
    SELECT DISTINCT b.window_id, b.feature, win.model, win.number
    FROM input_bins b JOIN win ON b.window_id = win.id
), matched AS (
    SELECT l.window_id, l.feature, l.model, l.number
    FROM logged l JOIN reference_features rf ON rf.model = l.model AND rf.number = l.number AND rf.feature = l.feature
), actual AS (
    SELECT b.window_id, b.feature, b.bin, b.category,
           b.weight / sum(b.weight) OVER (PARTITION BY b.window_id, b.feature) AS share
    FROM input_bins b JOIN matched m ON b.window_id = m.window_id AND b.feature = m.feature
), reference AS (
    SELECT r.model, r.number, r.feature, r.bin, r.category,
           r.weight / sum(r.weight) OVER (PARTITION BY r.model, r.number, r.feature) AS share
    FROM reference_bins r WHERE EXISTS (SELECT 1 FROM win WHERE win.model = r.model AND win.number = r.number)
), expected AS (
    SELECT m.window_id, r.feature, r.bin, r.category, r.share
    FROM reference r JOIN matched m ON r.model = m.model AND r.number = m.number AND r.feature = m.feature
), joined AS (
    SELECT coalesce(a.window_id, e.window_id) AS window_id, coalesce(a.feature, e.feature) AS feature,
           coalesce(a.bin, e.bin) AS bin, coalesce(a.category, e.category) AS category,
           coalesce(a.share, 0) AS p, coalesce(e.share, 0) AS q
    FROM actual a FULL JOIN expected e ON a.window_id = e.window_id AND a.feature = e.feature
                                      AND a.bin = e.bin AND a.category = e.category
), terms AS (
    SELECT window_id, feature,
           ({floor.format("p")} - {floor.format("q")}) * ln({floor.format("p")} / {floor.format("q")}) AS term,
           sum(p - q) OVER (PARTITION BY window_id, feature ORDER BY {order}
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS gap
    FROM joined
)
SELECT window_id, feature, sum(term), max(abs(gap)), false FROM terms GROUP BY window_id, feature
UNION ALL
SELECT l.window_id, l.feature, 0.0, 0.0, true FROM logged l
WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.window_id = l.window_id AND m.feature = l.feature)
"""


def compute_drift(execute: Execute, dialect: Dialect, window_ids: Sequence[int]) -> dict[int, dict[str, Drift]]:
    """window id -> feature -> its drift, in one statement for all the windows."""
    found = execute(drift_statement(dialect), [list(window_ids), PSI_FLOOR, PSI_FLOOR, PSI_FLOOR, PSI_FLOOR])
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
