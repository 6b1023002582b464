"""The production tables (migration 10): points kept on the version that held the stage, and
the request ids of log calls. Written once for both backends; each function takes the
statement runner of a reader cursor or of the write transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from studbook.daemon.domain.production import RecordedPoint, StoredPoint
from studbook.daemon.store.dialect import Dialect

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Insert = Callable[[str, Any], None]

POINT_COLUMNS = ("model", "stage", "number", "metric", "segment", "window_end", "value", "revision")


class LoggedRequest(NamedTuple):
    """What a log call with a request_id recorded, kept to answer its retries."""

    stage: str
    recorded: int
    # [[number, count], ...] in the order of the call's points.
    runs: list[list[int]]
    revision: int


def point_rows(model: str, stage: str, revision: int, points: Sequence[StoredPoint]) -> list[tuple[Any, ...]]:
    return [(model, stage, p.number, p.key, p.segment, p.window_end, p.value, revision) for p in points]


def request_row(model: str, request_id: str, logged: LoggedRequest, time: datetime) -> tuple[Any, ...]:
    return (model, request_id, logged.stage, logged.recorded, json.dumps(logged.runs, separators=(",", ":")),
            logged.revision, time)  # fmt: skip


def logged_from_row(row: tuple[Any, ...]) -> LoggedRequest:
    """A request row as `request_row` makes it."""
    return LoggedRequest(row[2], int(row[3]), json.loads(row[4]), int(row[5]))


def logged_request(run: Run, model: str, request_id: str) -> LoggedRequest | None:
    found = run(
        "SELECT stage, recorded, versions, revision FROM production_requests WHERE model = ? AND request_id = ?",
        [model, request_id],
    )
    if not found:
        return None
    stage, recorded, runs, revision = found[0]
    return LoggedRequest(stage, int(recorded), json.loads(runs), int(revision))


def points(run: Run, dialect: Dialect, model: str, stage: str, *, keys: Sequence[str] = (), segment: str | None = None,
           since: datetime | None = None, until: datetime | None = None,
           number: int | None = None, limit: int | None = None) -> list[RecordedPoint]:  # fmt: skip
    """A stage's points in one query, by version, key, segment and time: the stage index's range,
    narrowed to the keys, segment, window and version asked for; at most `limit` of them. Times
    come as microseconds, no datetime built per point: GetProductionRecord of 9,600 points took
    30 ms instead of 49 (measured alternately, with `fetched` looking only at TIMESTAMP columns)."""
    where = ["model = ?", "stage = ?"]
    params: list[Any] = [model, stage]
    if keys:
        where.append("metric IN (SELECT unnest(CAST(? AS VARCHAR[])))")
        params.append(list(keys))
    for condition, value in (("segment = ?", segment), ("window_end >= ?", since), ("window_end < ?", until),
                             ("number = ?", number)):  # fmt: skip
        if value is not None:
            where.append(condition)
            params.append(value)
    found = run(
        f"SELECT number, metric, segment, {dialect.epoch_micros('window_end')}, value FROM production_points "
        f"WHERE {' AND '.join(where)} ORDER BY number, metric, segment, window_end, revision"
        + (" LIMIT ?" if limit is not None else ""),
        [*params, limit] if limit is not None else params,
    )
    return list(map(RecordedPoint._make, found))


def evaluation_metrics(run: Run, model: str, numbers: Sequence[int],
                       keys: Sequence[str] = ()) -> list[tuple[int, str, float]]:  # fmt: skip
    """(number, key, value) of the versions' own metrics recorded without a split, at their last
    step (the summary rows), in one query whatever the number of versions."""
    if not numbers:
        return []
    where = "model = ? AND split = '' AND number IN (SELECT unnest(CAST(? AS BIGINT[])))"
    params: list[Any] = [model, list(numbers)]
    if keys:
        where += " AND key IN (SELECT unnest(CAST(? AS VARCHAR[])))"
        params.append(list(keys))
    return [(int(n), key, float(value)) for n, key, value in
            run(f"SELECT number, key, value FROM metric_summary WHERE {where} ORDER BY number, key", params)]  # fmt: skip
