"""ChangeTable: one section of a diff (key, base, target, change), optionally only what differs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from studbook.tui.widgets.filled_table import FilledTable
from textual.reactive import reactive


@dataclass(frozen=True)
class ChangeRow:
    key: Text
    base: Text
    target: Text
    change: Text
    changed: bool


class ChangeTable(FilledTable):
    """Rows come from the screen, already coloured; `only_changes` hides the unchanged ones."""

    only_changes: reactive[bool] = reactive(False)

    def __init__(self, titles: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.titles = tuple(titles)
        self.rows_all: list[ChangeRow] = []

    def on_mount(self) -> None:
        self.add_columns(*self.titles)

    def show(self, rows: Sequence[ChangeRow]) -> None:
        self.rows_all = list(rows)
        self._fill()

    def watch_only_changes(self) -> None:
        self._fill()

    def _fill(self) -> None:
        shown = [r for r in self.rows_all if r.changed or not self.only_changes]
        self.fill([(r.key, r.base, r.target, r.change)[: len(self.titles)] for r in shown])
        self.set_class(not shown, "-empty")
