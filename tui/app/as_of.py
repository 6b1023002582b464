"""Who held each stage at a moment, since when and by which change: the daemon's holders, explained."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.console import Group, RenderableType
from studbook.client.names import short_promotion
from studbook.tui import cells
from studbook.tui.cells import ThemeText
from studbook.tui.timefmt import TimeFormat, to_datetime
from studbook.tui.widgets.detail_pane import Field, fields_table
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


def answer_text(
    model: str, at: datetime, holdings_: Sequence[Holding], times: TimeFormat, paint: ThemeText
) -> RenderableType:
    """`at 2026-11-03 14:00:00 UTC:`, then per stage `production v9  since … (2d ago), by promotion
    fraud/12 of ana@lab: "reason"`, the explanation wrapped beside the stage, never under it."""
    heading = paint(f"at {times.moment(at)}:", "bold")
    if not holdings_:
        return Group(heading, paint(f"no stage or alias of {cells.model_id(model)} was held yet", "muted"))
    rows: list[Field] = []
    for holding in holdings_:
        change = holding.change
        if change is None:
            rows.append((f"{holding.label} {cells.number(holding.version)}",
                         paint("(its change is older than the history read here)", "muted")))  # fmt: skip
            continue
        how = "rollback" if change.rollback else "promotion"
        by = f" {short_promotion(change.promotion)}" if change.promotion else ""
        said = f': "{change.reason}"' if change.reason else ""
        rows.append((f"{holding.label} {cells.number(holding.version)}",
                     paint(f"since {times.both(change.time)}, by {how}{by} of {change.actor}{said}")))  # fmt: skip
    return Group(heading, fields_table(rows))
