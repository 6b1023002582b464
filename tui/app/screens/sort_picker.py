"""SortPicker: choose how the versions table is ordered, by a metric (best or worst first) or a fixed order.

Typing narrows the list; a metric key that no loaded version shows can still be typed in
full, since the daemon sorts every version, not only the ones on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from studbook.tui.version_sorts import VersionSort, metric_sort
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option


class SortPicker(ModalScreen[VersionSort | None]):
    """Enter picks the highlighted order; Esc keeps the current one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="sort.close"),
        Binding("down", "move(1)", "Next", show=False, id="sort.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="sort.previous"),
    ]

    def __init__(self, choices: Sequence[VersionSort], current: VersionSort) -> None:
        super().__init__()
        self.choices = list(choices)
        self.current = current
        self.shown: list[VersionSort] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog sort-picker"):
            yield Label(f"Sort versions by (now: {self.current.label})", id="dialog-title", markup=False)
            yield Input(placeholder="metric key, e.g. auc", id="sort-query")
            yield OptionList(id="sort-choices")

    def on_mount(self) -> None:
        self._show("")
        self.query_one(Input).focus()

    @on(Input.Changed, "#sort-query")
    def _narrow(self, event: Input.Changed) -> None:
        self._show(event.value.strip())

    def _show(self, query: str) -> None:
        shown = [choice for choice in self.choices if _matches(choice, query)]
        if query and not any(choice.metric == query for choice in shown):
            # Any key can be sorted by: the daemon knows metrics no loaded row has.
            shown += [metric_sort(query), metric_sort(query, best_first=False)]
        self.shown = shown
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(choice.label) for choice in shown])
        if shown:
            # The first choice, a metric best first, is the likely one; the title says what is in force.
            options.highlighted = 0

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if self.shown:
            options.highlighted = ((options.highlighted or 0) + step) % len(self.shown)

    @on(Input.Submitted, "#sort-query")
    def _submitted(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None and highlighted < len(self.shown):
            self.dismiss(self.shown[highlighted])

    @on(OptionList.OptionSelected, "#sort-choices")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.shown):
            self.dismiss(self.shown[event.option_index])

    def action_close(self) -> None:
        self.dismiss(None)


def _matches(choice: VersionSort, query: str) -> bool:
    """A metric order matches by its key, a fixed order by its words."""
    text = choice.metric or choice.label
    return query.lower() in text.lower()
