"""The monitor states table (migration 0012): one row per model and stage a monitor watches,
written inside the writer's transaction that checked it, read by ListMonitorStates and status.

Findings and the candidate are JSON documents: they are read whole with their row, never queried.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from studbook.daemon.domain.monitors import Basis, Candidate, DriftWindow, Finding, MonitorStatus, Ranked, Stretch

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

COLUMNS = "model, stage, number, breached, since, revision, findings, candidate, auto_rollback, check_time"


def read_state(run: Run, model: str, stage: str) -> MonitorStatus | None:
    found = run(f"SELECT {COLUMNS} FROM monitor_states WHERE model = ? AND stage = ?", [model, stage])
    return _from_row(found[0]) if found else None


def read_states(run: Run, model: str, breached_only: bool) -> list[MonitorStatus]:
    """Every stored state (of `model` when given), by model and stage."""
    where, params = [], []
    if model:
        where.append("model = ?")
        params.append(model)
    if breached_only:
        where.append("breached")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return [_from_row(r) for r in run(f"SELECT {COLUMNS} FROM monitor_states{clause} ORDER BY model, stage", params)]


def write_state(run: Run, state: MonitorStatus) -> None:
    """Replaces the stage's row; inside the writer's transaction, so checks never interleave."""
    run("DELETE FROM monitor_states WHERE model = ? AND stage = ?", [state.model, state.stage])
    run(f"INSERT INTO monitor_states ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(state))


def production_windows(run: Run, model: str, stage: str, number: int, segment: str, keys: Sequence[str],
                       last: int, since: datetime | None) -> dict[str, list[float]]:  # fmt: skip
    """Per key, the version's newest `last` windows in `stage` from `since` on (its current
    tenure): one value per distinct window_end (the mean of its points), newest first. One
    statement for every key, ranked by a window function."""
    if not keys:
        return {}
    bound = " AND window_end >= ?" if since is not None else ""
    found = run(
        "SELECT metric, value FROM (SELECT metric, window_end, avg(value) AS value, row_number() OVER "
        "(PARTITION BY metric ORDER BY window_end DESC) AS place FROM production_points WHERE model = ? AND stage = ? "
        f"AND number = ? AND segment = ? AND metric IN ({', '.join('?' for _ in keys)}){bound} "
        "GROUP BY metric, window_end) AS windows WHERE place <= ? ORDER BY metric, place",
        [model, stage, number, segment, *keys, *([since] if since is not None else []), last],
    )  # fmt: skip
    windows: dict[str, list[float]] = {}
    for key, value in found:
        windows.setdefault(key, []).append(float(value))
    return windows


def input_windows(run: Run, model: str, stage: str, number: int, segment: str, last: int,
                  since: datetime | None) -> list[DriftWindow]:  # fmt: skip
    """The version's newest `last` input windows in `stage` from `since` on, newest first, with
    the feature of the largest psi (kept on the window) and of the largest ks."""
    bound = " AND w.window_end >= ?" if since is not None else ""
    found = run(
        "SELECT w.window_end, w.max_psi, w.max_ks, w.worst, (SELECT d.feature FROM input_drift d WHERE d.window_id "
        "= w.id ORDER BY d.ks DESC, d.feature LIMIT 1) FROM input_windows w WHERE w.model = ? AND w.stage = ? AND "
        f"w.number = ? AND w.segment = ?{bound} ORDER BY w.window_end DESC, w.id DESC LIMIT ?",
        [model, stage, number, segment, *([since] if since is not None else []), last],
    )  # fmt: skip
    return [DriftWindow(end, float(psi), float(ks), worst or "", ks_feature or "") for end, psi, ks, worst, ks_feature
            in found]  # fmt: skip


def production_means(run: Run, model: str, stage: str, key: str, segment: str,
                     numbers: Sequence[int]) -> dict[int, float]:  # fmt: skip
    """Each version's mean figure for `key` over its points in `stage` (so over its tenures
    there), in one statement for all of them."""
    if not numbers:
        return {}
    found = run(
        "SELECT number, avg(value) FROM production_points WHERE model = ? AND stage = ? AND metric = ? AND segment = ? "
        f"AND number IN ({', '.join('?' for _ in numbers)}) GROUP BY number",
        [model, stage, key, segment, *numbers],
    )  # fmt: skip
    return {int(number): float(mean) for number, mean in found}


def _row(s: MonitorStatus) -> list[Any]:
    findings = json.dumps([_finding_json(f) for f in s.findings])
    candidate = json.dumps(_candidate_json(s.candidate)) if s.candidate is not None else ""
    return [s.model, s.stage, s.number, s.breached, s.since, s.revision, findings, candidate, s.auto_rollback,
            s.checked]  # fmt: skip


def _from_row(row: tuple[Any, ...]) -> MonitorStatus:
    model, stage, number, breached, since, revision, findings, candidate, auto_rollback, checked = row
    return MonitorStatus(
        model=model, stage=stage, number=int(number) if number is not None else None, breached=bool(breached),
        since=since, revision=int(revision), findings=tuple(_finding(f) for f in json.loads(findings)),
        candidate=_candidate(json.loads(candidate)) if candidate else None, auto_rollback=auto_rollback,
        checked=checked,
    )  # fmt: skip


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "subject": f.subject, "observed": _number(f.observed), "threshold": _number(f.threshold),
            "breached": f.breached, "in_breach": f.windows_in_breach, "passing": f.windows_passing}  # fmt: skip


def _finding(d: dict[str, Any]) -> Finding:
    return Finding(d["rule"], d["subject"], _float(d["observed"]), _float(d["threshold"]), d["breached"],
                   d["in_breach"], d["passing"])  # fmt: skip


def _candidate_json(c: Candidate) -> dict[str, Any]:
    return {
        "model": c.model, "stage": c.stage, "holder": c.holder, "key": c.key, "back": c.rollback_brings_back,
        "summary": c.summary,
        "ranking": [{"number": r.number, "basis": r.basis.value, "value": _number(r.value),
                     "tenures": [[t.start.isoformat(), t.end.isoformat() if t.end else None, t.promotion, t.rollback]
                                 for t in r.tenures]} for r in c.ranking],
    }  # fmt: skip


def _candidate(d: dict[str, Any]) -> Candidate:
    ranking = tuple(
        Ranked(r["number"], Basis(r["basis"]), _float(r["value"]), tuple(
            Stretch(datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None, promotion, rollback)
            for start, end, promotion, rollback in r["tenures"]))
        for r in d["ranking"]
    )  # fmt: skip
    return Candidate(d["model"], d["stage"], d["holder"], d["key"], ranking, d["back"], d["summary"])


def _number(value: float) -> float | str:
    # JSON has no NaN or infinity: kept as text so a NaN production figure survives the round trip.
    return value if math.isfinite(value) else repr(value)


def _float(value: float | str) -> float:
    return float(value)
