"""TopBar: where the user is (a breadcrumb) and whether the daemon answers."""

from __future__ import annotations

from studbook.tui.widgets.connection import ConnectionIndicator
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label


class TopBar(Horizontal):
    """One line: `studbook › fraud-detector › v3`, the address, and the connection state."""

    def __init__(self, crumb: str, *, readonly: bool = False, identity: str = "") -> None:
        super().__init__()
        self.crumb = crumb
        self.readonly = readonly
        self.identity = identity

    def compose(self) -> ComposeResult:
        yield Label("studbook", id="brand")
        yield Label(self.crumb, id="crumb", markup=False)
        if self.identity:
            yield Label(self.identity, id="identity", markup=False)
        if self.readonly:
            yield Label("read-only", id="readonly")
        yield ConnectionIndicator(id="connection")

    def show_identity(self, identity: str, readonly: bool) -> None:
        """Who the daemon takes us for (`ci (viewer)`), learned after the bar was composed."""
        if identity and not self.identity:
            self.identity = identity
            self.mount(Label(identity, id="identity", markup=False), before=self.query_one("#connection"))
        if readonly and not self.readonly:
            self.readonly = True
            self.mount(Label("read-only", id="readonly"), before=self.query_one("#connection"))

    def set_crumb(self, crumb: str) -> None:
        self.crumb = crumb
        self.query_one("#crumb", Label).update(crumb)
