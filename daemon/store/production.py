"""The production tables (migration 10): points kept on the version that held the stage, and
the request ids of log calls. Written once for both backends; each function takes the
statement runner of a reader cursor or of the write transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from studbook.daemon.domain.production import StoredPoint

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


def logged_request(run: Run, model: str, request_id: str) -> LoggedRequest | None:
    found = run(
        "SELECT stage, recorded, versions, revision FROM production_requests WHERE model = ? AND request_id = ?",
        [model, request_id],
    )
    if not found:
        return None
    stage, recorded, runs, revision = found[0]
    return LoggedRequest(stage, int(recorded), json.loads(runs), int(revision))
