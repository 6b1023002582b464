"""Who held each stage at a moment, since when and by which change: the daemon's holders, explained."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from studbook.client.names import short_promotion
from studbook.tui import cells
from studbook.tui.cells import ThemeText
from studbook.tui.timefmt import TimeFormat, to_datetime
from studbook.v1 import stages_pb2

# Asked about first, as it is what people ask about.
FIRST = ("production", "staging")


@dataclass(frozen=True)
class Holding:
    label: str
    # `models/m/versions/n`, as the daemon answered.
    version: str
    # The change that gave it `version`: the last one of `label` at or before the moment, when
    # the history read holds it.
    change: stages_pb2.StageChange | None


def holdings(holders: Mapping[str, str], changes: Iterable[stages_pb2.StageChange], at: datetime) -> list[Holding]:
    """One per stage or alias held at `at` (production, staging, then by name).

    `changes` are newest first, as the daemon lists them; the daemon's `holders` decide who
    held what, the changes only say since when and how.
    """
    found: dict[str, stages_pb2.StageChange] = {}
    for change in changes:
        when = to_datetime(change.time)
        if change.stage in holders and change.stage not in found and when is not None and when <= at:
            found[change.stage] = change
    order = sorted(holders, key=lambda label: (FIRST.index(label) if label in FIRST else len(FIRST), label))
    return [Holding(label, holders[label], _matching(found.get(label), holders[label])) for label in order]


def _matching(change: stages_pb2.StageChange | None, version: str) -> stages_pb2.StageChange | None:
    return change if change is not None and change.version == version else None


def missing(holdings_: Sequence[Holding]) -> bool:
    """Whether some holder's change lies beyond the changes read so far."""
    return any(h.change is None for h in holdings_)


def answer_text(model: str, at: datetime, holdings_: Sequence[Holding], times: TimeFormat, paint: ThemeText) -> Text:
    """`at 2026-11-03 14:00:00 UTC: production v9 since … (2d ago), by promotion fraud/12 of ana@lab: "reason"`."""
    lines = [paint(f"at {times.moment(at)}:", "bold")]
    if not holdings_:
        lines.append(paint(f"  no stage or alias of {cells.model_id(model)} was held yet", "muted"))
    for holding in holdings_:
        parts = [paint(f"  {holding.label} ", "accent"), paint(cells.number(holding.version), "bold")]
        change = holding.change
        if change is not None:
            how = "rollback" if change.rollback else "promotion"
            by = f" {short_promotion(change.promotion)}" if change.promotion else ""
            said = f': "{change.reason}"' if change.reason else ""
            parts.append(paint(f" since {times.both(change.time)}, by {how}{by} of {change.actor}{said}"))
        else:
            parts.append(paint(" (its change is older than the history read here)", "muted"))
        lines.append(Text.assemble(*parts))
    answer = Text("\n").join(lines)
    answer.no_wrap = False
    return answer
