"""`studbook observe` and `studbook production` as text: what was recorded and to which version;
each holder of a stage with its tenures and, per series, count, last, mean and a sparkline."""

from __future__ import annotations

import math
from collections.abc import Sequence

from studbook.cli.metrics_view import SPARK_WIDTH, sparkline
from studbook.cli.output import PLAIN, Painter, format_number, format_time, section, table
from studbook.client.names import short_version
from studbook.client.safe_text import safe
from studbook.v1 import production_pb2


def observed(target: str, points: Sequence[production_pb2.ProductionPoint],
             response: production_pb2.LogProductionMetricsResponse, paint: Painter = PLAIN) -> str:  # fmt: skip
    """One line per point: key, value, segment, window end and the version it went to."""
    rows = [
        (safe(p.key), format_number(p.value), safe(p.segment) or "-",
         format_time(p.window_end) if p.HasField("window_end") else "now", short_version(version))
        for p, version in zip(points, response.versions)
    ]  # fmt: skip
    held = sorted({short_version(v) for v in response.versions})
    title = f"recorded {response.recorded} point{'s' if response.recorded != 1 else ''} on {safe(target)} " + (
        f"(held by {', '.join(held)})" if held else ""
    )
    return section(title.strip(), table(("KEY", "VALUE", "SEGMENT", "WINDOW END", "VERSION"), rows, paint=paint),
                   paint=paint)  # fmt: skip


def tenure_line(tenure: production_pb2.Tenure) -> str:
    """`2026-11-03 14:05:12 +01:00 -> now (rollback, fraud/promotions/12)`."""
    end = format_time(tenure.end) if tenure.HasField("end") else "now"
    how = "rollback" if tenure.rollback else "promotion"
    promotion = tenure.promotion.removeprefix("models/").replace("/promotions/", "/") if tenure.promotion else ""
    return f"{format_time(tenure.start)} -> {end}  {how}" + (f" {promotion}" if promotion else "")


def record(found: production_pb2.ProductionRecord, paint: Painter = PLAIN, columns: int | None = None) -> str:
    """Each holder, oldest tenure first: when it held the stage, then its series."""
    target = f"{found.model.removeprefix('models/')}@{found.stage}"
    if not found.holders:
        return f"no version has held {safe(target)} (in the time asked for)"
    blocks = [paint(f"{safe(target)}: {len(found.holders)} holder{'s' if len(found.holders) != 1 else ''}", "bold")]
    for holder in found.holders:
        held = "\n".join(tenure_line(t) for t in holder.tenures)
        body = held + "\n\n" + (series_table(holder, paint, columns) if holder.series else "no production points")
        blocks.append(section(short_version(holder.version), body, paint=paint))
    return "\n\n".join(blocks)


def series_table(holder: production_pb2.HolderRecord, paint: Painter = PLAIN, columns: int | None = None) -> str:
    """One row per (key, segment): count, last, mean, the version's own evaluation value, the trend."""
    rows = []
    for s in holder.series:
        values = [x.value for x in s.samples]
        mean = math.fsum(v / len(values) for v in values) if values else math.nan
        evaluation = holder.evaluation.get(s.key)
        rows.append((safe(s.key), safe(s.segment) or "-", str(len(values)), format_number(values[-1]) if values else "-",
                     format_number(mean) if values else "-",
                     format_number(evaluation) if evaluation is not None else "-"))  # fmt: skip
    headers = ("KEY", "SEGMENT", "COUNT", "LAST", "MEAN", "EVALUATION")
    used = max(len(line) for line in table(headers, rows).splitlines()) + 4
    room = SPARK_WIDTH if columns is None else max(8, min(SPARK_WIDTH, columns - used - 1))
    curves = [paint(sparkline([x.value for x in s.samples], room), "cyan") if len(s.samples) > 1 else ""
              for s in holder.series]  # fmt: skip
    return table((*headers, "TREND"), [(*row, curve) for row, curve in zip(rows, curves)], paint=paint)
