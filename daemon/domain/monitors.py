"""Monitors over production feedback, pure: what a stage's newest windows say against its
monitor's rules, whether that starts or ends a breach, and which earlier holder to put back.

No I/O: the use case (`daemon/app/monitors.py`) reads the windows set-wise from the store and
hands them here, so every decision can be tested on plain records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from studbook.daemon.domain.policy import HolderMetric, Monitor, MonitorRule

# What to rank earlier holders by when neither the request nor the monitor says: the first of
# these any of them has (the models screen's default key metrics).
DEFAULT_RANK_KEYS = ("auc", "f1", "accuracy", "precision", "recall", "-loss")


@dataclass(frozen=True)
class DriftWindow:
    """One LogInputStatistics window of the holder: its largest psi and ks, and where they were."""

    window_end: datetime
    max_psi: float
    max_ks: float
    psi_feature: str = ""
    ks_feature: str = ""


@dataclass(frozen=True)
class Finding:
    """One rule checked over the holder's newest windows (newest first)."""

    rule: str
    # The metric key, or for a drift rule the feature that breached most in the newest window.
    subject: str
    observed: float
    threshold: float
    breached: bool
    # Consecutive windows in breach (passing), counted from the newest back.
    windows_in_breach: int
    windows_passing: int


class Transition(Enum):
    NONE = "none"
    DETECTED = "drift.detected"
    CLEARED = "drift.cleared"


@dataclass(frozen=True)
class Verdict:
    transition: Transition
    # True when the stage is in breach after this check.
    breached: bool
    # Why a clearing happened: "recovered" or "holder changed"; "" otherwise.
    cause: str = ""


def check_rules(
    monitor: Monitor,
    evaluation: Mapping[str, float],
    metric_windows: Mapping[str, Sequence[float]],
    drift_windows: Sequence[DriftWindow],
) -> list[Finding]:
    """Every rule of `monitor` that has data, judged over the holder's newest windows.

    `metric_windows[key]` holds one value per window (newest first) of the holder's points for
    that key; `drift_windows` its input windows, newest first. A rule without windows, or a
    drop/rise rule whose version has no evaluation figure for the key, yields no finding: it
    cannot say anything yet, so it neither breaches nor blocks a recovery.
    """
    findings = []
    for rule in monitor.metrics:
        values = metric_windows.get(rule.key, ())
        if not values:
            continue
        reference = evaluation.get(rule.key)
        if rule.change and (reference is None or not math.isfinite(reference)):
            continue
        flags = [_metric_breached(rule, value, reference) for value in values]
        threshold = _threshold(rule, reference)
        findings.append(_finding(rule.text, rule.key, values[0], threshold, flags))
    for drift in monitor.drift:
        if not drift_windows:
            continue
        newest = drift_windows[0]
        figures = [w.max_psi if drift.measure == "psi" else w.max_ks for w in drift_windows]
        subject = newest.psi_feature if drift.measure == "psi" else newest.ks_feature
        flags = [_passes(figure, drift.op, drift.value) for figure in figures]
        findings.append(_finding(drift.text, subject, figures[0], drift.value, flags))
    return findings


def decide(previously_breached: bool, holder_changed: bool, findings: Sequence[Finding], windows: int) -> Verdict:
    """The state machine of one stage's monitor.

    ok -> breached once any rule has been in breach for `windows` consecutive windows;
    breached -> ok once every rule with data passed its newest `windows` windows, or once
    another version holds the stage (the breach was the previous holder's, and the new one's
    windows start afresh).
    """
    if previously_breached:
        if holder_changed:
            return Verdict(Transition.CLEARED, False, "holder changed")
        if findings and all(f.windows_passing >= windows for f in findings):
            return Verdict(Transition.CLEARED, False, "recovered")
        return Verdict(Transition.NONE, True)
    if any(f.windows_in_breach >= windows for f in findings):
        return Verdict(Transition.DETECTED, True)
    return Verdict(Transition.NONE, False)


def worst(findings: Sequence[Finding]) -> Finding | None:
    """The finding a one-line summary names: breached first, then the longest run in breach."""
    if not findings:
        return None
    return max(findings, key=lambda f: (f.breached, f.windows_in_breach))


def describe(finding: Finding) -> str:
    """`auc 0.85 (auc >= 0.9), 3 windows` as a person reads it."""
    subject = f"{finding.subject} " if finding.subject else ""
    runs = f", {finding.windows_in_breach} window{'s' if finding.windows_in_breach != 1 else ''}"
    return f"{subject}{finding.observed:.4g} ({finding.rule}){runs if finding.breached else ''}"


def _metric_breached(rule: MonitorRule, value: float, reference: float | None) -> bool:
    if not math.isfinite(value):
        return True
    if not rule.change:
        return not _passes(value, rule.op, rule.value)
    assert reference is not None
    change = reference - value if rule.change == "drop" else value - reference
    if rule.relative:
        if reference == 0:
            # A relative change from zero is undefined; any move the wrong way counts.
            return change > 0
        change = change / abs(reference) * 100
    return _passes(change, rule.op, rule.value)


def _threshold(rule: MonitorRule, reference: float | None) -> float:
    """The production figure at which the rule starts to breach, as a reader compares it."""
    if not rule.change or reference is None:
        return rule.value
    amount = abs(reference) * rule.value / 100 if rule.relative else rule.value
    return reference - amount if rule.change == "drop" else reference + amount


def _passes(value: float, op: str, threshold: float) -> bool:
    return {
        ">=": value >= threshold,
        ">": value > threshold,
        "<=": value <= threshold,
        "<": value < threshold,
        "==": value == threshold,
    }[op]


def _finding(rule: str, subject: str, observed: float, threshold: float, flags: Sequence[bool]) -> Finding:
    in_breach = _run(flags, True)
    return Finding(rule, subject, observed, threshold, flags[0], in_breach, _run(flags, False))


def _run(flags: Sequence[bool], value: bool) -> int:
    count = 0
    for flag in flags:
        if flag != value:
            break
        count += 1
    return count


# ---------------------------------------------------------------- the rollback candidate


class Basis(Enum):
    NONE = 0
    PRODUCTION = 1
    EVALUATION = 2


@dataclass(frozen=True)
class Stretch:
    """One tenure: [start, end); end None while it holds the stage."""

    start: datetime
    end: datetime | None
    promotion: str = ""
    rollback: bool = False


@dataclass(frozen=True)
class EarlierHolder:
    """An earlier holder of the stage, with what it can be ranked by."""

    number: int
    tenures: tuple[Stretch, ...]
    # The mean of the rank key over its production points while it held the stage; None: none.
    production: float | None
    # Its evaluation metric for the rank key (no split); None: none.
    evaluation: float | None


@dataclass(frozen=True)
class Ranked:
    number: int
    basis: Basis
    value: float
    tenures: tuple[Stretch, ...]


def rank_holders(holders: Sequence[EarlierHolder], by: HolderMetric) -> list[Ranked]:
    """Best first: by the production mean where there is one, else the evaluation metric, ties
    by the newest tenure. Holders with neither figure come last, newest first, so a plain
    rollback target is still listed."""

    def newest(holder: EarlierHolder) -> datetime:
        return max(t.start for t in holder.tenures) if holder.tenures else datetime.min

    ranked = []
    for holder in holders:
        if holder.production is not None and math.isfinite(holder.production):
            ranked.append(Ranked(holder.number, Basis.PRODUCTION, holder.production, holder.tenures))
        elif holder.evaluation is not None and math.isfinite(holder.evaluation):
            ranked.append(Ranked(holder.number, Basis.EVALUATION, holder.evaluation, holder.tenures))
        else:
            ranked.append(Ranked(holder.number, Basis.NONE, math.nan, holder.tenures))
    order = {h.number: newest(h) for h in holders}
    sign = 1.0 if by.lower_is_better else -1.0

    def key(item: Ranked) -> tuple[int, float, float, int]:
        unknown = item.basis is Basis.NONE
        # Newest first among equals: negate the time's ordinal so a sort ascending puts it first.
        when = -order[item.number].timestamp() if order[item.number] != datetime.min else math.inf
        return (1 if unknown else 0, 0.0 if unknown else sign * item.value, when, -item.number)

    return sorted(ranked, key=key)


def summary(model: str, stage: str, candidate: Ranked | None, key: str, rollback_brings_back: int | None,
            holder: int | None) -> str:  # fmt: skip
    """The one line a person reads: who the candidate is, and which command brings back whom."""
    rollback = f"`studbook rollback {model} {stage}`"
    if candidate is None:
        if rollback_brings_back is None:
            return f"{stage} of {model} has no earlier holder to put back"
        return f"{rollback} brings back v{rollback_brings_back}; no earlier holder has a figure to rank by"
    latest = max(candidate.tenures, key=lambda t: t.start) if candidate.tenures else None
    held = ""
    if latest is not None:
        until = _when(latest.end) if latest.end is not None else "now"
        held = f" held {stage} from {_when(latest.start)} to {until}"
    figure = ""
    if candidate.basis is Basis.PRODUCTION:
        figure = f" with {key} {candidate.value:.4g}"
    elif candidate.basis is Basis.EVALUATION:
        figure = f" with evaluation {key} {candidate.value:.4g} (no production record)"
    head = f"v{candidate.number}{held}{figure}"
    promote = f"`studbook promote {model}@{candidate.number} {stage}`"
    if rollback_brings_back == candidate.number:
        return f"{head}; {rollback} brings it back"
    if rollback_brings_back is None:
        return f"{head}; {promote} brings back v{candidate.number}"
    return f"{head}; {rollback} brings back v{rollback_brings_back}, {promote} brings back v{candidate.number}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Candidate:
    """The rollback candidate of a stage: its earlier holders ranked by `key` ("-key": lower is
    better), the best of them, and what a plain rollback would bring back instead."""

    model: str
    stage: str
    holder: int | None
    key: str
    ranking: tuple[Ranked, ...]
    rollback_brings_back: int | None
    summary: str

    @property
    def best(self) -> Ranked | None:
        return self.ranking[0] if self.ranking else None


@dataclass(frozen=True)
class MonitorStatus:
    """The stored state of one stage's monitor, as of its last check."""

    model: str
    stage: str
    # The version holding the stage at the last check.
    number: int | None
    breached: bool
    # When the breach (or recovery) was recorded and the revision of its drift.* event; None
    # and 0 while nothing was ever recorded.
    since: datetime | None
    revision: int
    findings: tuple[Finding, ...]
    candidate: Candidate | None
    # The rollback auto_rollback performed (its promotion name), or why it did not.
    auto_rollback: str
    checked: datetime


def candidate_of(model: str, stage: str, holder: int | None, by: HolderMetric, holders: Sequence[EarlierHolder],
                 rollback_brings_back: int | None) -> Candidate:  # fmt: skip
    """Ranks `holders` (the holder itself left out) and words the summary line."""
    ranking = tuple(rank_holders([h for h in holders if h.number != holder], by))
    key = f"-{by.key}" if by.lower_is_better else by.key
    best = ranking[0] if ranking else None
    return Candidate(model, stage, holder, key, ranking, rollback_brings_back,
                     summary(model, stage, best, by.key, rollback_brings_back, holder))  # fmt: skip


def rank_key(monitor: Monitor | None, key_metrics: Sequence[str], asked: str = "") -> HolderMetric | None:
    """What to rank earlier holders by: `asked` ("auc", "-latency_ms"), else the monitor's
    rank_by, else its first metric rule's key (lower is better when the rule bounds it from
    above or watches a rise), else the model's first key metric."""
    if asked:
        lower = asked.startswith("-")
        return HolderMetric(asked[1:] if lower else asked, lower_is_better=lower)
    if monitor is not None:
        if monitor.rank_by is not None:
            return monitor.rank_by
        if monitor.metrics:
            rule = monitor.metrics[0]
            lower = rule.change == "rise" or (not rule.change and rule.op in ("<", "<="))
            return HolderMetric(rule.key, lower_is_better=lower)
    if key_metrics:
        first = key_metrics[0]
        lower = first.startswith("-")
        return HolderMetric(first[1:] if lower else first, lower_is_better=lower)
    return None
