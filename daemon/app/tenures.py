"""Who held a stage when: the tenures of a stage, and the holder at many times at once.

A tenure is one stretch of time a version held a stage, from the stage change that put it
there to the next change of that stage. Production measurements and input windows belong to
the version that held the stage at their window_end, so attributing a batch is one read of the
stage's history and a binary search per time, never a query per point.

The rule is the one GetStageHistory answers `at` with (`Store.holders_at`): at time T the
stage is held by the newest change (by revision) made at or before T. Building the tenures
from that rule, rather than assuming times rise with revisions, keeps the two answers equal
even where daemons sharing a catalog disagree a little about the time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from studbook.daemon.domain.errors import NotFound
from studbook.daemon.domain.model import Model, StageChange

if TYPE_CHECKING:
    from studbook.daemon.app.core import Core
    from studbook.daemon.store.interface import StoreTransaction

# Stages whose tenures the writer keeps at most (small each; cleared whole when full).
_KEPT = 4_096


@dataclass(frozen=True)
class Tenure:
    """One stretch of time `number` held the stage: [start, end), end None while it holds it."""

    number: int
    start: datetime
    end: datetime | None
    # The promotion that put it there (None for a change made without one) and whether that
    # promotion was a rollback; the revision of the stage change.
    promotion_id: int | None
    rollback: bool
    revision: int

    def covers(self, time: datetime) -> bool:
        return self.start <= time and (self.end is None or time < self.end)


def build_tenures(changes: Iterable[StageChange]) -> list[Tenure]:
    """The tenures of one stage from its changes (any order), oldest first.

    Walking the changes in time order, a change starts a stretch when its revision is the
    newest seen so far: from its time on, it is the newest change at or before any moment, until
    a newer one's time comes. A change whose time is before an older revision's never holds.
    Stretches of no holder (a cleared label) end the tenure before them and start none.
    """
    # (start, change) for each change that holds from its time on; same start: the newer wins.
    stretches: list[tuple[datetime, StageChange]] = []
    newest = None
    for change in sorted(changes, key=lambda c: (c.time, c.revision)):
        if newest is not None and change.revision <= newest:
            continue
        newest = change.revision
        if stretches and stretches[-1][0] == change.time:
            stretches.pop()
        stretches.append((change.time, change))
    tenures: list[Tenure] = []
    for index, (start, change) in enumerate(stretches):
        if change.version is None:
            continue
        end = stretches[index + 1][0] if index + 1 < len(stretches) else None
        tenures.append(Tenure(change.version, start, end, change.promotion_id, change.rollback, change.revision))
    return tenures


class Holders:
    """The tenures of one stage, ready to answer who held it at any number of times."""

    def __init__(self, tenures: Sequence[Tenure]) -> None:
        self.tenures = list(tenures)
        self._starts = [t.start for t in self.tenures]

    def tenure_at(self, time: datetime) -> Tenure | None:
        """The tenure covering `time`; None when no version held the stage then."""
        index = bisect_right(self._starts, time) - 1
        if index < 0:
            return None
        tenure = self.tenures[index]
        return tenure if tenure.end is None or time < tenure.end else None

    def at(self, times: Iterable[datetime]) -> list[int | None]:
        """The number of the version holding the stage at each time, in order (None: nobody)."""
        found: list[int | None] = []
        for time in times:
            tenure = self.tenure_at(time)
            found.append(tenure.number if tenure is not None else None)
        return found

    def of(self, number: int) -> list[Tenure]:
        """One version's tenures, oldest first."""
        return [t for t in self.tenures if t.number == number]

    def numbers(self) -> list[int]:
        """Every version that held the stage, in the order of its first tenure."""
        return list(dict.fromkeys(t.number for t in self.tenures))


def holders_at(changes: Iterable[StageChange], times: Iterable[datetime]) -> list[int | None]:
    """The version holding the stage at each of `times`, from the stage's changes."""
    return Holders(build_tenures(changes)).at(times)


async def read_holders(core: Core, model: str, stage: str) -> Holders:
    """The committed tenures of a model's stage, read in one query off the event loop."""
    return Holders(build_tenures(await core.read(core.catalog.stage_changes, model, stage)))


def stage_of(model: Model, stage: str) -> str:
    """`stage` when it is one of the model's stages (not an alias), else NOT_FOUND naming them."""
    if stage not in model.stages:
        raise NotFound(
            f"{stage!r} is not a stage of {model.name!r}; its stages: {', '.join(model.stages)}",
            reason="STAGE_NOT_FOUND",
            model=model.name,
            stage=stage,
        )
    return stage


class WriterHolders:
    """Writer thread only: the tenures of each stage as the write transaction sees them, kept
    between calls so that attributing a call's points costs no query in the common case.

    An entry holds while the writer's record of the model is the one it was read under: a
    stage change replaces that record (with a new revision) and a reload replaces the whole
    state, so a hit is the history this transaction would read. A query would also flush the
    rows its group has buffered (see store.writes), splitting the group's inserts into a
    statement per call.
    """

    def __init__(self, core: Core) -> None:
        self.core = core
        self._kept: dict[tuple[str, str], tuple[object, Model, int, Holders]] = {}

    def of(self, tx: StoreTransaction, model: Model, stage: str) -> Holders:
        """`model` is the writer's record (`core.writer_model`), `stage` one of its stages."""
        key = (model.name, stage)
        kept = self._kept.get(key)
        state = self.core.state
        if kept is not None and kept[0] is state and kept[1] is model and kept[2] == model.revision:
            return kept[3]
        # The stage's whole history in one query; each time's holder then by binary search.
        holders = Holders(build_tenures(c for c in tx.stage_changes(model.name, stage) if not c.is_alias))
        if len(self._kept) >= _KEPT:
            self._kept.clear()
        self._kept[key] = (state, model, model.revision, holders)
        return holders
