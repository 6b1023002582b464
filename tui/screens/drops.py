"""DropsScreen: the quarantined drop-ins, why each was refused, and a retry."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from studbook.tui.drop_calls import DropCalls
from studbook.tui.errors import StudbookError
from studbook.tui.output import enum_label
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import drops_pb2

COLUMNS = ("PATH", "MODEL", "REASON", "WHAT TO FIX", "SEEN")


class DropsScreen(RegistryScreen):
    """`t` asks the daemon to look at the drop under the cursor again."""

    crumb = "drop-ins › quarantined"
    AUTO_FOCUS = "VimTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "retry", "Retry", id="drops.retry"),
        Binding("r", "reload", "Refresh", id="drops.refresh"),
    ]

    class Loaded(Message, bubble=False):
        def __init__(self, drops: list[drops_pb2.Drop]) -> None:
            super().__init__()
            self.drops = drops

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
        # Made on mount, when the app (and its address) is known.
        self.calls = DropCalls("")

    def compose_body(self) -> ComposeResult:
        yield Static("", id="status", classes="status-line", markup=False)
        yield VimTable(id="drops")

    def on_mount(self) -> None:
        self.calls = DropCalls(self.registry.client.address)
        self.query_one(VimTable).add_columns(*COLUMNS)
        super().on_mount()

    async def on_unmount(self) -> None:
        await self.calls.close()

    def reload(self) -> None:
        self.load_drops()

    @work(exclusive=True, group="drops")
    async def load_drops(self) -> None:
        try:
            response = await self.calls.quarantined()
        except StudbookError as error:
            self.post_message(self.Failed(error))
            return
        self.post_message(self.Loaded(list(response.drops)))

    @work(exclusive=True, group="drops-retry")
    async def retry(self, drop: drops_pb2.Drop) -> None:
        try:
            again = await self.calls.retry(drop)
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
        count = len(self.drops)
        self.query_one("#status", Static).update(
            f"{count} quarantined drop{'s' if count != 1 else ''}" if count else "no quarantined drops"
        )

    def on_drops_screen_retried(self, message: Retried) -> None:
        state = enum_label(drops_pb2.DropState, message.drop.state)
        self.notify(f"{message.drop.path}: {state}", title="retried")
        self.schedule_reload()

    def on_drops_screen_failed(self, message: Failed) -> None:
        self.show_error(message.error, "drop-ins")
        self.query_one("#status", Static).update(f"{message.error.message} [{message.error.reason}]")

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
