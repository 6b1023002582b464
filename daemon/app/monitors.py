"""Monitors at work: after each production log call, the stage's monitor is checked against
the holder's newest windows; a breach records `drift.detected` (with its findings and the
rollback candidate), a recovery `drift.cleared`, and `auto_rollback` puts the candidate back.

The check is one writer operation: it reads the stored state and the newest windows inside the
write transaction, so checks of one stage never interleave. On a shared PostgreSQL catalog every
write transaction of every daemon holds the same advisory lock, so exactly one daemon sees the
state go from ok to breached and records it; only that daemon, the one whose transaction made
the transition, attempts the auto rollback, and the rollback carries the model's etag from that
transaction, so a stage changed in between by anyone is left alone (recorded as a refusal).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.app.stages import StageUseCases, promotion_name
from studbook.daemon.app.tenures import Holders, build_tenures
from studbook.daemon.domain.access import MONITORS, Caller
from studbook.daemon.domain.errors import InvalidArgument, NotFound, RegistryError
from studbook.daemon.domain.model import ModelVersion, StageChange, VersionStatus
from studbook.daemon.domain.monitors import (
    DEFAULT_RANK_KEYS,
    Candidate,
    EarlierHolder,
    MonitorStatus,
    Stretch,
    Transition,
    candidate_of,
    check_rules,
    decide,
    describe,
    rank_key,
    worst,
)
from studbook.daemon.domain.names import METRIC_KEY, model_name, parse_model_name, validate_label
from studbook.daemon.domain.policy import HolderMetric, Monitor
from studbook.daemon.store.interface import Store
from studbook.daemon.store.interface import StoreTransaction as Transaction

log = logging.getLogger(__name__)


@dataclass
class Checked:
    """A check's outcome: the stored state, the monitor states it changed, and whether it asks
    for an auto rollback (this transaction made the breach, so this daemon acts on it)."""

    state: MonitorStatus
    changed: list[MonitorStatus] = field(default_factory=list)
    etag: str = ""
    roll_back: bool = False


class MonitorUseCases:
    def __init__(self, core: Core, stages: StageUseCases, policy: PolicyStore) -> None:
        self.core = core
        self.stages = stages
        self.policy = policy

    # -- the check after each log call ---------------------------------------------------

    async def check(self, model: str, stage: str) -> list[MonitorStatus]:
        """Checks `stage`'s monitor (none in the policy: nothing to do); the states it changed.

        Never raises for what the monitor finds or what auto_rollback meets: the points were
        logged, and the caller that logged them is not the one to tell about a refused rollback.
        """
        monitor = self.policy.current().for_model(model).monitors.get(stage)
        if monitor is None:
            return []
        try:
            checked: Checked = await self.core.write(lambda tx: self._check(tx, model, stage, monitor, ""))
        except RegistryError:
            # The model went meanwhile, or the catalog refused the write: the logged figures
            # stand, and the next log call checks again.
            log.exception("checking the monitor of %s %s failed", model, stage)
            return []
        changed = list(checked.changed)
        if checked.roll_back:
            try:
                changed = await self._auto_rollback(model, stage, monitor, checked)
            except RegistryError:
                log.exception("recording the auto_rollback of %s %s failed", model, stage)
        return changed

    def _check(self, tx: Transaction, model_id: str, stage: str, monitor: Monitor, note: str) -> Effects:
        """Writer thread: judge the holder's newest windows and record a transition, if any."""
        model = self.core.writer_model(model_id)
        holder = model.stage_holders.get(stage)
        before = tx.monitor_state(model_id, stage)
        # The stage's history, read once: the holder's tenure, the candidate, the flap guard.
        changes = tx.stage_changes(model_id, stage)
        findings = []
        if holder is not None:
            # Only the current tenure's windows count: a version put back starts afresh.
            tenures = build_tenures(changes)
            current = tenures[-1] if tenures and tenures[-1].end is None else None
            since = current.start if current is not None and current.number == holder else None
            evaluation = _evaluation(tx.get_version(model_id, holder))
            keys = sorted({rule.key for rule in monitor.metrics})
            last, segment = monitor.windows, monitor.segment
            metric_windows = tx.production_windows(model_id, stage, holder, segment, keys, last, since)
            drift_windows = tx.input_windows(model_id, stage, holder, segment, last, since) if monitor.drift else []
            findings = check_rules(monitor, evaluation, metric_windows, drift_windows)
        was_breached = before is not None and before.breached
        verdict = decide(was_breached, before is not None and before.number != holder, findings, monitor.windows)
        now = self.core.clock()
        effects = Effects()
        state = MonitorStatus(
            model=model_id, stage=stage, number=holder, breached=verdict.breached,
            since=before.since if before is not None else None, revision=before.revision if before is not None else 0,
            findings=tuple(findings), candidate=before.candidate if before is not None and was_breached else None,
            auto_rollback=before.auto_rollback if before is not None and was_breached else "", checked=now,
        )  # fmt: skip
        checked = Checked(state, etag=str(model.revision))
        if verdict.transition is Transition.DETECTED:
            candidate = compute_candidate(tx, model_id, stage, holder, monitor, _Installed(changes))
            state = replace(state, since=now, candidate=candidate, auto_rollback="")
            checked.roll_back = monitor.auto_rollback
            if monitor.auto_rollback:
                held_back = _put_back_by_monitor(changes)
                why = ""
                if candidate.best is None:
                    why = "not performed: no earlier holder to put back"
                elif held_back:
                    # Rolling back again would flap between versions that both breach: a person decides.
                    why = (f"not performed: v{holder} was itself put back by auto_rollback; decide with "
                           f"`studbook candidate {model_id}@{stage}`")  # fmt: skip
                if why:
                    state = replace(state, auto_rollback=why)
                    checked.roll_back = False
        elif verdict.transition is Transition.CLEARED:
            # A clearing keeps what auto_rollback did: it is often the very reason for it.
            state = replace(state, since=now, candidate=None, auto_rollback=note or state.auto_rollback)
        if verdict.transition is not Transition.NONE:
            revision = self.core.event(tx, effects, verdict.transition.value, f"models/{model_id}/stages/{stage}",
                                       model_id, MONITORS, state)  # fmt: skip
            state = replace(state, revision=revision)
            checked.changed.append(state)
        tx.put_monitor_state(state)
        checked.state = state
        effects.value = checked
        return effects

    async def _auto_rollback(self, model: str, stage: str, monitor: Monitor, checked: Checked) -> list[MonitorStatus]:
        """Puts the candidate back through the rollback use case (its gates and approver rule)
        as the monitors' own actor; records what happened on the breach's state, and, once the
        candidate holds the stage, the clearing that follows."""
        state = checked.state
        assert state.candidate is not None and state.candidate.best is not None
        best = state.candidate.best.number
        found = worst([f for f in state.findings if f.breached])
        breach = describe(found) if found is not None else "a breach"
        reason = (f"auto_rollback: {breach} on v{state.number} of {stage} (drift.detected, revision {state.revision}); "
                  f"putting back v{best}")  # fmt: skip
        try:
            promotion = await self.stages.rollback(
                model_name(model), stage, reason, checked.etag, MONITORS, to=str(best)
            )
            note = f"{promotion_name(model, promotion.id)}: put back v{best}"
            performed = True
        except RegistryError as refused:
            note = f"refused: {refused.message}"
            performed = False
        except Exception:  # noqa: BLE001 - the points were logged; the failure goes to the state and the log
            log.exception("auto_rollback of %s %s failed", model, stage)
            note, performed = "failed: the rollback raised an internal error (see the daemon's log)", False
        noted = replace(state, auto_rollback=note)
        await self.core.write(lambda tx: _note(tx, noted))
        changed = [noted]
        if performed:
            # The breach was the previous holder's: the check now clears it, keeping the note.
            cleared: Checked = await self.core.write(lambda tx: self._check(tx, model, stage, monitor, note))
            changed += cleared.changed
        return changed

    async def stages_changed(self, model: str, caller: Caller) -> None:
        """After a promotion or rollback of `model`: a breach of a version that no longer holds
        its stage clears now, not at the next log call. The rollback auto_rollback makes is
        followed by its own check (which keeps its note), so it is left out here."""
        if caller == MONITORS:
            return
        for stage in self.policy.current().for_model(model).monitors:
            await self.check(model, stage)

    # -- reads ---------------------------------------------------------------------------

    async def list_states(self, model_ref: str, breached_only: bool) -> list[MonitorStatus]:
        """The stored states of the stages the policy watches now, and an untouched ok state
        for a watched stage that was never checked (no production feedback yet)."""
        model_id = parse_model_name(model_ref, "model") if model_ref else ""
        if model_id:
            await self.core.require_model(model_id)
        stored = await self.core.read(self.core.catalog.monitor_states, model_id, breached_only)
        policy = self.policy.current()
        # Only the models a monitor watches are read, by name (their holders), in one go.
        names = [model_id] if model_id else await self.core.read(self.core.catalog.model_names)
        models = await self.core.read_models(name for name in names if policy.for_model(name).monitors)
        watched = {
            (m.name, stage): m.stage_holders.get(stage)
            for m in models.values()
            for stage in policy.for_model(m.name).monitors
        }  # fmt: skip
        states = [s for s in stored if (s.model, s.stage) in watched]
        if not breached_only:
            seen = {(s.model, s.stage) for s in states}
            states += [MonitorStatus(model, stage, holder, False, None, 0, (), None, "", self.core.clock())
                       for (model, stage), holder in watched.items() if (model, stage) not in seen]  # fmt: skip
        return sorted(states, key=lambda s: (s.model, s.stage))

    async def candidate(self, model_ref: str, stage: str, key: str) -> Candidate:
        model_id = parse_model_name(model_ref, "model")
        validate_label(stage, "stage")
        if key and not METRIC_KEY.fullmatch(key.removeprefix("-")):
            raise InvalidArgument(f"key must be a metric key, or -key when lower is better (e.g. -latency_ms), got "
                                  f"{key[:100]!r}", reason="INVALID_METRIC", field="key")  # fmt: skip
        model = await self.core.read_model(model_id)
        if stage not in model.stages:
            raise NotFound(f"{stage!r} is not a stage of {model_id!r}; stages: {', '.join(model.stages)}",
                           reason="STAGE_NOT_FOUND", model=model_id, stage=stage)  # fmt: skip
        monitor = self.policy.current().for_model(model_id).monitors.get(stage)
        holder = model.stage_holders.get(stage)
        catalog = self.core.catalog

        def read() -> Candidate:
            return compute_candidate(catalog, model_id, stage, holder, monitor, _installed_over(catalog, model_id, stage),
                                     key)  # fmt: skip

        return await self.core.read(read)


def _note(tx: Transaction, state: MonitorStatus) -> Effects:
    """Writes what auto_rollback did onto the breach's state, unless a later check replaced it."""
    stored = tx.monitor_state(state.model, state.stage)
    if stored is not None and stored.revision == state.revision:
        tx.put_monitor_state(replace(stored, auto_rollback=state.auto_rollback))
    return Effects()


def _put_back_by_monitor(changes: Sequence[StageChange]) -> bool:
    """Whether the stage's newest change is a rollback auto_rollback made."""
    newest = max(changes, key=lambda c: c.revision, default=None)
    return newest is not None and newest.rollback and newest.actor == MONITORS.actor


def _evaluation(version: ModelVersion | None) -> dict[str, float]:
    """A version's evaluation metrics recorded without a split (the latest of each key)."""
    return {m.key: m.value for m in version.metrics if not m.split} if version is not None else {}


class _Installed:
    """Which version a plain rollback would bring back, from a stage's changes (the rule of
    `StageUseCases._installed_over`: what the holder replaced when last promoted, not rolled back)."""

    def __init__(self, changes: Sequence[StageChange]) -> None:
        self.changes = changes

    def over(self, holder: int | None) -> int | None:
        if holder is None:
            return None
        for change in sorted(self.changes, key=lambda c: c.revision, reverse=True):
            if change.version == holder and not change.rollback:
                return change.previous_version
        return None


def _installed_over(reads: Transaction | Store, model: str, stage: str) -> _Installed:
    return _Installed(reads.stage_changes(model, stage))


def compute_candidate(reads: Transaction | Store, model: str, stage: str, holder: int | None, monitor: Monitor | None,
                      installed: _Installed, asked: str = "") -> Candidate:  # fmt: skip
    """Ranks the stage's earlier holders that could be put back (ready versions) with set-wise
    reads: the stage's changes, the versions, and the mean production figure per version."""
    tenures = Holders(build_tenures(installed.changes))
    numbers = [n for n in tenures.numbers() if n != holder]
    versions = {v.number: v for v in reads.get_versions([(model, n) for n in numbers])} if numbers else {}
    ready = [n for n in numbers if n in versions and versions[n].status is VersionStatus.READY]
    evaluations = {n: _evaluation(versions[n]) for n in ready}
    by = rank_key(monitor, _available_keys(evaluations), asked)
    back = installed.over(holder)
    back = back if back in ready else None
    if by is None:
        # Nothing to rank by: the holders still come back, newest first.
        by = HolderMetric("")
    segment = monitor.segment if monitor is not None else ""
    means = reads.production_means(model, stage, by.key, segment, ready) if ready and by.key else {}
    holders = [
        EarlierHolder(
            n,
            tuple(
                Stretch(t.start, t.end, promotion_name(model, t.promotion_id) if t.promotion_id else "", t.rollback)
                for t in tenures.of(n)
            ),  # fmt: skip
            means.get(n),
            evaluations[n].get(by.key),
        )
        for n in ready
    ]
    return candidate_of(model, stage, holder, by, holders, back)


def _available_keys(evaluations: dict[int, dict[str, float]]) -> list[str]:
    """The default rank keys any earlier holder has, in preference order."""
    present = {key for metrics in evaluations.values() for key in metrics}
    return [key for key in DEFAULT_RANK_KEYS if key.lstrip("-") in present]
