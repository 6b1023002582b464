"""Production metrics: logging what serving measured onto the versions that held the stage, and
reading each holder's production record back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.monitors import MonitorUseCases
from studbook.daemon.app.tenures import Holders, Tenure, WriterHolders, read_holders, stage_of
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from studbook.daemon.domain.names import parse_model_name, parse_version_name, validate_label, validate_metric_key
from studbook.daemon.domain.production import (
    MetricsLogged,
    ProductionPoint,
    StoredPoint,
    expand_runs,
    iso_time,
    run_lengths,
    validate_points,
)
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.production import LoggedRequest

MAX_REQUEST_ID = 128
# Points one record answers with at most (a reply well under the daemon's message size).
MAX_RECORD_SAMPLES = 500_000


@dataclass(frozen=True)
class Series:
    key: str
    segment: str
    # (window_end in microseconds since 1970, value), oldest first.
    samples: list[tuple[int, float]]


@dataclass(frozen=True)
class HolderRecord:
    number: int
    tenures: list[Tenure]
    series: list[Series]
    # The version's own evaluation metrics (no split, last step): the reference line.
    evaluation: dict[str, float]


@dataclass(frozen=True)
class RecordQuery:
    model: str
    stage: str
    keys: Sequence[str] = ()
    segment: str = ""
    since: datetime | None = None
    until: datetime | None = None
    version: str = ""


@dataclass(frozen=True)
class LogCall:
    model: str
    stage: str
    points: Sequence[ProductionPoint]
    request_id: str
    caller: Caller


class ProductionUseCases:
    def __init__(self, core: Core, monitors: MonitorUseCases | None = None) -> None:
        self.core = core
        self.monitors = monitors
        # The tenures the writer attributes with, kept between calls (see app.tenures).
        self.holders = WriterHolders(core)

    async def log_metrics(self, call: LogCall) -> MetricsLogged:
        """Records the points, each on the version that held the stage at its window_end, in one
        write with one `production.metrics_logged` event; a retry of a request_id gets the first
        call's answer and records nothing."""
        model_id = parse_model_name(call.model, "model")
        validate_label(call.stage, "stage")
        if len(call.request_id) > MAX_REQUEST_ID:
            raise InvalidArgument(f"request_id is longer than {MAX_REQUEST_ID} characters", reason="VALUE_TOO_LONG",
                                  field="request_id")  # fmt: skip
        stage_of(await self.core.read_model(model_id), call.stage)
        # Checked and stamped with the time of the call here, off the writer thread: the
        # writer's clock only moves on, so a window end accepted now is not in its future.
        stamped = replace(call, points=validate_points(call.points, self.core.clock()))

        def operation(tx: Transaction) -> Effects:
            return self._log(tx, model_id, stamped)

        logged: MetricsLogged = await self.core.write(operation)
        if self.monitors is not None:
            # After the commit: the points stand whatever the monitor finds or does.
            logged.changed = await self.monitors.check(model_id, logged.stage)
        return logged

    async def record(self, query: RecordQuery) -> list[HolderRecord]:
        """Each version that held the stage (oldest tenure first) with its tenures, its series
        and its evaluation metrics: three queries whatever the number of holders and points."""
        model_id = parse_model_name(query.model, "model")
        validate_label(query.stage, "stage")
        stage = stage_of(await self.core.read_model(model_id), query.stage)
        for key in query.keys:
            validate_metric_key(key)
        if query.since is not None and query.until is not None and query.until <= query.since:
            raise InvalidArgument("until must be after since", reason="INVALID_TIME_RANGE", field="until")
        number = await self._version_number(model_id, query.version) if query.version else None
        holders = await read_holders(self.core, model_id, stage)
        tenures = [t for t in holders.tenures if _overlaps(t, query.since, query.until)]
        if number is not None:
            tenures = [t for t in tenures if t.number == number]
        numbers = list(dict.fromkeys(t.number for t in tenures))
        if not numbers:
            return []
        core = self.core
        found = await core.read(lambda: core.catalog.production_points(
            model_id, stage, keys=query.keys, segment=query.segment or None, since=query.since, until=query.until,
            number=number, limit=MAX_RECORD_SAMPLES + 1))  # fmt: skip
        if len(found) > MAX_RECORD_SAMPLES:
            raise ResourceExhausted(
                f"more than {MAX_RECORD_SAMPLES:,} production points match; narrow the record with since and "
                "until, keys, a segment or a version",
                reason="TOO_MANY_SAMPLES",
                limit=MAX_RECORD_SAMPLES,
            )
        evaluations = await core.read(core.catalog.evaluation_metrics, model_id, numbers, query.keys)
        series: dict[int, dict[tuple[str, str], list[tuple[int, float]]]] = {n: {} for n in numbers}
        for p in found:
            series.setdefault(p.number, {}).setdefault((p.key, p.segment), []).append((p.end_us, p.value))
        evaluation: dict[int, dict[str, float]] = {n: {} for n in numbers}
        for n, key, value in evaluations:
            evaluation[n][key] = value
        return [
            HolderRecord(n, [t for t in tenures if t.number == n],
                         [Series(k, seg, samples) for (k, seg), samples in series[n].items()], evaluation[n])
            for n in numbers
        ]  # fmt: skip

    async def _version_number(self, model_id: str, version: str) -> int:
        """A version of this model by name or by what follows `versions/` (a number, an alias ...)."""
        name = version if "/" in version else f"models/{model_id}/versions/{version}"
        ref = parse_version_name(name, "version")
        if ref.model != model_id:
            raise InvalidArgument(f"version {version!r} is not a version of {model_id!r}", reason="INVALID_NAME",
                                  field="version")  # fmt: skip
        number = await self.core.resolve_number(ref)
        await self.core.read_version(model_id, number)
        return number

    def _log(self, tx: Transaction, model_id: str, call: LogCall) -> Effects:
        """Writer thread: every refusal comes before the first write (see store.writer)."""
        core = self.core
        model = core.writer_model(model_id)
        if call.request_id:
            earlier = tx.logged_production_request(model_id, call.request_id)
            if earlier is not None:
                return Effects(value=MetricsLogged(model_id, earlier.stage, expand_runs(earlier.runs),
                                                   request_id=call.request_id, revision=earlier.revision))  # fmt: skip
        stage = stage_of(model, call.stage)
        now = core.clock()
        points = call.points  # checked and stamped before the writer (see log_metrics)
        holders = self.holders.of(tx, model, stage)
        numbers = holders.at(p.window_end for p in points if p.window_end is not None)
        missing = [p.window_end for p, n in zip(points, numbers) if n is None and p.window_end is not None]
        if missing:
            raise _no_holder(model_id, stage, min(missing), holders, len(missing))
        held = [n for n in numbers if n is not None]
        ends = [p.window_end for p in points if p.window_end is not None]
        logged = MetricsLogged(model_id, stage, held, min(ends), max(ends), list(dict.fromkeys(p.key for p in points)),
                               call.request_id)  # fmt: skip
        effects = Effects(value=logged)
        logged.revision = core.event(tx, effects, "production.metrics_logged", f"models/{model_id}/stages/{stage}",
                                     model_id, call.caller, logged)  # fmt: skip
        tx.insert_production_points(model_id, stage, logged.revision, [
            StoredPoint(n, p.key, p.segment, p.window_end, p.value)
            for p, n in zip(points, held) if p.window_end is not None
        ])  # fmt: skip
        if call.request_id:
            tx.insert_production_request(model_id, call.request_id,
                                         LoggedRequest(stage, len(held), run_lengths(held), logged.revision),
                                         now)  # fmt: skip
        return effects


def _overlaps(tenure: Tenure, since: datetime | None, until: datetime | None) -> bool:
    """Whether the tenure shares any moment with [since, until)."""
    return (since is None or tenure.end is None or tenure.end > since) and (until is None or tenure.start < until)


def _no_holder(model_id: str, stage: str, earliest: datetime, holders: Holders, count: int) -> FailedPrecondition:
    when = iso_time(earliest)
    if holders.tenures:
        first = holders.tenures[0]
        hint = (f"versions held it from {iso_time(first.start)}"
                + ("" if holders.tenures[-1].end is None else f" until {iso_time(holders.tenures[-1].end)}")
                + " (with any gaps `studbook history` shows)")  # fmt: skip
    else:
        hint = f"no version has held it yet: promote one first (`studbook promote {model_id}@N {stage}`)"
    return FailedPrecondition(
        f"no version of {model_id!r} held {stage!r} at {when} ({count} point(s) without a holder); {hint}; "
        "nothing was recorded",
        reason="NO_STAGE_HOLDER",
        model=model_id,
        stage=stage,
        time=when,
    )
