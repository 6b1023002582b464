"""`studbook metrics`: a version's metric series as a summary table with sparklines, one
series step by step, or JSON keyed by metric and split."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from studbook.cli.output import PLAIN, Painter, format_number, format_time, table
from studbook.client.safe_text import safe
from studbook.v1 import resources_pb2

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 30
MIN_SPARK = 8
# A series that never changes sits mid-height: neither its best nor its worst.
FLAT = BARS[3]


@dataclass
class Series:
    """The observations of one (key, split) pair, in the daemon's order (by step)."""

    key: str
    split: str
    points: list[resources_pb2.Metric] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]

    @property
    def finite(self) -> list[float]:
        return [v for v in self.values if math.isfinite(v)]


def series_of(metrics: Iterable[resources_pb2.Metric]) -> list[Series]:
    """Observations grouped by (key, split), keeping the order they came in."""
    grouped: dict[tuple[str, str], Series] = {}
    for metric in metrics:
        pair = (metric.key, metric.split)
        grouped.setdefault(pair, Series(*pair)).points.append(metric)
    return list(grouped.values())


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH) -> str:
    """One bar per value, lowest ▁ to highest █; a longer series is averaged into `width` bars.

    Values that are not finite (NaN, ±inf) leave a blank, so a diverged run shows as a gap
    rather than flattening everything else.
    """
    if not values or width <= 0:
        return ""
    buckets = _buckets(values, width)
    finite = [v for v in buckets if v is not None]
    if not finite:
        return " " * len(buckets)
    # Halves: the span of two huge values of opposite sign would overflow to inf.
    low, high = min(finite) / 2, max(finite) / 2
    span = high - low
    bars = []
    for value in buckets:
        if value is None:
            bars.append(" ")
        elif span == 0:
            bars.append(FLAT)
        else:
            bars.append(BARS[round((value / 2 - low) / span * (len(BARS) - 1))])
    return "".join(bars)


def _buckets(values: Sequence[float], width: int) -> list[float | None]:
    """At most `width` averages of consecutive values; None where a bucket holds no finite value."""
    count = min(len(values), width)
    out: list[float | None] = []
    for i in range(count):
        chunk = [v for v in values[i * len(values) // count : (i + 1) * len(values) // count] if math.isfinite(v)]
        # Halved and divided first: the sum of a few huge values would overflow, and fsum's exact
        # partial sums can pass the largest float even when the mean does not; the doubled half is
        # held within the floats (a mean rounded one step past the largest one).
        half = math.fsum(v / (2 * len(chunk)) for v in chunk) if chunk else None
        out.append(max(-sys.float_info.max, min(sys.float_info.max, half * 2)) if half is not None else None)
    return out


def _steps(series: Series) -> str:
    stepped = sum(1 for p in series.points if p.HasField("step"))
    return str(stepped) if stepped else "-"


def _stat(values: list[float], pick: Any) -> str:
    return format_number(pick(values)) if values else "-"


def summary_table(all_series: Sequence[Series], paint: Painter = PLAIN, columns: int | None = None) -> str:
    """One row per (key, split): how many steps, first, last, min, max and the curve.

    The curve takes what `columns` leaves (between MIN_SPARK and SPARK_WIDTH bars), so the
    table fits an 80-column terminal; a single value has no curve to draw.
    """
    rows = [
        (
            safe(s.key),
            safe(s.split) or "-",
            _steps(s),
            format_number(s.values[0]),
            format_number(s.values[-1]),
            _stat(s.finite, min),
            _stat(s.finite, max),
        )
        for s in all_series
    ]
    headers = ("KEY", "SPLIT", "STEPS", "FIRST", "LAST", "MIN", "MAX")
    used = max(len(line) for line in table(headers, rows).splitlines()) + 2
    room = SPARK_WIDTH if columns is None else max(MIN_SPARK, min(SPARK_WIDTH, columns - used - 1))
    curves = [paint(sparkline(s.values, room), "cyan") if len(s.points) > 1 else "" for s in all_series]
    return table((*headers, "TREND"), [(*row, curve) for row, curve in zip(rows, curves)], paint=paint)


def steps_table(all_series: Sequence[Series], paint: Painter = PLAIN) -> str:
    """Every observation of one key: step, split, value, time."""
    rows = [
        (str(p.step) if p.HasField("step") else "-", safe(s.split) or "-", format_number(p.value), format_time(p.time))
        for s in all_series
        for p in s.points
    ]
    return table(("STEP", "SPLIT", "VALUE", "TIME"), rows, paint=paint)


def as_json(version: str, all_series: Sequence[Series]) -> dict[str, Any]:
    """`{"version": ..., "metrics": {KEY: {SPLIT: [{"step", "value", "time"}, ...]}}}`.

    A map all the way down, so a script reads `.metrics.loss.validation[-1].value`;
    the split of a value logged without one is "". `step` is null for a summary value,
    `time` an RFC 3339 string in UTC; a value that is not finite is "NaN", "Infinity"
    or "-Infinity" (as the proto JSON mapping spells it: JSON has no such numbers).
    """
    metrics: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for s in all_series:
        metrics.setdefault(s.key, {})[s.split] = [_point(p) for p in s.points]
    return {"version": version, "metrics": metrics}


def _point(metric: resources_pb2.Metric) -> dict[str, Any]:
    return {
        "step": metric.step if metric.HasField("step") else None,
        "value": _json_number(metric.value),
        "time": _rfc3339(metric) if metric.HasField("time") else None,
    }


def _json_number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _rfc3339(metric: resources_pb2.Metric) -> str:
    return metric.time.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")
