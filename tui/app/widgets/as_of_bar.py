"""AsOfBar: "who held each stage at TIME": one input for the moment, and the answer under it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.console import RenderableType
from studbook.cli.times import InvalidTime
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

PLACEHOLDER = "2026-11-03 14:00, 3d, 1h ago, now"


class AsOfInput(Input):
    """Escape leaves the input for the list instead of leaving the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "done", "Done", show=False, id="as_of.done")]

    class Done(Message):
        pass

    def action_done(self) -> None:
        self.post_message(self.Done())


class AsOfBar(Vertical):
    """The screen answers `Asked` by calling `answer`; a moment that cannot be read is said here at once.

    `parse` turns the typed text into a moment (the app's clock and zone), raising `InvalidTime`.
    """

    DEFAULT_CSS = """
    AsOfBar { height: auto; }
    AsOfBar > Horizontal { height: 1; }
    AsOfBar Label { padding: 0 1 0 0; color: $text-muted; }
    AsOfBar AsOfInput { height: 1; border: none; padding: 0 1; width: 1fr; }
    AsOfBar AsOfInput:focus { border: none; background-tint: $foreground 8%; }
    AsOfBar #as-of-answer { height: auto; max-height: 6; padding: 0 1 0 0; }
    AsOfBar.-empty #as-of-answer { display: none; }
    AsOfBar.-error #as-of-answer { color: $text-error; }
    """

    class Asked(Message):
        def __init__(self, moment: datetime) -> None:
            super().__init__()
            self.moment = moment

    def __init__(self, parse: Callable[[str], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")
        self.parse = parse

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("who held each stage at (a):")
            yield AsOfInput(placeholder=PLACEHOLDER, id="as-of-input")
        yield Static("", id="as-of-answer", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.answer("")
            return
        try:
            moment = self.parse(event.value)
        except InvalidTime as error:
            self.fail(str(error))
            return
        self.post_message(self.Asked(moment))

    def answer(self, text: RenderableType) -> None:
        self.set_class(False, "-error")
        self.set_class(not text, "-empty")
        self.query_one("#as-of-answer", Static).update(text)

    def fail(self, text: str) -> None:
        """Said in the error colour where the answer goes; the input keeps what was typed."""
        self.set_class(True, "-error")
        self.set_class(False, "-empty")
        self.query_one("#as-of-answer", Static).update(text)

    def ask(self) -> None:
        """Put the cursor in the input, its text selected so typing replaces it."""
        field = self.query_one(AsOfInput)
        field.focus()
        field.select_all()
