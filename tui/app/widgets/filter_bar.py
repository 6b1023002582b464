"""FilterBar: the `/` line whose text goes to the daemon as a filter expression; shows its refusals."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static


class FilterBar(Vertical):
    """Hidden until opened. Enter applies the text (empty clears it); Esc closes, keeping it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close filter", id="filter.close"),
    ]

    class Applied(Message):
        """The user submitted a filter; handled by `on_filter_bar_applied`."""

        def __init__(self, bar: FilterBar, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.text = text

        @property
        def control(self) -> FilterBar:
            return self.bar

    class Closed(Message):
        """The bar was closed; handled by `on_filter_bar_closed`."""

    def __init__(self, placeholder: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.placeholder = placeholder
        self.applied = ""
        """The filter the daemon last accepted."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, id="filter-input")
        yield Static("", id="filter-error", markup=False)

    def on_mount(self) -> None:
        # A closed bar must not take the focus (or the keys) from the table below it.
        self.query_one(Input).disabled = True

    def open(self) -> None:
        self.add_class("-open")
        field = self.query_one(Input)
        field.disabled = False
        field.focus()

    def action_close(self) -> None:
        self.remove_class("-open")
        self.query_one(Input).disabled = True
        self.post_message(self.Closed())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Applied(self, event.value.strip()))

    def accepted(self, text: str) -> None:
        """The daemon took `text`: forget any earlier error, and close when the filter is empty."""
        self.applied = text
        self.query_one("#filter-error", Static).update("")
        self.remove_class("-error")
        if text:
            self.add_class("-active")
        else:
            self.remove_class("-active")

    def refused(self, message: str) -> None:
        """Show the daemon's reason inline, keep the bar open for a fix."""
        self.add_class("-open", "-error")
        self.query_one(Input).disabled = False
        self.query_one("#filter-error", Static).update(message)
