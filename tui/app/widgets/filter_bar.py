"""FilterBar: the `/` line whose text goes to the daemon as a filter expression; shows its refusals."""

from __future__ import annotations

from typing import ClassVar

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

    # The input is built the first time the bar is needed: every list screen has a bar, few
    # uses open it, and an Input (with its styles) is a good part of the first frame's work.
    def _field(self) -> Input:
        if not self.children:
            self.mount(Input(placeholder=self.placeholder, id="filter-input"),
                       Static("", id="filter-error", markup=False))  # fmt: skip
        return self.query_one(Input)

    def open(self) -> None:
        self.add_class("-open")
        field = self._field()
        field.disabled = False
        field.focus()

    def action_close(self) -> None:
        self.remove_class("-open")
        # A closed bar must not take the focus (or the keys) from the table below it.
        if self.children:
            self.query_one(Input).disabled = True
        self.post_message(self.Closed())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Applied(self, event.value.strip()))

    def accepted(self, text: str) -> None:
        """The daemon took `text`: forget any earlier error, and close when the filter is empty."""
        self.applied = text
        if self.children:
            self.query_one("#filter-error", Static).update("")
        self.remove_class("-error")
        if text:
            self.add_class("-active")
        else:
            self.remove_class("-active")

    def refused(self, message: str) -> None:
        """Show the daemon's reason inline, keep the bar open for a fix."""
        self.add_class("-open", "-error")
        self._field().disabled = False
        self.query_one("#filter-error", Static).update(message)
