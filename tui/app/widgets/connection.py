"""ConnectionIndicator: connected / reconnecting / offline, as the app's `connection` says."""

from __future__ import annotations

from studbook.tui.live import ConnectionState
from textual.widgets import Static

SYMBOLS = {
    ConnectionState.CONNECTING: "○ connecting",
    ConnectionState.CONNECTED: "● connected",
    ConnectionState.RECONNECTING: "◌ reconnecting",
    ConnectionState.OFFLINE: "✕ offline",
}


class ConnectionIndicator(Static):
    """Follows the app's `connection` reactive; the state is also a CSS class for its colour."""

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self._show, init=True)

    def _show(self, state: ConnectionState) -> None:
        self.update(SYMBOLS[state])
        for known in ConnectionState:
            self.set_class(known is state, f"-{known.value}")
        detail = getattr(self.app, "connection_detail", "")
        self.tooltip = detail or None
