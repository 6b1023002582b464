"""VimTable: a row-cursor DataTable with j/k/g/G that says when the user nears its last row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import ClassVar

from studbook.tui.widgets.filled_table import FilledTable
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

# Ask for more rows this close to the end, so the next page is there before it is needed.
LOOKAHEAD_ROWS = 10


@dataclass(frozen=True)
class View:
    """Where a table was looking: the row at the viewport's top, and whether the cursor was in sight."""

    top: float
    cursor_seen: bool


class TableMessage(Message):
    """Something about one table; `control` lets handlers select it by the table's id."""

    def __init__(self, table: VimTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> VimTable:
        return self.table


class VimTable(FilledTable):
    """The table every list screen uses; `NearEnd` lets a screen fetch its next page."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "first_row", "First row", show=False, id="table.top"),
        Binding("G", "last_row", "Last row", show=False, id="table.bottom"),
    ]

    class NearEnd(TableMessage):
        """The cursor or the viewport is close to the last row; handled by `on_vim_table_near_end`."""

    class JumpedToEnd(TableMessage):
        """The user asked for the very last row (`G`); handled by `on_vim_table_jumped_to_end`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))
        self.post_message(self.JumpedToEnd(self))

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        self._check_end()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._check_end()

    def _check_end(self) -> None:
        bottom_row = self.scroll_y + self.scrollable_content_region.height
        if self.row_count and max(self.cursor_row, bottom_row) >= self.row_count - LOOKAHEAD_ROWS:
            self.post_message(self.NearEnd(self))

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def view(self) -> View:
        """Where the table looks now; read it before anything clears the table (new columns do)."""
        header = self.header_height if self.show_header else 0
        bottom = self.scroll_y + self.scrollable_content_region.height - header
        return View(self.scroll_y, self.scroll_y <= self.cursor_row < bottom)

    def refill(
        self,
        rows: Iterable[Sequence[object]],
        *,
        cursor: int,
        keys: Iterable[str] | None = None,
        view: View | None = None,
    ) -> None:
        """Every row anew (a live reload) without moving the view under the user.

        The viewport stays where `view` (by default the current one) was. The cursor goes to row
        `cursor`; it is scrolled into sight only if it was in sight: the wheel may have left it
        off screen on purpose.
        """
        view = view or self.view()
        # Moved without its watcher: `clear` would otherwise schedule scrolling it into view later.
        self.set_reactive(DataTable.cursor_coordinate, Coordinate(0, self.cursor_column))
        self.clear()
        self._add(rows, keys)
        self.measure_new_rows()
        self.scroll_target_y = self.scroll_y = min(view.top, self.max_scroll_y)
        if self.row_count:
            self.cursor_coordinate = Coordinate(max(0, min(cursor, self.row_count - 1)), self.cursor_column)
        if not view.cursor_seen:
            self.scroll_target_y = self.scroll_y = min(view.top, self.max_scroll_y)
        self.refresh(layout=True)

    def _add(self, rows: Iterable[Sequence[object]], keys: Iterable[str | None] | None = None) -> list[RowKey]:
        return [self.add_row(*row, key=key) for row, key in zip(rows, keys or repeat(None))]
