"""WindowTable: a VimTable that holds a movable slice of a much longer list, in fixed-width columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from studbook.tui.widgets.vim_table import LOOKAHEAD_ROWS, TableMessage, VimTable
from textual._two_way_dict import TwoWayDict
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

Row = Sequence[Text]


class WindowTable(VimTable):
    """Rows come and go a page at a time at either edge while the cursor stays on the same row's content.

    DataTable only appends rows and removes them one by one (each removal renumbers every row),
    so `splice` reorders its row index in one pass. Columns have fixed widths: a new page is
    never measured cell by cell, so every page costs the same however many came before.

    Both need DataTable's internals (its row index, its pending-measure set, its dimension
    update): the public API can only remove rows one renumbering at a time and measures every
    cell it adds. pyproject.toml therefore pins Textual to the major version this was tested on.
    """

    class NearStart(TableMessage):
        """The cursor or the viewport is close to the first row; handled by `on_window_table_near_start`."""

    class JumpedToStart(TableMessage):
        """The user asked for the very first row (`g`); handled by `on_window_table_jumped_to_start`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._edge_check_pending = False

    def set_columns(self, columns: Sequence[tuple[str, int]]) -> None:
        """Replace every column and row with these (title, width) columns."""
        self.clear(columns=True)
        for title, width in columns:
            self.add_column(title, width=width)

    def replace(self, rows: Sequence[Row], *, cursor: int) -> None:
        """Show only `rows`, the cursor on row `cursor` (clamped) and scrolled into view."""
        self.clear()
        self._add(rows)
        self.measure_new_rows()
        self.move_cursor(row=max(0, min(cursor, len(rows) - 1)))

    def splice(
        self, *, prepend: Sequence[Row] = (), append: Sequence[Row] = (), drop_front: int = 0, drop_back: int = 0
    ) -> None:
        """Add rows before and after, drop rows at either end; the cursor and viewport keep their rows."""
        count = self.row_count
        drop_front, drop_back = min(drop_front, count), min(drop_back, max(0, count - drop_front))
        keys = [row.key for row in self.ordered_rows]
        front, back = self._add(prepend), self._add(append)
        for key in keys[:drop_front] + keys[count - drop_back :]:
            del self.rows[key]
            del self._data[key]
        order: list[RowKey] = [*front, *keys[drop_front : count - drop_back], *back]
        self._row_locations = TwoWayDict({key: index for index, key in enumerate(order)})
        self._update_count += 1
        self._clear_caches()
        self.measure_new_rows()
        shift = len(front) - drop_front
        # The viewport first, so moving the cursor afterwards finds its row already in view.
        top = max(0.0, self.scroll_y + shift)
        self.scroll_target_y = self.scroll_y = top
        row = self.cursor_row + shift
        if not 0 <= row < len(order):
            # Its row was dropped (the wheel scrolled away from it): it comes to the viewport,
            # which never moves for it.
            first = int(top)
            row = max(first, min(row, first + self.scrollable_content_region.height - 2))
        # Renumbered, not moved: setting it plainly would scroll it into view, and the wheel may
        # have left it off screen on purpose.
        self.set_reactive(DataTable.cursor_coordinate, Coordinate(max(0, min(row, len(order) - 1)), self.cursor_column))
        self.refresh(layout=True)

    def set_row(self, row: int, cells: Row) -> None:
        """Redraw one row in place (widths stay as they are)."""
        for column, cell in enumerate(cells):
            self.update_cell_at(Coordinate(row, column), cell)

    def set_cell(self, row: int, column: int, cell: Text) -> None:
        self.update_cell_at(Coordinate(row, column), cell)

    def check_edges(self) -> None:
        """Say again whether an edge is near, e.g. once a page arrived and the viewport is still not full."""
        self._check_end()

    def action_first_row(self) -> None:
        super().action_first_row()
        self.post_message(self.JumpedToStart(self))

    def _check_end(self) -> None:
        # After the next refresh: DataTable scrolls the cursor into view only then, and a burst
        # of keys or wheel ticks is judged once.
        if not self._edge_check_pending:
            self._edge_check_pending = True
            self.call_after_refresh(self._check_edges_now)

    def _check_edges_now(self) -> None:
        # The viewport alone decides: keys keep the cursor in it, and the wheel may leave the
        # cursor far away, where loading a page (and dropping the far side) would move the view.
        self._edge_check_pending = False
        if not self.row_count:
            return
        top = self.scroll_y
        if top + self.scrollable_content_region.height >= self.row_count - LOOKAHEAD_ROWS:
            self.post_message(self.NearEnd(self))
        if top <= LOOKAHEAD_ROWS:
            self.post_message(self.NearStart(self))

    def _add(self, rows: Iterable[Sequence[object]], keys: Iterable[str | None] | None = None) -> list[RowKey]:
        added = super()._add(rows, keys)
        # Fixed widths: nothing in a new row changes a column, so DataTable need not measure it.
        self._new_rows.difference_update(added)
        return added
