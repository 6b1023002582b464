"""DropsScreen: the quarantined drop-ins, why each was refused, and a retry."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe
from studbook.cli.output import enum_label
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import drops_pb2

COLUMNS = ("PATH", "MODEL", "REASON", "WHAT TO FIX", "SEEN")
# Quarantined drops are few; the first page is enough, and the status line says when it is not.
PAGE_SIZE = 500


class DropsScreen(RegistryScreen):
    """`t` asks the daemon to look at the drop under the cursor again."""

    crumb = "drop-ins › quarantined"
    AUTO_FOCUS = "VimTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "retry", "Retry", id="drops.retry"),
        Binding("r", "reload", "Refresh", id="drops.refresh"),
    ]

    class Loaded(Message, bubble=False):
        def __init__(self, drops: list[drops_pb2.Drop], total: int) -> None:
            super().__init__()
            self.drops = drops
            self.total = total

    class Retried(Message, bubble=False):
        def __init__(self, drop: drops_pb2.Drop) -> None:
            super().__init__()
            self.drop = drop

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError) -> None:
            super().__init__()
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.drops: list[drops_pb2.Drop] = []

    def compose_body(self) -> ComposeResult:
        yield Static("", id="status", classes="status-line", markup=False)
        yield VimTable(id="drops")

    def on_mount(self) -> None:
        self.query_one(VimTable).add_columns(*COLUMNS)
        super().on_mount()

    def reload(self) -> None:
        self.load_drops()

    @work(exclusive=True, group="drops")
    async def load_drops(self) -> None:
        try:
            response = await self.registry.client.list_quarantined_drops(page_size=PAGE_SIZE)
        except StudbookError as error:
            self.post_message(self.Failed(error))
            return
        self.post_message(self.Loaded(list(response.drops), response.total_size))

    @work(exclusive=True, group="drops-retry")
    async def retry(self, drop: drops_pb2.Drop) -> None:
        try:
            again = await self.registry.client.retry_drop(drop.name)
        except StudbookError as error:
            self.post_message(self.Failed(error))
            return
        self.post_message(self.Retried(again))

    def on_drops_screen_loaded(self, message: Loaded) -> None:
        self.drops = message.drops
        paint = self.paint()
        table = self.query_one(VimTable)
        table.clear()
        for drop in self.drops:
            table.add_row(paint(drop.path), paint(drop.model), paint(drop.reason, "bad"), paint(drop.message),
                          paint(self.registry.times.ago(drop.update_time), "muted"))  # fmt: skip
        count = max(message.total, len(self.drops))
        shown = f" (the first {len(self.drops)} shown)" if count > len(self.drops) else ""
        self.query_one("#status", Static).update(
            f"{count} quarantined drop{'s' if count != 1 else ''}{shown}" if count else "no quarantined drops"
        )

    def on_drops_screen_retried(self, message: Retried) -> None:
        # The daemon answers before it looks, so the state here is the old verdict; the new
        # one arrives as an event (or with the next refresh).
        state = enum_label(drops_pb2.DropState, message.drop.state)
        self.notify(f"{message.drop.path}: looking at it again (was {state})", title="retry")
        self.schedule_reload()

    def on_drops_screen_failed(self, message: Failed) -> None:
        self.show_error(message.error, "drop-ins")
        self.query_one("#status", Static).update(safe(f"{message.error.message} [{message.error.reason}]"))

    def action_retry(self) -> None:
        row = self.query_one(VimTable).cursor_row
        if 0 <= row < len(self.drops):
            self.retry(self.drops[row])

    def action_reload(self) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry" and self.registry.readonly:
            return False
        return True
