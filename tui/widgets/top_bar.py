"""TopBar: where the user is (a breadcrumb) and whether the daemon answers."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from studbook.tui.widgets.connection import ConnectionIndicator


class TopBar(Horizontal):
    """One line: `studbook › fraud-detector › v3`, the address, and the connection state."""

    def __init__(self, crumb: str, *, readonly: bool = False) -> None:
        super().__init__()
        self.crumb = crumb
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        yield Label("studbook", id="brand")
        yield Label(self.crumb, id="crumb", markup=False)
        if self.readonly:
            yield Label("read-only", id="readonly")
        yield ConnectionIndicator(id="connection")

    def set_crumb(self, crumb: str) -> None:
        self.crumb = crumb
        self.query_one("#crumb", Label).update(crumb)
