"""PromoteDialog: pick a stage or alias, see at once what the gates say, give a reason, promote.

The dialog opens on the model's next stage and runs the daemon's dry run (`validate_only`) of
that promotion straight away, and again whenever the target changes: every gate's verdict,
whether approvals will be needed and what the promotion would replace are on screen before
anything can be confirmed, and the confirm button stays disabled while the dry run says the
daemon would refuse. What the dialog shows is what the daemon decided, never a guess.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from studbook.cli.output import enum_label
from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe
from studbook.tui import cells
from studbook.tui.widgets.gate_list import GateList
from studbook.v1 import resources_pb2, stages_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

PRODUCTION = "production"
# The picker's "type a new alias" choice; no stage or alias can be called this (labels have no spaces).
NEW_ALIAS = "new alias …"
# The refusal of a change made against a model that has changed since it was read.
STALE_ETAG = "STALE_ETAG"
# A typed alias is checked once the typing pauses, not on every key.
ALIAS_PAUSE = 0.3


def needs_typed_confirmation(target: str, stages: list[str]) -> bool:
    """Production, or the last of a model's own stages, is only entered with the model's name typed."""
    return target == PRODUCTION or bool(stages) and target == stages[-1]


def suggested_target(version: resources_pb2.ModelVersion, stages: list[str]) -> str:
    """The stage after the highest one the version holds; the first stage when it holds none."""
    held = [stages.index(s) for s in version.stages if s in stages]
    following = max(held) + 1 if held else 0
    return stages[min(following, len(stages) - 1)] if stages else ""


def target_choices(model: resources_pb2.Model) -> list[tuple[str, str]]:
    """(label, value) for the picker: the stages in order, with their holders, then aliases, then a new alias."""
    choices = []
    for stage in model.stages:
        holder = model.stage_holders.get(stage)
        choices.append((f"{stage} (held by {cells.number(holder)})" if holder else f"{stage} (empty)", stage))
    for alias in sorted(model.aliases):
        choices.append((f"alias {alias} (on {cells.number(model.aliases[alias])})", alias))
    choices.append((NEW_ALIAS, NEW_ALIAS))
    return [(safe(label), safe(value)) for label, value in choices]


def would_refuse(promotion: stages_pb2.Promotion) -> bool:
    """The dry run's verdict: the daemon refuses a promotion any of whose gates failed."""
    return promotion.state == stages_pb2.PROMOTION_STATE_FAILED or any(not g.passed for g in promotion.gate_results)


def replaced_text(promotion: stages_pb2.Promotion) -> str:
    """What the promotion would replace, in words."""
    target = f"alias {promotion.target}" if promotion.is_alias else promotion.target
    version = cells.number(promotion.version)
    if promotion.previous_version:
        return f"{version} replaces {cells.number(promotion.previous_version)} in {target}"
    if promotion.is_alias:
        return f"creates {target} on {version}"
    return f"{target} is empty: nothing is replaced"


def approvals_text(required: int) -> str:
    if required <= 0:
        return "applies at once: no approvals needed"
    people = "1 approval" if required == 1 else f"{required} approvals"
    return f"then waits for {people}: nothing changes until approved"


def promotion_summary(promotion: stages_pb2.Promotion) -> str:
    target = f"alias {promotion.target}" if promotion.is_alias else promotion.target
    state = enum_label(stages_pb2.PromotionState, promotion.state).replace("_", " ")
    previous = f" (was {cells.number(promotion.previous_version)})" if promotion.previous_version else ""
    return f"{cells.model_id(promotion.model)} {cells.number(promotion.version)} → {target}: {state}{previous}"


def waiting_text(promotion: stages_pb2.Promotion) -> str:
    """After a promotion that waits: plainly not promoted yet, and where it goes on."""
    required = promotion.required_approvals or 1
    people = "1 approval" if required == 1 else f"{required} approvals"
    target = f"alias {promotion.target}" if promotion.is_alias else promotion.target
    return (
        f"not promoted yet: {cells.number(promotion.version)} → {target} waits for {people}; "
        "nothing changed. Approvers find it under pending approvals (A)."
    )


class PromoteDialog(ModalScreen[stages_pb2.Promotion | None]):
    """Dismissed with the applied (or waiting) promotion, or None when cancelled."""

    AUTO_FOCUS = "#reason"
    # Short terminals: the dialog takes the height it is given and the gates scroll inside it,
    # so the reason, the result and the buttons are never pushed out of sight.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="promote.cancel"),
        Binding("ctrl+r", "refresh", "Check again", id="promote.refresh"),
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

    class CheckFailed(Message, bubble=False):
        def __init__(self, error: StudbookError, target: str) -> None:
            super().__init__()
            self.error = error
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
        # The target and the dry run of it now on screen; confirming is allowed for that target alone.
        self.checked_target: str | None = None
        self.dry_run: stages_pb2.Promotion | None = None
        # The target whose dry run was asked for last.
        self.asked: str | None = None
        # A promotion was refused as stale (STALE_ETAG): the next verdict says it was checked again.
        self.changed_meanwhile = False
        # A promotion that waits for approvals: the dialog then only says so and closes.
        self.waiting: stages_pb2.Promotion | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog promote"):
            yield Label(f"Promote {self.ref}", id="dialog-title", markup=False)
            yield Static("loading…", id="promote-context", markup=False)
            with Horizontal(classes="field", id="target-field"):
                yield Label("Target")
                # The picker is mounted once the model's stages are known (see on_promote_dialog_context).
                yield Static("loading stages…", id="target-loading")
            with Horizontal(classes="field", id="alias-field"):
                yield Label("Alias")
                yield Input(self.initial_target, placeholder="name of the new alias, e.g. champion", id="alias",
                            compact=True)  # fmt: skip
            yield Label("Gates (ctrl+r checks again)", id="gates-title")
            yield GateList(id="gates")
            yield Static("", id="promote-outcome")
            with Horizontal(classes="field"):
                yield Label("Reason")
                yield Input(placeholder="why this version, why now (kept in the history)", id="reason", compact=True)
            with Horizontal(classes="field", id="confirm-field"):
                yield Label("Confirm")
                yield Input(id="confirm", compact=True)
            yield Static("", id="promote-result")
            with Horizontal(classes="buttons"):
                yield Button("Promote (enter)", id="promote", variant="warning", disabled=True, compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#alias-field").display = False
        self.query_one("#confirm-field").display = False
        self.query_one("#gates", GateList).note("waiting for the version…")
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

    @work(exclusive=True, group="promote-check")
    async def check(self, target: str, pause: float = 0.0) -> None:
        """The dry run of promoting to `target`; a newer check cancels this one (exclusive)."""
        assert self.version is not None
        if pause:
            await asyncio.sleep(pause)
        try:
            promotion = await self.app.client.promote(  # type: ignore[attr-defined]
                self.version.name, target, validate_only=True
            )
        except StudbookError as error:
            self.post_message(self.CheckFailed(error, target))
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
        keep = self.target() if self.model is not None else ""  # a refresh keeps the chosen target
        self.version, self.model = message.version, message.model
        version, model = message.version, message.model
        resolved = f"{cells.model_id(version.model)} v{version.number}"
        self.query_one("#dialog-title", Label).update(safe(f"Promote {resolved}"))
        stages = list(model.stages)
        held = ", ".join(version.stages) or "nothing"
        semver = f" ({version.semver})" if version.semver else ""
        self.query_one("#promote-context", Static).update(
            safe(f"v{version.number}{semver}, {cells.status(version)}; holds {held}; stages: {' → '.join(stages)}")
        )
        choices = target_choices(model)
        wanted = keep or self.initial_target or suggested_target(version, stages)
        if wanted not in {value for _, value in choices}:
            # A name that is neither a stage nor an alias yet: the alias it would create.
            self.query_one("#alias", Input).value = wanted
            wanted = NEW_ALIAS
        self.query_one("#alias-field").display = wanted == NEW_ALIAS
        pickers = self.query("#target").results(Select)
        picker = next(pickers, None)
        if picker is None:
            self.query_one("#target-loading").remove()
            picker = Select[str](choices, value=wanted, allow_blank=False, id="target", compact=True)
            self.query_one("#target-field").mount(picker)
        else:
            picker.set_options(choices)
            picker.value = wanted
        self._target_changed(wanted=wanted)

    def on_promote_dialog_checked(self, message: Checked) -> None:
        if message.target != self.asked or self.waiting is not None:
            return  # the user has moved on to another target
        promotion = message.promotion
        self.checked_target, self.dry_run = message.target, promotion
        self.query_one("#gates", GateList).show(promotion.gate_results)
        refused = would_refuse(promotion)
        outcome = f"{replaced_text(promotion)}; {approvals_text(promotion.required_approvals)}"
        self.query_one("#promote-outcome", Static).update(safe(outcome))
        button = self.query_one("#promote", Button)
        button.disabled = refused
        meanwhile = "the model changed meanwhile, so its gates were checked again: " if self.changed_meanwhile else ""
        self.changed_meanwhile = False
        if refused:
            failed = ", ".join(g.gate for g in promotion.gate_results if not g.passed) or "the dry run"
            self._result(f"{meanwhile}the daemon will refuse this: {failed} failed", "$text-error")
        elif meanwhile:
            self._result(f"{meanwhile}they pass; enter promotes", "$text-warning")
        else:
            typed = " the model's name," if needs_typed_confirmation(message.target, self._stages()) else ""
            self._result(f"the gates pass; a reason,{typed} then enter promotes", "$text-success")
        self._confirmation(message.target)

    def on_promote_dialog_check_failed(self, message: CheckFailed) -> None:
        if message.target != self.asked:
            return
        self.checked_target, self.dry_run = None, None
        self.query_one("#promote", Button).disabled = True
        self.query_one("#gates", GateList).note("the dry run was refused; nothing to confirm")
        self.query_one("#promote-outcome", Static).update("")
        self._error(message.error)

    def on_promote_dialog_done(self, message: Done) -> None:
        promotion = message.promotion
        if promotion.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL:
            self._show_waiting(promotion)
            return
        if promotion.state == stages_pb2.PROMOTION_STATE_FAILED:
            self._result(promotion_summary(promotion), "$text-error")
            return
        self.app.notify(promotion_summary(promotion), title="promoted")
        self.dismiss(promotion)

    def on_promote_dialog_refused(self, message: Refused) -> None:
        if message.error.reason == STALE_ETAG and self.version is not None:
            # Someone changed the model (a holder, a new version) since it was read: what the
            # gates said may no longer hold, so read it again and check again before anything else.
            self.changed_meanwhile = True
            self.load_context()
            return
        self.query_one("#promote", Button).disabled = True
        if self.version is None:
            self.query_one("#gates", GateList).note("nothing to check: the version could not be read")
        self._error(message.error)

    # ---- state ----

    def picked_value(self) -> str:
        """The picker's value: a stage, an alias or NEW_ALIAS; "" before the stages are known."""
        picker = next(self.query("#target").results(Select), None)
        value = picker.value if picker is not None else ""
        return value if isinstance(value, str) else ""

    def target(self, wanted: str | None = None) -> str:
        """The target picked (or `wanted`, about to be): a stage, an alias, or the new alias typed."""
        value = self.picked_value() if wanted is None else wanted
        if value == NEW_ALIAS:
            return self.query_one("#alias", Input).value.strip()
        return value

    def _target_changed(self, pause: float = 0.0, wanted: str | None = None) -> None:
        """Forget the last verdict, and ask for the one of the target now picked."""
        self.asked = self.target(wanted)
        self.checked_target, self.dry_run = None, None
        self.query_one("#promote", Button).disabled = True
        self.query_one("#promote-outcome", Static).update("")
        self._confirmation(None)
        target = self.asked
        if self.version is None:
            return
        if not target:
            self.query_one("#gates", GateList).note("type the name of the new alias")
            self._result("")
            return
        self.query_one("#gates", GateList).note(f"checking the gates of {target}…")
        self._result("")
        self.check(target, pause)

    def _show_waiting(self, promotion: stages_pb2.Promotion) -> None:
        self.waiting = promotion
        self._result(waiting_text(promotion), "$text-warning")
        self.query_one("#promote", Button).display = False
        self.query_one("#cancel", Button).label = "Close (enter)"
        for widget in self.query("Select, Input"):
            widget.disabled = True
        self.query_one("#cancel", Button).focus()

    def _result(self, text: str, style: str = "") -> None:
        self.query_one("#promote-result", Static).update(Content.styled(safe(text), style))

    def _error(self, error: StudbookError) -> None:
        self._result(f"{error.message} [{error.reason}]", "$text-error")

    def _stages(self) -> list[str]:
        return list(self.model.stages) if self.model else []

    def _confirmation(self, target: str | None) -> None:
        needed = target is not None and needs_typed_confirmation(target, self._stages())
        self.query_one("#confirm-field").display = needed
        if needed and self.model is not None:
            model = cells.model_id(self.model.name)
            self.query_one("#confirm", Input).placeholder = safe(f"{target} is live: type {model} to confirm")

    # ---- user ----

    @on(Select.Changed, "#target")
    def picked(self, event: Select.Changed) -> None:
        is_new = event.value == NEW_ALIAS
        self.query_one("#alias-field").display = is_new
        if is_new and event.select.has_focus:
            self.query_one("#alias", Input).focus()
        if self.target() != self.asked:  # setting the picker's value from code reports it too
            self._target_changed()

    @on(Input.Changed, "#alias")
    def alias_typed(self) -> None:
        if self.picked_value() == NEW_ALIAS and self.target() != self.asked:
            self._target_changed(ALIAS_PAUSE)

    @on(Input.Submitted, "#alias")
    def alias_done(self) -> None:
        self.query_one("#reason", Input).focus()

    def action_refresh(self) -> None:
        """Reads the model again (holders, etag) and reruns the dry run of the target picked."""
        if self.waiting is None:
            self.load_context()

    @on(Input.Submitted, "#reason")
    @on(Input.Submitted, "#confirm")
    @on(Button.Pressed, "#promote")
    def submit_promote(self) -> None:
        if self.waiting is not None:
            return
        target, reason = self.target(), self.query_one("#reason", Input).value.strip()
        if self.checked_target is None or self.checked_target != target or self.dry_run is None:
            self._result("the gates are still being checked; try again in a moment", "$text-warning")
            return
        if would_refuse(self.dry_run):
            self._result("the gates refuse this promotion: pick another target or version", "$text-error")
            return
        if not reason:
            self._result("give a reason: it is kept in the history", "$text-warning")
            self.query_one("#reason", Input).focus()
            return
        confirm = self.query_one("#confirm", Input)
        model = cells.model_id(self.model.name) if self.model else ""
        if self.query_one("#confirm-field").display and confirm.value.strip() != model:
            self._result(f"type {model} exactly to promote to {target}", "$text-warning")
            confirm.focus()
            return
        self._result("promoting…", "$text-muted")
        self.apply(target, reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.waiting is not None:
            # Said again once the dialog is gone, where a toast covers nothing.
            self.app.notify(waiting_text(self.waiting), title="waiting for approval", severity="warning")
        self.dismiss(self.waiting)
