"""DecisionDialog: asks for the comment of an approval or the reason of a rejection."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class DecisionDialog(ModalScreen[str | None]):
    """Dismissed with the text typed ("" allowed unless `required`), or None when cancelled."""

    AUTO_FOCUS = "#decision-text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="decision.cancel"),
    ]

    def __init__(self, title: str, label: str, button: str, *, required: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.label = label
        self.button = button
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text, id="dialog-title", markup=False)
            yield Label(self.label, markup=False)
            # Compact inputs draw no border: without a placeholder the field looks like a blank line.
            placeholder = "required: why" if self.required else "optional: a comment, then enter"
            yield Input("", id="decision-text", compact=True, placeholder=placeholder)
            yield Static("", id="decision-problem")
            with Horizontal(classes="buttons"):
                yield Button(self.button, id="confirm", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#decision-text")
    def confirm(self) -> None:
        text = self.query_one("#decision-text", Input).value.strip()
        if self.required and not text:
            # The daemon would accept an empty reason; a rejection without one helps nobody.
            self.query_one("#decision-problem", Static).update(Content.styled("a reason is required", "$text-error"))
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
