"""Footer: Textual's key footer, rebuilt once per burst of binding changes.

Textual's own footer recomposes every key once per change it hears of (focus, screen stack,
keymap, app focus), and a screen that opens hears of several within a frame or two; each
rebuild restyles every key. Coalesced, the first frame and the first rows come sooner, and
the footer still ends up showing what the last change says.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._change_pending: Screen | None = None

    def bindings_changed(self, screen: Screen) -> None:
        first = self._change_pending is None
        self._change_pending = screen
        if first:
            self.call_after_refresh(self._apply_bindings_change)

    def _apply_bindings_change(self) -> None:
        screen, self._change_pending = self._change_pending, None
        if screen is not None:
            super().bindings_changed(screen)
