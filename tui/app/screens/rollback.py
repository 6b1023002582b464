"""RollbackDialog: put the previous holder of a stage back, after one confirmation.

What it says comes from the daemon's dry run of the very rollback it offers (the same rule
that picks the version to put back), so the confirmation says exactly what will happen; when
the dry run is refused (nothing to roll back to, a gate), there is nothing to confirm. Given a
`version` (a monitor's rollback candidate), it puts back that earlier holder instead.
"""

from __future__ import annotations

from typing import ClassVar

from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe
from studbook.tui import cells
from studbook.tui.screens.promote import promotion_summary
from studbook.v1 import stages_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

DEFAULT_REASON = "rolled back from the terminal UI"
CANDIDATE_REASON = "rolled back to the monitor's candidate from the terminal UI"


class RollbackDialog(ModalScreen[stages_pb2.Promotion | None]):
    """Says who holds the stage and who would come back; Enter in the reason, or the button, confirms."""

    # The reason is typed first: every key goes to it, so no letter of it can confirm.
    AUTO_FOCUS = "#reason"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="rollback.cancel"),
    ]

    class Context(Message, bubble=False):
        def __init__(self, planned: stages_pb2.Promotion) -> None:
            super().__init__()
            self.planned = planned

    class Done(Message, bubble=False):
        def __init__(self, promotion: stages_pb2.Promotion) -> None:
            super().__init__()
            self.promotion = promotion

    class Refused(Message, bubble=False):
        def __init__(self, error: StudbookError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, model: str, stage: str, *, version: str = "", summary: str = "") -> None:
        super().__init__()
        self.model = model
        self.stage = stage
        # The earlier holder to put back (empty: the previous one), and why it was chosen.
        self.version = version
        self.summary = summary
        self.default_reason = CANDIDATE_REASON if version else DEFAULT_REASON

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            title = f"Roll back {self.stage} of {self.model}" + (
                f" to {cells.number(self.version)}" if self.version else ""
            )
            yield Label(title + "?", id="dialog-title", markup=False)
            yield Static("looking up the previous holder…", id="rollback-context", markup=False)
            yield Label("Reason")
            yield Input(placeholder=self.default_reason, id="reason", compact=True)
            yield Static("", id="rollback-result")
            with Horizontal(classes="buttons"):
                yield Button("Roll back (enter)", id="confirm", variant="error", compact=True, disabled=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.load_context()

    @work(exclusive=True, group="rollback-context")
    async def load_context(self) -> None:
        try:
            planned = await self.app.client.rollback(  # type: ignore[attr-defined]
                self.model, self.stage, validate_only=True, **self._target()
            )
        except StudbookError as error:
            self.query_one("#rollback-context", Static).update("there is nothing to roll back:")
            self.post_message(self.Refused(error))
            return
        self.post_message(self.Context(planned))

    @work(exclusive=True, group="rollback")
    async def rollback(self, reason: str) -> None:
        try:
            client = self.app.client  # type: ignore[attr-defined]
            promotion = await client.rollback(self.model, self.stage, reason=reason, **self._target())
        except StudbookError as error:
            self.post_message(self.Refused(error))
            return
        self.post_message(self.Done(promotion))

    def _target(self) -> dict[str, str]:
        """The earlier holder asked for, if any: the dry run and the rollback name the same one."""
        return {"to": self.version} if self.version else {}

    def on_rollback_dialog_context(self, message: Context) -> None:
        planned = message.planned
        holder, back = cells.number(planned.previous_version), cells.number(planned.version)
        failed = [g for g in planned.gate_results if not g.passed]
        if failed:
            text = f"rolling back to {back} is refused by: " + ", ".join(f"{g.gate} ({g.detail})" for g in failed)
        else:
            text = f"{self.stage} is held by {holder}; rolling back brings back {back}"
        # Each line made safe on its own: safe() would write the newline between them as an escape.
        self.query_one("#rollback-context", Static).update(
            "\n".join(safe(line) for line in (text, self.summary) if line)
        )
        self.query_one("#confirm", Button).disabled = bool(failed)

    def on_rollback_dialog_done(self, message: Done) -> None:
        self.app.notify(promotion_summary(message.promotion), title="rolled back")
        self.dismiss(message.promotion)

    def on_rollback_dialog_refused(self, message: Refused) -> None:
        error = message.error
        self.query_one("#rollback-result", Static).update(
            Content.styled(safe(f"{error.message} [{error.reason}]"), "$text-error")
        )

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#reason")
    def action_confirm(self) -> None:
        if self.query_one("#confirm", Button).disabled:
            return  # not known yet what a rollback would do, or it would be refused
        reason = self.query_one("#reason", Input).value.strip() or self.default_reason
        self.query_one("#rollback-result", Static).update(Content.styled("rolling back…", "$text-muted"))
        self.rollback(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
