"""The Textual floor for first paint: a bare app whose only widget is a one-row table; run as a script."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable

# tests/bench/tui.py waits for this text on the terminal, as it waits for a model's name from studbook.
MARKER = "floor-row"


class FloorApp(App[None]):
    """What any Textual program pays before its first table row is on screen: imports, driver, layout."""

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("NAME", "VALUE")
        table.add_row(MARKER, "1")


if __name__ == "__main__":
    FloorApp().run()
