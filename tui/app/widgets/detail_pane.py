"""DetailPane: the whole text of the row under a list's cursor, where a one-line row cannot hold it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from studbook.client.safe_text import safe
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

Field = tuple[str, "Text | str"]


def wrapping(value: Text | str) -> Text:
    """A copy that wraps, folding words longer than a line (paths, digests) instead of cutting them.

    Cells of the lists are painted `no_wrap`; the pane shows the same Text whole.
    """
    text = value.copy() if isinstance(value, Text) else Text(safe(value))
    text.no_wrap = False
    text.overflow = "fold"
    return text


def fields_table(fields: Sequence[Field]) -> Table:
    """Label and value side by side: a value's second line starts under its first, never at column 1."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(ratio=1, overflow="fold")
    for label, value in fields:
        grid.add_row(Text(label), wrapping(value))
    return grid


class DetailPane(VerticalScroll):
    """Under a list; the screen calls `show` whenever the cursor moves.

    It scrolls by itself when its text is taller than it (wheel, or focus it and use
    j/k), so the list above keeps one line per row.
    """

    DEFAULT_CSS = """
    DetailPane {
        height: 1fr;
        min-height: 4;
        padding: 0 1;
        border-top: solid $panel-lighten-2;
        background: $boost;
        scrollbar-size-vertical: 1;
    }
    DetailPane > Static { width: 1fr; }
    DetailPane:focus { background-tint: $foreground 5%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="detail.down"),
        Binding("k", "scroll_up", "Up", show=False, id="detail.up"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self._body = Static("", markup=False)

    def compose(self) -> ComposeResult:
        yield self._body

    def show(self, fields: Sequence[Field], title: Text | str | None = None) -> None:
        """Each field: its label, and its value wrapped beside it; `title` above them when given."""
        if title is None:
            self._body.update(fields_table(fields))
        else:
            heading = wrapping(title)
            heading.stylize("bold")
            self._body.update(Group(heading, fields_table(fields)))
        self.scroll_home(animate=False)

    def clear(self, note: str = "") -> None:
        self._body.update(Text(note, style="dim"))
