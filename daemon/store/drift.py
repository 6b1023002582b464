"""Input statistics in the catalog: reference summaries, production windows, and the drift of
each window from its version's reference, computed set-wise by one statement.

A summary is stored one row per bin: a histogram's bins by position (category ''), a feature's
categories by name (bin 0), each with its share and its running share. Drift joins a window's
bins to its version's reference bins: a histogram's bins align one to one, so PSI is a sum and
the KS-style distance a max of the running shares' gaps over that join; categories meet by
name in a full join (a category either side lacks counts as empty there), their running sums
taken in code-point order (`domain.drift.feature_drift` is the same arithmetic in Python, and
the tests hold the two together on both engines).
"""

from __future__ import annotations

import itertools
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


def bin_rows(stats: FeatureStats) -> list[tuple[str, int, str, float, float]]:
    """(feature, bin, category, share, running share) of one summary: its weights kept as shares
    of the whole, and each with the sum of the shares up to it, bins in order (categories in
    code-point order). Both are worked out here, once, rather than by every drift statement
    that reads them: the running share makes a numeric feature's KS-style distance a max over
    a join. It is summed as `domain.drift.feature_drift` sums, so the two agree to the bit."""
    shares = stats.shares()
    running = list(itertools.accumulate(shares))
    if stats.numeric:
        return [(stats.feature, i, "", w, c) for i, (w, c) in enumerate(zip(shares, running))]
    return [(stats.feature, 0, name, w, c) for name, w, c in zip(stats.categories, shares, running)]


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


def _term(dialect: Dialect, p: str, q: str) -> str:
    """One bin's PSI term, each share held up to PSI_FLOOR (four parameters, all the floor)."""
    floor = "greatest({}, ?)"
    return f"({floor.format(p)} - {floor.format(q)}) * ln({floor.format(p)} / {floor.format(q)})"


TERM_PARAMETERS = 4


def drift_statement(dialect: Dialect, windows: str = "list", categorical: bool = True) -> str:
    """PSI and the KS-style distance of every feature of some windows, against the reference of
    the version each window was attributed to. Rows: (window_id, feature, psi, ks, no_reference).

    `windows` says what the first parameters give: "list" the ids of stored windows (one list),
    "one" a stored window's id, "given" a window's (id, model, number) whose row is not written
    yet (the write path stores the window with its figures, rather than updating it after).
    The remaining parameters are PSI's floor (`TERM_PARAMETERS` for each part; `categorical`
    False leaves the categorical part out, for windows known to have numeric features only: a
    statement the engine plans and runs in about two thirds of the time; and with no filter on
    the category, PostgreSQL, before it has statistics of a young catalog, does not take the
    window's bins for a single row and join them by a nested loop, 30 times slower).

    A numeric feature's bins align one to one with its reference's (the edges are the
    reference's), and each bin holds its running share, stored at write time: its PSI is a sum
    and its KS-style distance a max over a plain join, with no sort. Only a categorical feature
    needs its running sums over the union of its window's and its reference's categories, in
    code-point order; one full join brings the categories either side lacks (as empty there).
    A feature whose version has no reference for it matches nothing: no_reference.
    """
    source = {
        "list": "SELECT id, model, number FROM input_windows WHERE id IN (SELECT unnest(CAST(? AS BIGINT[])))",
        "one": "SELECT id, model, number FROM input_windows WHERE id = ?",
        "given": "SELECT CAST(? AS BIGINT) AS id, CAST(? AS VARCHAR) AS model, CAST(? AS BIGINT) AS number",
    }[windows]
    categorical_part = f"""), seen AS (
    SELECT b.window_id, b.feature, b.category, b.weight FROM input_bins b JOIN win ON b.window_id = win.id
    WHERE b.category <> ''
), expected AS (
    SELECT c.window_id, r.feature, r.category, r.weight
    FROM (SELECT DISTINCT window_id, feature FROM seen) c JOIN win ON win.id = c.window_id
    JOIN reference_bins r ON r.model = win.model AND r.number = win.number AND r.feature = c.feature
                         AND r.category <> ''
), categorical AS (
    SELECT coalesce(s.window_id, e.window_id) AS window_id, coalesce(s.feature, e.feature) AS feature,
           coalesce(s.category, e.category) AS category, coalesce(s.weight, 0) AS p, e.weight AS q
    FROM seen s FULL JOIN expected e ON s.window_id = e.window_id AND s.feature = e.feature
                                    AND s.category = e.category
), terms AS (
    SELECT window_id, feature, referenced, term, gap FROM numeric
    UNION ALL
    SELECT window_id, feature, q IS NOT NULL, {_term(dialect, "p", "coalesce(q, 0)")},
           abs(sum(p - coalesce(q, 0)) OVER (PARTITION BY window_id, feature
                                             ORDER BY {dialect.text_order("category")}
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
    FROM categorical
)"""
    return f"""
WITH win AS ({source}
), numeric AS (
    SELECT b.window_id, b.feature, r.weight IS NOT NULL AS referenced,
           {_term(dialect, "b.weight", "coalesce(r.weight, 0)")} AS term,
           abs(b.cumulative - coalesce(r.cumulative, 0)) AS gap
    FROM input_bins b JOIN win ON b.window_id = win.id
    LEFT JOIN reference_bins r ON r.model = win.model AND r.number = win.number AND r.feature = b.feature
                              AND r.bin = b.bin AND r.category = b.category
    {"WHERE b.category = ''" if categorical else ""}
{categorical_part if categorical else ")"}
SELECT window_id, feature, CASE WHEN bool_or(referenced) THEN greatest(sum(term), 0.0) ELSE 0.0 END,
       CASE WHEN bool_or(referenced) THEN least(max(gap), 1.0) ELSE 0.0 END, NOT bool_or(referenced)
FROM {"terms" if categorical else "numeric"} GROUP BY window_id, feature
"""


def compute_drift(execute: Execute, dialect: Dialect, window_ids: Sequence[int]) -> dict[int, dict[str, Drift]]:
    """window id -> feature -> its drift, in one statement for all the windows."""
    one = len(window_ids) == 1
    ids: object = window_ids[0] if one else list(window_ids)
    return _drift_rows(execute(drift_statement(dialect, "one" if one else "list"), [ids, *_floors()]))


def compute_new_drift(execute: Execute, dialect: Dialect, window: StoredWindow,
                      stats: Sequence[FeatureStats]) -> dict[str, Drift]:  # fmt: skip
    """feature -> drift of a window whose bins are written but whose row is not yet."""
    categorical = any(not s.numeric for s in stats)
    found = execute(drift_statement(dialect, "given", categorical),
                    [window.id, window.model, window.number, *_floors(categorical)])  # fmt: skip
    return _drift_rows(found).get(window.id, {})


def _floors(categorical: bool = True) -> list[float]:
    return [PSI_FLOOR] * ((2 if categorical else 1) * TERM_PARAMETERS)


def _drift_rows(found: list[tuple[Any, ...]]) -> dict[int, dict[str, Drift]]:
    # The statement hands back the figures as Drift holds them (rounding's hair below 0 or
    # above 1 cut there), so a report over many windows costs a tuple a row here and no more.
    result: dict[int, dict[str, Drift]] = {}
    for row in found:
        window = result.get(row[0])
        if window is None:
            window = result[row[0]] = {}
        window[row[1]] = Drift(*row[1:])
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
