"""DropsScreen: the quarantined drop-ins, why each was refused, and a retry that reports its verdict."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from studbook.cli.output import enum_label
from studbook.client.clients import drop_settled
from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe
from studbook.tui.drop_text import drop_fields, verdict_headline, verdict_text, within_root
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.widgets.detail_pane import DetailPane
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import drops_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

# Fixed widths, all on screen at 120 columns: one long path or message must not push the others off;
# the detail pane under the list shows every cell whole.
COLUMNS = (("PATH", 20), ("MODEL", 14), ("REASON", 20), ("WHAT TO FIX", 44), ("SEEN", 9))
# Quarantined drops are few; the first page is enough, and the status line says when it is not.
PAGE_SIZE = 500
# After a retry, how often to ask for the verdict, and for how long before saying it is late.
VERDICT_POLL_SECONDS = 0.2
VERDICT_PATIENCE_SECONDS = 60.0


class DropsScreen(RegistryScreen):
    """`t` asks the daemon to look at the drop under the cursor again, and says what it decided."""

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

    class Asked(Message, bubble=False):
        """The daemon took the retry; its verdict follows as `Judged`."""

        def __init__(self, drop: drops_pb2.Drop) -> None:
            super().__init__()
            self.drop = drop

    class Judged(Message, bubble=False):
        """The verdict after a retry (`settled`), or the drop as it stood when patience ran out."""

        def __init__(self, drop: drops_pb2.Drop, settled: bool) -> None:
            super().__init__()
            self.drop = drop
            self.settled = settled

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError) -> None:
            super().__init__()
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        # The quarantined drops, as the daemon listed them.
        self.drops: list[drops_pb2.Drop] = []
        # What the table shows: those, then drops retried here that left the quarantine, so a
        # row that was fixed says what became of it instead of vanishing.
        self.rows: list[drops_pb2.Drop] = []
        # Verdicts after a retry on this screen, by drop name; `None` while it is awaited.
        self.outcomes: dict[str, drops_pb2.Drop | None] = {}
        self.outcome_line = ""
        self._total = 0

    def compose_body(self) -> ComposeResult:
        yield Static("", id="status", classes="status-line", markup=False)
        yield VimTable(id="drops")
        yield DetailPane(id="drop-detail")

    def on_mount(self) -> None:
        table = self.query_one(VimTable)
        for title, width in COLUMNS:
            table.add_column(title, width=width)

    def reload(self) -> None:
        self.load_drops()

    # ---- calls ----

    @work(exclusive=True, group="drops")
    async def load_drops(self) -> None:
        try:
            response = await self.registry.client.list_quarantined_drops(page_size=PAGE_SIZE)
        except StudbookError as error:
            self.post_message(self.Failed(error))
            return
        self.post_message(self.Loaded(list(response.drops), response.total_size))

    @work(group="drops-retry")
    async def retry(self, drop: drops_pb2.Drop) -> None:
        """Ask, then wait for the new verdict.

        Polled rather than awaited as an event: a drop quarantined again for the same reason
        changes nothing in the registry, so no event would ever say so.
        """
        client = self.registry.client
        try:
            asked = await client.retry_drop(drop.name)
        except StudbookError as error:
            self.post_message(self.Failed(error))
            return
        self.post_message(self.Asked(asked))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + VERDICT_PATIENCE_SECONDS
        current = asked
        while True:
            await asyncio.sleep(VERDICT_POLL_SECONDS)
            try:
                found = await self._find(asked)
            except StudbookError as error:
                self.post_message(self.Failed(error))
                return
            if found is None:
                gone = drops_pb2.Drop(name=asked.name, path=asked.path, root=asked.root, model=asked.model)
                self.post_message(self.Judged(gone, True))
                return
            current = found
            if drop_settled(asked, current):
                self.post_message(self.Judged(current, True))
                return
            if loop.time() > deadline:
                self.post_message(self.Judged(current, False))
                return

    async def _find(self, drop: drops_pb2.Drop) -> drops_pb2.Drop | None:
        token = ""
        while True:
            page = await self.registry.client.list_drops(model=drop.model, page_size=1000, page_token=token)
            for candidate in page.drops:
                if candidate.name == drop.name:
                    return candidate
            token = page.next_page_token
            if not token:
                return None

    # ---- messages ----

    def on_drops_screen_loaded(self, message: Loaded) -> None:
        self.drops = message.drops
        self._total = max(message.total, len(self.drops))
        listed = {drop.name for drop in self.drops}
        settled = [d for name, d in self.outcomes.items() if d is not None and name not in listed]
        self.rows = [*self.drops, *settled]
        self._fill()

    def _fill(self) -> None:
        paint = self.paint()
        table = self.query_one(VimTable)
        rows = []
        for drop in self.rows:
            if drop.state == drops_pb2.DROP_STATE_QUARANTINED and self.outcomes.get(drop.name, drop) is None:
                reason, fix = paint("looking at it again…", "warn"), paint(drop.message)
            elif drop.state == drops_pb2.DROP_STATE_QUARANTINED:
                reason, fix = paint(drop.reason, "bad"), paint(drop.message)
            else:
                state = enum_label(drops_pb2.DropState, drop.state)
                reason, fix = paint(state, "good" if drop.version else "warn"), paint(verdict_text(drop))
            rows.append([paint(within_root(drop)), paint(drop.model.removeprefix("models/")), reason, fix,
                         paint(self.registry.times.ago(drop.update_time), "muted")])  # fmt: skip
        table.refill(rows, cursor=table.cursor_row)
        self._status()
        self.show_detail()

    def _status(self) -> None:
        count, shown = self._total, len(self.drops)
        more = f" (the first {shown} shown)" if count > shown else ""
        listing = f"{count} quarantined drop{'s' if count != 1 else ''}{more}" if count else "no quarantined drops"
        line = f"{listing} · {self.outcome_line}" if self.outcome_line else listing
        # One line, cut with an ellipsis: the pane below has the whole verdict.
        self.query_one("#status", Static).update(Text(line, no_wrap=True, overflow="ellipsis"))

    def on_drops_screen_asked(self, message: Asked) -> None:
        self.outcomes[message.drop.name] = None
        self.outcome_line = f"{within_root(message.drop)}: looking at it again…"
        self._fill()

    def on_drops_screen_judged(self, message: Judged) -> None:
        drop = message.drop
        late = f"no verdict after {VERDICT_PATIENCE_SECONDS:g} s; r refreshes"
        self.outcome_line = f"{within_root(drop)}: {verdict_headline(drop) if message.settled else late}"
        if message.settled:
            self.outcomes[drop.name] = drop
            registered = drop.state == drops_pb2.DROP_STATE_REGISTERED
            self.notify(safe(self.outcome_line), title="retry", markup=False,
                        severity="information" if registered else "warning")  # fmt: skip
        else:
            self.outcomes.pop(drop.name, None)
        # The list again, so the row and the count follow the verdict (an event may not come).
        self.reload()

    def on_drops_screen_failed(self, message: Failed) -> None:
        self.show_error(message.error, "drop-ins")
        self.outcome_line = safe(f"{message.error.message} [{message.error.reason}]")
        self._status()

    @on(VimTable.RowHighlighted)
    def show_detail(self) -> None:
        drop = self.selected()
        pane = self.query_one(DetailPane)
        if drop is None:
            pane.clear("nothing quarantined: every drop was registered")
            return
        pane.show(drop_fields(drop, self.registry.times, self.paint()))

    # ---- actions ----

    def selected(self) -> drops_pb2.Drop | None:
        row = self.query_one(VimTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def action_retry(self) -> None:
        drop = self.selected()
        if drop is not None and drop.state == drops_pb2.DROP_STATE_QUARANTINED:
            self.retry(drop)

    def action_reload(self) -> None:
        # A refresh asked for by the user starts clean: rows kept only to show a verdict go.
        self.outcomes = {name: d for name, d in self.outcomes.items() if d is None}
        self.outcome_line = ""
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry" and self.registry.readonly:
            return False
        return True
