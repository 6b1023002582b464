"""What the version screen's production tab shows, from a version's production record (no Textual here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from studbook.cli.output import format_number
from studbook.tui import cells
from studbook.tui.timefmt import HIDDEN, TimeFormat, to_datetime
from studbook.tui.widgets.production_chart import Line, Mark, ProductionPlot
from studbook.v1 import production_pb2, resources_pb2, stages_pb2

# The stage charted when the version never held one: the one production metrics are about.
DEFAULT_STAGE = "production"
DAY = 86400.0


@dataclass(frozen=True)
class SeriesChoice:
    """A row of the tab's table: one key in one segment, or (segment None) every segment of the key."""

    key: str
    segment: str | None
    points: int
    last: float | None
    evaluation: float | None

    @property
    def segment_text(self) -> str:
        if self.segment is None:
            return "every segment"
        return self.segment or "all traffic"


def production_stages(version: resources_pb2.ModelVersion, changes: Iterable[stages_pb2.StageChange]) -> list[str]:
    """The stages whose production record concerns `version`: those it holds, then those it held, newest first."""
    stages = list(version.stages)
    for change in changes:
        if not change.is_alias and change.version == version.name and change.stage not in stages:
            stages.append(change.stage)
    return stages or [DEFAULT_STAGE]


def next_stage(stages: Sequence[str], current: str) -> str:
    """The stage after `current` in `stages`, round to the first; `current` when it is the only one."""
    if not stages:
        return current
    return stages[(stages.index(current) + 1) % len(stages)] if current in stages else stages[0]


def stage_picker(stages: Sequence[str], current: str, key: str = "t") -> list[tuple[str, str | None]]:
    """The tab's stage line as (text, role) runs: `stages  [production]  staging   t: next stage`,
    the stage shown in brackets; nothing when the version concerns one stage only."""
    if len(stages) < 2:
        return []
    runs: list[tuple[str, str | None]] = [("stages ", "muted")]
    for stage in stages:
        runs.append((f" [{stage}] " if stage == current else f"  {stage}  ", "bold" if stage == current else None))
    runs.append((f"  {key}: next stage", "muted"))
    return runs


def holder_of(record: production_pb2.ProductionRecord, version: str) -> production_pb2.HolderRecord | None:
    return next((holder for holder in record.holders if holder.version == version), None)


def series_choices(holder: production_pb2.HolderRecord | None) -> list[SeriesChoice]:
    """Each key's segments in name order; a key measured in several segments first offers them all at once."""
    if holder is None:
        return []
    by_key: dict[str, list[production_pb2.ProductionSeries]] = {}
    for series in holder.series:
        by_key.setdefault(series.key, []).append(series)
    choices = []
    for key in sorted(by_key):
        group = sorted(by_key[key], key=lambda s: s.segment)
        evaluation = holder.evaluation[key] if key in holder.evaluation else None
        if len(group) > 1:
            newest = max(
                (s for s in group if s.samples), key=lambda s: _seconds(s.samples[-1].window_end), default=None
            )
            last = newest.samples[-1].value if newest is not None else None
            choices.append(SeriesChoice(key, None, sum(len(s.samples) for s in group), last, evaluation))
        for series in group:
            last = series.samples[-1].value if series.samples else None
            choices.append(SeriesChoice(key, series.segment, len(series.samples), last, evaluation))
    return choices


def tenure_marks(tenures: Iterable[production_pb2.Tenure]) -> tuple[Mark, ...]:
    """Where each tenure began (promoted or rolled back) and, when it is over, where it ended."""
    marks = []
    for tenure in tenures:
        marks.append(Mark(_seconds(tenure.start), "rolled back" if tenure.rollback else "promoted"))
        if tenure.HasField("end"):
            marks.append(Mark(_seconds(tenure.end), "replaced"))
    return tuple(marks)


def production_plot(
    holder: production_pb2.HolderRecord | None,
    choice: SeriesChoice | None,
    stage: str,
    times: TimeFormat,
) -> ProductionPlot:
    """The chart of one choice: its lines split at the tenures' bounds, the marks, the evaluation reference."""
    if holder is None or choice is None:
        return ProductionPlot(empty=f"no production metrics were logged while this version held {stage}")
    chosen = [
        s for s in holder.series if s.key == choice.key and (choice.segment is None or s.segment == choice.segment)
    ]
    marks = tenure_marks(holder.tenures)
    bounds = sorted({mark.at for mark in marks})
    lines = tuple(
        Line(_label(s, choice), _runs([(_seconds(p.window_end), p.value) for p in s.samples], bounds))
        for s in sorted(chosen, key=lambda s: s.segment)
    )
    xs = [x for line in lines for x, _ in line.points] + [m.at for m in marks]
    span = (max(xs) - min(xs)) if xs else 0.0
    title = f"{choice.key} in {stage}" + ("" if choice.segment is None else f" · {choice.segment_text}")
    return ProductionPlot(
        title=title,
        lines=lines,
        marks=marks,
        reference=choice.evaluation,
        time_text=axis_time(times, span),
    )


def tenure_text(holder: production_pb2.HolderRecord | None, stage: str, times: TimeFormat) -> str:
    """`held production: promoted 03-01 09:00 → 03-02 10:00; rolled back 03-04 08:00 → now`.

    Times as short as the chart's axis writes them (one line at 80 columns); the history tab has them whole.
    """
    if holder is None or not holder.tenures:
        return f"never held {stage}"
    starts = [_seconds(t.start) for t in holder.tenures]
    ends = [_seconds(t.end) for t in holder.tenures if t.HasField("end")]
    short = axis_time(times, max(starts + ends) - min(starts))
    spans = []
    for tenure in holder.tenures:
        how = "rolled back" if tenure.rollback else "promoted"
        end = short(_seconds(tenure.end)) if tenure.HasField("end") else "now"
        spans.append(f"{how} {short(_seconds(tenure.start))} → {end}")
    return f"held {stage}: " + "; ".join(spans)


def choice_cells(choice: SeriesChoice) -> tuple[str, str, str, str, str]:
    """KEY, SEGMENT, LAST, POINTS, EVAL."""
    last = "" if choice.last is None else format_number(choice.last)
    evaluation = "" if choice.evaluation is None else format_number(choice.evaluation)
    return choice.key, choice.segment_text, last, str(choice.points), evaluation


def axis_time(times: TimeFormat, span: float) -> Callable[[float], str]:
    """Short times for the axis: `14:05:09` within an hour, `14:05` within a day, `03-01 14:05` beyond, in the display zone."""
    pattern = (
        "%H:%M:%S" if span < 3600 else "%H:%M" if span < DAY else "%m-%d %H:%M" if span < 365 * DAY else "%Y-%m-%d"
    )

    def text(seconds: float) -> str:
        if times.hidden:
            return HIDDEN
        return datetime.fromtimestamp(seconds, UTC).astimezone(times.zone).strftime(pattern)

    return text


def _label(series: production_pb2.ProductionSeries, choice: SeriesChoice) -> str:
    if choice.segment is not None:
        return series.key
    return f"{series.key} [{series.segment or 'all traffic'}]"


def _runs(
    points: Sequence[tuple[float, float]], bounds: Sequence[float]
) -> tuple[tuple[tuple[float, float], ...], ...]:
    """Points in time order, cut wherever a tenure began or ended between two of them: no line spans a gap."""
    runs: list[list[tuple[float, float]]] = []
    previous: float | None = None
    for x, y in sorted(points):
        if previous is None or any(previous < bound <= x for bound in bounds):
            runs.append([])
        runs[-1].append((x, y))
        previous = x
    return tuple(tuple(run) for run in runs)


def _seconds(stamp: timestamp_pb2.Timestamp) -> float:
    moment = to_datetime(stamp)
    return moment.timestamp() if moment is not None else 0.0


# ---- breaches ----


def finding_text(finding: production_pb2.MonitorFinding) -> str:
    """`auc >= 0.90: auc at 0.85 for 3 windows`."""
    windows = finding.windows_in_breach
    span = f" for {windows} windows" if windows > 1 else ""
    return f"{finding.rule}: {finding.subject} at {format_number(finding.observed)}{span}"


def breach_lines(
    states: Iterable[production_pb2.MonitorState], version: str, times: TimeFormat, *, hint: str = ""
) -> list[str]:
    """For each stage in breach: what breached and since when, then who would come back and how.

    `hint` (the key that acts on it) follows the candidate that key puts back.
    """
    states = list(states)
    keyed = candidate_of(states)
    lines = []
    for state in states:
        if not state.breached:
            continue
        holder = "this version" if state.version == version else cells.number(state.version)
        found = "; ".join(finding_text(f) for f in state.findings if f.breached) or "no figures recorded"
        since = times.ago(state.since)
        lines.append(f"⚠ {state.stage} in breach{f' since {since}' if since else ''} (held by {holder}): {found}")
        candidate = state.candidate
        if candidate.version:
            named = f"candidate {cells.number(candidate.version)}" + (f" ({hint})" if hint and state is keyed else "")
            lines.append(f"  {named}: {candidate.summary}")
        elif state.HasField("candidate") or not state.auto_rollback:
            lines.append("  no earlier holder to put back")
        if state.auto_rollback:
            lines.append(f"  auto rollback: {state.auto_rollback}")
    return lines


def candidate_of(states: Iterable[production_pb2.MonitorState]) -> production_pb2.MonitorState | None:
    """The breach whose candidate one key puts back: production's first, then any other stage's."""
    found = [s for s in states if s.breached and s.candidate.version]
    return min(found, key=lambda s: (s.stage != DEFAULT_STAGE, s.stage), default=None)
