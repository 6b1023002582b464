"""Footer: Textual's key footer, rebuilt once per burst of binding changes, and only when what it shows changed.

Textual's own footer recomposes every key once per change it hears of (focus, screen stack,
keymap, app focus), and a screen that opens hears of several within a frame or two; each
rebuild restyles every key. Coalesced, the first frame and the first rows come sooner, and
the footer still ends up showing what the last change says, focused or not. Most changes (the table taking
the focus, a worker's state) leave the shown keys as they were: then nothing is rebuilt.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._change_pending: Screen | None = None
        # What the last rebuild was asked to show (see `_shown`); None until the first.
        self._composed: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        # The keys are in the screen's first frame. Textual's footer composes nothing until it
        # hears of a binding change, which comes a frame or more later (after the first fetch
        # has begun, loading grpc), and then composes again: every key restyled, the screen reflowed.
        if self._composed is None:
            self._composed = self._shown(self.screen)
            self.set_reactive(TextualFooter._bindings_ready, True)
        return super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        first = self._change_pending is None
        self._change_pending = screen
        if first:
            self.call_after_refresh(self._apply_bindings_change)

    def _apply_bindings_change(self) -> None:
        screen, self._change_pending = self._change_pending, None
        if screen is None or not self.is_attached or screen is not self.screen:
            return
        # Unlike Textual's footer, a change is applied while the app lacks focus too: a browser
        # tab that was never clicked never gives it focus, and its footer would keep the keys
        # of the moment it was drawn (a viewer's Promote, before the role was known).
        shown = self._shown(screen)
        if shown == self._composed:
            return
        self._composed = shown
        self._bindings_ready = True
        self.call_after_refresh(self.recompose)

    def _shown(self, screen: Screen) -> tuple[Any, ...]:
        """Everything of the screen's bindings that the footer's keys are built from."""
        app = screen.app
        keys = tuple(
            (b.key, app.get_key_display(b), b.description, b.action, b.group, b.tooltip, enabled, tooltip)
            for (_, b, enabled, tooltip) in screen.active_bindings.values()
            if b.show or b.key == app.COMMAND_PALETTE_BINDING
        )
        return (keys, self.compact, self.show_command_palette, app.ENABLE_COMMAND_PALETTE)
