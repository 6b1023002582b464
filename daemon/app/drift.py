"""Use cases on input drift: reference statistics of a version, production windows logged
against them (attributed to the holder of the stage at window_end, their drift computed in the
store), and the drift report of a stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.monitors import MonitorUseCases
from studbook.daemon.app.tenures import WriterHolders, stage_of
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.drift import FeatureStats, InputsLogged, bins_mismatch, validate_features
from studbook.daemon.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from studbook.daemon.domain.names import parse_model_name, parse_version_name, validate_label, version_name
from studbook.daemon.store.drift import StoredWindow
from studbook.daemon.store.interface import StoreTransaction as Transaction

# A window may end a little ahead of the daemon's clock (clocks of senders differ), not more.
FUTURE_SLACK = timedelta(minutes=1)
DEFAULT_WINDOWS = 100
MAX_WINDOWS = 10_000
MAX_SEGMENT = 64


@dataclass
class InputWindow:
    """A validated LogInputStatistics request, ready for the writer."""

    model: str
    stage: str
    window_end: datetime | None
    segment: str
    features: Sequence[FeatureStats]
    request_id: str = ""


def validate_segment(segment: str) -> str:
    if len(segment) > MAX_SEGMENT or not segment.isprintable():
        raise InvalidArgument(f"segment must be at most {MAX_SEGMENT} printable characters", reason="INVALID_SEGMENT",
                              field="segment")  # fmt: skip
    return segment


class DriftUseCases:
    def __init__(self, core: Core, monitors: MonitorUseCases | None = None) -> None:
        self.monitors = monitors
        self.core = core
        # The tenures the writer attributes with, kept between calls (see app.tenures).
        self.holders = WriterHolders(core)

    # -- reference statistics -----------------------------------------------------------

    async def set_reference(self, name: str, features: Sequence[FeatureStats], caller: Caller) -> int:
        """Sets a version's reference statistics; ALREADY_EXISTS when it has some."""
        ref = parse_version_name(name, "version")
        if ref.number is None:
            raise InvalidArgument("name the version by its number: models/{model}/versions/{n}",
                                  reason="INVALID_NAME", field="version")  # fmt: skip
        number = ref.number
        validate_features(features)

        def operation(tx: Transaction) -> Effects:
            self.core.writer_model(ref.model)
            if self.core.state.status_of(tx, ref.model, number) is None:
                raise NotFound(f"version {number} of model {ref.model!r} does not exist", reason="VERSION_NOT_FOUND",
                               model=ref.model, version=number)  # fmt: skip
            if tx.has_reference_statistics(ref.model, number):
                raise AlreadyExists(
                    f"version {number} of {ref.model!r} has reference statistics already; they describe the data it "
                    "was trained on and are not replaced: register a new version for other data",
                    reason="REFERENCE_EXISTS", model=ref.model, version=number,
                )  # fmt: skip
            tx.insert_reference_statistics(ref.model, number, features)
            return Effects(value=len(features))

        return int(await self.core.write(operation))

    # -- production windows -------------------------------------------------------------

    async def log_inputs(self, window: InputWindow, caller: Caller) -> StoredWindow:
        """Records one window's statistics for the holder of the stage at window_end and its
        drift from that version's reference; one `production.inputs_logged` event."""
        model_id = parse_model_name(window.model, "model")
        validate_label(window.stage, "stage")
        validate_segment(window.segment)
        validate_features(window.features)
        now = self.core.clock()
        if window.window_end is not None and window.window_end > now + FUTURE_SLACK:
            raise InvalidArgument(
                f"window_end {window.window_end.isoformat()} is ahead of the registry's clock ({now.isoformat()}) by "
                "more than a minute: send the time the window ended", reason="WINDOW_END_IN_FUTURE", field="window_end",
            )  # fmt: skip
        stored: StoredWindow = await self.core.write(lambda tx: self._log(tx, model_id, window, caller))
        if self.monitors is not None:
            # After the commit: the window stands whatever the monitor finds or does.
            stored.changed = await self.monitors.check(model_id, stored.stage)
        return stored

    def _log(self, tx: Transaction, model_id: str, window: InputWindow, caller: Caller) -> Effects:
        core = self.core
        model = core.writer_model(model_id)
        stage = stage_of(model, window.stage)
        if window.request_id:
            done = tx.input_window_for_request(model_id, window.request_id)
            if done is not None:
                return Effects(value=done)
        end = window.window_end or core.clock()
        number = self.holders.of(tx, model, stage).at([end])[0]
        if number is None:
            raise FailedPrecondition(
                f"no version of {model_id!r} held {stage!r} at {end.isoformat()}: log windows of times a version "
                "held the stage", reason="NO_STAGE_HOLDER", model=model_id, stage=stage, time=end.isoformat(),
            )  # fmt: skip
        shapes = tx.reference_shapes(model_id, number, [f.feature for f in window.features])
        for stats in window.features:
            shape = shapes.get(stats.feature)
            if shape is not None and (shape[0] != stats.kind or (stats.numeric and shape[1] != stats.edges)):
                raise bins_mismatch(stats.feature, shape[1], stats.edges, reference_kind=shape[0],
                                    window_kind=stats.kind)  # fmt: skip
        effects = Effects()
        revision = core.state.revision + 1  # the event's, taken below once nothing can refuse
        stored = tx.insert_input_window(
            StoredWindow(0, model_id, stage, number, end, window.segment, 0.0, 0.0, "", revision, []),
            window.features, window.request_id, core.clock(),
        )  # fmt: skip
        payload = InputsLogged(model_id, stage, number, end, window.segment, stored.max_psi, stored.max_ks,
                               stored.worst, len(window.features))  # fmt: skip
        # The stage is the subject, as production.metrics_logged's: the payload names the version.
        core.event(tx, effects, "production.inputs_logged", f"models/{model_id}/stages/{stage}", model_id, caller,
                   payload)  # fmt: skip
        effects.value = stored
        return effects

    # -- reading ------------------------------------------------------------------------

    async def input_drift(self, model: str, stage: str, *, version: str = "", since: datetime | None = None,
                          until: datetime | None = None, segment: str = "", last: int = 0) -> list[StoredWindow]:  # fmt: skip
        """A stage's windows, newest first, with each feature's drift."""
        model_id = parse_model_name(model, "model")
        if not 0 <= last <= MAX_WINDOWS:
            raise InvalidArgument(f"last_windows must be 0 to {MAX_WINDOWS}", reason="INVALID_ARGUMENT",
                                  field="last_windows")  # fmt: skip
        stage = stage_of(await self.core.read_model(model_id), validate_label(stage))
        number = None
        if version:
            ref = parse_version_name(version if "/" in version else version_name(model_id, _number(version)),
                                     "version")  # fmt: skip
            number = await self.core.resolve_number(ref)
        return await self.core.read(
            lambda: self.core.catalog.input_windows(
                model_id,
                stage,
                number=number,
                since=since,
                until=until,
                segment=segment or None,
                limit=last or DEFAULT_WINDOWS,
            )  # fmt: skip
        )


def _number(text: str) -> int:
    digits = text[1:] if text[:1] in "vV" else text
    if not digits.isdigit():
        raise InvalidArgument(f"version must be a number or a version name, got {text[:50]!r}",
                              reason="INVALID_NAME", field="version")  # fmt: skip
    return int(digits)
