"""PromoteDialog: choose a stage or alias, see the gates in a dry run, give a reason, then promote."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, DataTable, Input, Label, Static

from studbook.tui import cells
from studbook.tui.cells import ThemeText
from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe
from studbook.cli.output import enum_label
from studbook.v1 import resources_pb2, stages_pb2

PRODUCTION = "production"


def needs_typed_confirmation(target: str, stages: list[str]) -> bool:
    """Production, or the last of a model's own stages, is only entered with the model's name typed."""
    return target == PRODUCTION or bool(stages) and target == stages[-1]


def suggested_target(version: resources_pb2.ModelVersion, stages: list[str]) -> str:
    """The stage after the highest one the version holds; the first stage when it holds none."""
    held = [stages.index(s) for s in version.stages if s in stages]
    following = max(held) + 1 if held else 0
    return stages[min(following, len(stages) - 1)] if stages else ""


def promotion_summary(promotion: stages_pb2.Promotion) -> str:
    target = f"alias {promotion.target}" if promotion.is_alias else promotion.target
    state = enum_label(stages_pb2.PromotionState, promotion.state).replace("_", " ")
    previous = f" (was {cells.number(promotion.previous_version)})" if promotion.previous_version else ""
    return f"{cells.model_id(promotion.model)} {cells.number(promotion.version)} → {target}: {state}{previous}"


class PromoteDialog(ModalScreen[stages_pb2.Promotion | None]):
    """Dismissed with the applied (or pending) promotion, or None when cancelled."""

    AUTO_FOCUS = "#reason"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="promote.cancel"),
        Binding("ctrl+d", "dry_run", "Check gates", id="promote.dry_run"),
    ]

    class Context(Message, bubble=False):
        def __init__(self, version: resources_pb2.ModelVersion, model: resources_pb2.Model) -> None:
            super().__init__()
            self.version = version
            self.model = model

    class Checked(Message, bubble=False):
        def __init__(self, promotion: stages_pb2.Promotion, target: str) -> None:
            super().__init__()
            self.promotion = promotion
            self.target = target

    class Done(Message, bubble=False):
        def __init__(self, promotion: stages_pb2.Promotion) -> None:
            super().__init__()
            self.promotion = promotion

    class Refused(Message, bubble=False):
        def __init__(self, error: StudbookError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, ref: str, target: str = "") -> None:
        super().__init__()
        self.ref = ref
        self.initial_target = target
        self.version: resources_pb2.ModelVersion | None = None
        self.model: resources_pb2.Model | None = None
        # The target whose dry run passed; promoting is allowed for it alone.
        self.checked_target: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Promote {self.ref}", id="dialog-title", markup=False)
            yield Static("loading…", id="promote-context", markup=False)
            yield Label("Target stage or alias")
            yield Input(self.initial_target, placeholder="staging, production, champion…", id="target",
                        compact=True)  # fmt: skip
            yield Label("Reason (recorded in the history)")
            yield Input(placeholder="why this version, why now", id="reason", compact=True)
            yield DataTable(id="gates", cursor_type="none", show_cursor=False)
            yield Static("", id="confirm-hint", markup=False)
            yield Input(placeholder="type the model name to confirm", id="confirm", compact=True)
            yield Static("", id="promote-result")
            with Horizontal(classes="buttons"):
                yield Button("Check gates", id="check", variant="primary", compact=True)
                yield Button("Promote", id="promote", variant="warning", disabled=True, compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#gates", DataTable).add_columns("GATE", "RESULT", "DETAIL")
        self.query_one("#confirm", Input).display = False
        self.query_one("#gates", DataTable).display = False
        self.load_context()

    # ---- workers ----

    @work(exclusive=True, group="promote-context")
    async def load_context(self) -> None:
        client = self.app.client  # type: ignore[attr-defined]
        try:
            version = await client.get_version(self.ref)
            model = await client.get_model(version.model)
        except StudbookError as error:
            self.post_message(self.Refused(error))
            return
        self.post_message(self.Context(version, model))

    @work(exclusive=True, group="promote")
    async def check(self, target: str, reason: str) -> None:
        assert self.version is not None
        try:
            promotion = await self.app.client.promote(  # type: ignore[attr-defined]
                self.version.name, target, reason=reason, validate_only=True
            )
        except StudbookError as error:
            self.post_message(self.Refused(error))
            return
        self.post_message(self.Checked(promotion, target))

    @work(exclusive=True, group="promote")
    async def apply(self, target: str, reason: str) -> None:
        assert self.version is not None and self.model is not None
        try:
            promotion = await self.app.client.promote(  # type: ignore[attr-defined]
                self.version.name, target, reason=reason, expected_etag=self.model.etag
            )
        except StudbookError as error:
            self.post_message(self.Refused(error))
            return
        self.post_message(self.Done(promotion))

    # ---- messages ----

    def on_promote_dialog_context(self, message: Context) -> None:
        self.version, self.model = message.version, message.model
        resolved = f"{cells.model_id(message.version.model)} v{message.version.number}"
        self.query_one("#dialog-title", Label).update(safe(f"Promote {resolved}"))
        stages = list(message.model.stages)
        holders = cells.holders(message.model.stage_holders, stages) or "none"
        self.query_one("#promote-context", Static).update(safe(
            f"{cells.model_id(message.version.model)} v{message.version.number} ({message.version.semver}), "
            f"{cells.status(message.version)}; holders: {holders}; stages: {' → '.join(stages)}"
        ))
        target = self.query_one("#target", Input)
        target.suggester = SuggestFromList([*stages, *message.model.aliases], case_sensitive=False)
        if not target.value:
            target.value = suggested_target(message.version, stages)
        self.query_one("#reason", Input).focus()

    def on_promote_dialog_checked(self, message: Checked) -> None:
        promotion = message.promotion
        paint = ThemeText(self.app.theme_variables)
        gates = self.query_one("#gates", DataTable)
        gates.display = True
        gates.clear()
        for gate in promotion.gate_results:
            gates.add_row(paint(gate.gate), paint("pass" if gate.passed else "FAIL", "good" if gate.passed else "bad"),
                          paint(gate.detail))  # fmt: skip
        passed = promotion.state != stages_pb2.PROMOTION_STATE_FAILED and all(g.passed for g in promotion.gate_results)
        # The daemon judges the real promotion too; after failed gates it will refuse with its reason.
        self.checked_target = message.target
        summary = promotion_summary(promotion)
        if passed:
            self._result(summary, "$text-success")
        else:
            self._result(f"{summary}: the daemon will refuse this", "$text-error")
        self._confirmation(message.target)
        self.query_one("#promote", Button).disabled = False
        focus = self.query_one("#confirm" if self.query_one("#confirm").display else "#promote")
        focus.focus()

    def on_promote_dialog_done(self, message: Done) -> None:
        promotion = message.promotion
        if promotion.state == stages_pb2.PROMOTION_STATE_FAILED:
            self._result(promotion_summary(promotion), "$text-error")
            return
        self.app.notify(promotion_summary(promotion), title="promoted")
        self.dismiss(promotion)

    def on_promote_dialog_refused(self, message: Refused) -> None:
        error = message.error
        self.checked_target = None
        self.query_one("#promote", Button).disabled = True
        self._result(f"{error.message} [{error.reason}]", "$text-error")

    # ---- user ----

    def _values(self) -> tuple[str, str]:
        return self.query_one("#target", Input).value.strip(), self.query_one("#reason", Input).value.strip()

    def _result(self, text: str, style: str) -> None:
        self.query_one("#promote-result", Static).update(Content.styled(safe(text), style))

    def _confirmation(self, target: str | None) -> None:
        stages = list(self.model.stages) if self.model else []
        needed = target is not None and needs_typed_confirmation(target, stages)
        model = cells.model_id(self.model.name) if self.model else ""
        self.query_one("#confirm", Input).display = needed
        self.query_one("#confirm-hint", Static).update(safe(f"{target} is live: type {model} to confirm") if needed else "")

    def action_dry_run(self) -> None:
        target, reason = self._values()
        if self.version is None:
            return
        if not target:
            self._result("choose a stage or alias", "$text-warning")
            return
        self._result("checking gates…", "$text-muted")
        self.check(target, reason)

    @on(Input.Changed, "#target")
    def target_changed(self) -> None:
        self.checked_target = None
        self.query_one("#promote", Button).disabled = True
        self._confirmation(None)

    @on(Input.Submitted, "#target")
    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#check")
    def submit_check(self) -> None:
        self.action_dry_run()

    @on(Input.Submitted, "#confirm")
    @on(Button.Pressed, "#promote")
    def submit_promote(self) -> None:
        target, reason = self._values()
        if self.checked_target != target:
            self._result("check the gates for this target first", "$text-warning")
            return
        if not reason:
            self._result("give a reason: it is recorded in the history", "$text-warning")
            self.query_one("#reason", Input).focus()
            return
        confirm = self.query_one("#confirm", Input)
        model = cells.model_id(self.model.name) if self.model else ""
        if confirm.display and confirm.value.strip() != model:
            self._result(f"type {model} exactly to promote to {target}", "$text-warning")
            confirm.focus()
            return
        self._result("promoting…", "$text-muted")
        self.apply(target, reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
