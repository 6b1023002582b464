"""Production metrics: the rules a log call's points follow, and what one call recorded."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.monitors import MonitorStatus
from studbook.daemon.domain.names import MAX_METRICS_PER_CALL, METRIC_KEY

# Like LogMetrics: a serving job batches its windows; more than this is a bug or belongs in
# several calls.
MAX_POINTS_PER_CALL = MAX_METRICS_PER_CALL
# A window that ends later than this after the daemon's clock is a wrong clock or a wrong unit.
MAX_FUTURE = timedelta(minutes=1)
# Before this, a window_end is a zero or a unit mistake (seconds read as milliseconds), not data.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
MAX_SEGMENT = 64


@dataclass(frozen=True)
class ProductionPoint:
    key: str
    value: float
    # None: the time of the call (filled in by `stamped`).
    window_end: datetime | None = None
    segment: str = ""


class RecordedPoint(NamedTuple):
    """A recorded point as a record reads it: its window_end in microseconds since 1970 (UTC)."""

    number: int
    key: str
    segment: str
    end_us: int
    value: float


@dataclass(frozen=True)
class StoredPoint:
    """A recorded point with the version it was attributed to."""

    number: int
    key: str
    segment: str
    window_end: datetime
    value: float


@dataclass
class MetricsLogged:
    """What one log call recorded: the answer to the caller and the payload of its one
    `production.metrics_logged` event."""

    model: str
    stage: str
    # The version each point was attributed to, in the order of the points.
    numbers: list[int]
    first_window_end: datetime | None = None
    last_window_end: datetime | None = None
    keys: list[str] = field(default_factory=list)
    request_id: str = ""
    revision: int = 0
    # The monitor states the call changed (a breach or a recovery), checked after the commit.
    changed: list[MonitorStatus] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        return len(self.numbers)

    def versions(self) -> list[int]:
        """Each version once, in the order its first point came."""
        return list(dict.fromkeys(self.numbers))


def validate_points(points: Sequence[ProductionPoint], now: datetime) -> list[ProductionPoint]:
    """The points with every window_end set (the call's time where unset), or the first rule
    a point breaks, naming the point by its index."""
    if not points:
        raise InvalidArgument("no points given: send at least one, e.g. key auc, value 0.91", reason="NO_POINTS",
                              field="points")  # fmt: skip
    if len(points) > MAX_POINTS_PER_CALL:
        raise InvalidArgument(
            f"too many points in one call: {len(points)} (at most {MAX_POINTS_PER_CALL}); send the rest in "
            "further calls",
            reason="TOO_MANY_POINTS",
            field="points",
            limit=MAX_POINTS_PER_CALL,
        )
    latest = now + MAX_FUTURE
    stamped: list[ProductionPoint] = []
    for index, point in enumerate(points):
        if not METRIC_KEY.fullmatch(point.key):
            raise InvalidArgument(
                f"points[{index}]: invalid metric key {point.key[:100]!r}: start with a letter or '_', then "
                "letters, digits or _.:/@-, at most 128 characters",
                reason="INVALID_METRIC",
                field=f"points[{index}].key",
                key=point.key[:100],
            )
        if not math.isfinite(point.value):
            raise InvalidArgument(f"points[{index}]: {point.key!r} is not a finite number ({point.value})",
                                  reason="INVALID_METRIC", field=f"points[{index}].value", key=point.key)  # fmt: skip
        if len(point.segment) > MAX_SEGMENT or not point.segment.isprintable():
            raise InvalidArgument(
                f"points[{index}]: segment {point.segment[:100]!r} must be at most {MAX_SEGMENT} printable characters",
                reason="INVALID_SEGMENT",
                field=f"points[{index}].segment",
            )
        window_end = point.window_end or now
        if window_end > latest:
            raise InvalidArgument(
                f"points[{index}]: window_end {iso_time(window_end)} is more than a minute after the daemon's time "
                f"{iso_time(now)}; send the end of a window that has passed (check the clock and the time unit)",
                reason="WINDOW_END_IN_FUTURE",
                field=f"points[{index}].window_end",
            )
        if window_end < EARLIEST:
            raise InvalidArgument(
                f"points[{index}]: window_end {iso_time(window_end)} is before 1970-01-02; send the end of the window "
                "measured (check the time unit)",
                reason="WINDOW_END_OUT_OF_RANGE",
                field=f"points[{index}].window_end",
            )
        stamped.append(point if point.window_end is not None else replace(point, window_end=now))
    return stamped


def run_lengths(numbers: Sequence[int]) -> list[list[int]]:
    """[[number, count], ...]: a call's attribution kept small (a batch mostly has one holder)."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][0] == number:
            runs[-1][1] += 1
        else:
            runs.append([number, 1])
    return runs


def expand_runs(runs: Sequence[Sequence[int]]) -> list[int]:
    return [number for number, count in runs for _ in range(count)]


def iso_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
