"""RollbackDialog: put the previous holder of a stage back, after one confirmation."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from studbook.tui import cells
from studbook.tui.errors import StudbookError
from studbook.tui.safe_text import safe
from studbook.tui.screens.promote import promotion_summary
from studbook.v1 import stages_pb2

DEFAULT_REASON = "rolled back from the terminal UI"


class RollbackDialog(ModalScreen[stages_pb2.Promotion | None]):
    """Says who holds the stage and who would come back; `y` or the button confirms."""

    # The button, not the reason field: `y` must confirm, not type a letter.
    AUTO_FOCUS = "#confirm"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="rollback.cancel"),
        Binding("y", "confirm", "Roll back", id="rollback.confirm"),
    ]

    class Context(Message, bubble=False):
        def __init__(self, history: stages_pb2.GetStageHistoryResponse) -> None:
            super().__init__()
            self.history = history

    class Done(Message, bubble=False):
        def __init__(self, promotion: stages_pb2.Promotion) -> None:
            super().__init__()
            self.promotion = promotion

    class Refused(Message, bubble=False):
        def __init__(self, error: StudbookError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, model: str, stage: str) -> None:
        super().__init__()
        self.model = model
        self.stage = stage

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Roll back {self.stage} of {self.model}?", id="dialog-title", markup=False)
            yield Static("looking up the previous holder…", id="rollback-context", markup=False)
            yield Label("Reason")
            yield Input(DEFAULT_REASON, id="reason", compact=True)
            yield Static("", id="rollback-result")
            with Horizontal(classes="buttons"):
                yield Button("Roll back (y)", id="confirm", variant="error", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.load_context()

    @work(exclusive=True, group="rollback-context")
    async def load_context(self) -> None:
        try:
            history = await self.app.client.stage_history(  # type: ignore[attr-defined]
                self.model, stage=self.stage, page_size=1
            )
        except StudbookError as error:
            self.post_message(self.Refused(error))
            return
        self.post_message(self.Context(history))

    @work(exclusive=True, group="rollback")
    async def rollback(self, reason: str) -> None:
        try:
            client = self.app.client  # type: ignore[attr-defined]
            promotion = await client.rollback(self.model, self.stage, reason=reason)
        except StudbookError as error:
            self.post_message(self.Refused(error))
            return
        self.post_message(self.Done(promotion))

    def on_rollback_dialog_context(self, message: Context) -> None:
        changes = message.history.changes
        if not changes:
            text = f"{self.stage} of {self.model} has no history yet"
        else:
            last = changes[0]
            holder = cells.number(last.version) or "nobody"
            previous = cells.number(last.previous_version) or "nobody"
            text = f"{self.stage} is held by {holder}; rolling back should bring back {previous}"
        self.query_one("#rollback-context", Static).update(text)

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
        reason = self.query_one("#reason", Input).value.strip() or DEFAULT_REASON
        self.query_one("#rollback-result", Static).update(Content.styled("rolling back…", "$text-muted"))
        self.rollback(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
