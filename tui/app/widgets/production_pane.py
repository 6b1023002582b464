"""ProductionPane: the version screen's production tab: its tenures, a table of series and the chart of the one under the cursor."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from studbook.client.safe_text import safe
from studbook.tui.cells import ThemeText
from studbook.tui.production_text import (
    SeriesChoice,
    choice_cells,
    production_plot,
    series_choices,
    stage_picker,
    tenure_text,
)
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.production_chart import ProductionChart
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import production_pb2
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

COLUMNS = ("KEY", "SEGMENT", "LAST", "POINTS", "EVAL")
# The version screen's key that shows the next stage's record, named on the stage line.
STAGE_KEY = "t"


class ProductionPane(Vertical):
    """Shown a holder's record with `show`; the chart follows the table's cursor, and survives reloads.

    A version that held several stages (staging, then production) has a record in each: the
    stage line names them and the screen's key (STAGE_KEY) shows the next one's."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.holder: production_pb2.HolderRecord | None = None
        self.stage = ""
        # The stages whose record concerns the version, the one shown among them.
        self.stages: list[str] = []
        # The key the stage line names: the screen's, as the user's keymap may have moved it.
        self.stage_key = STAGE_KEY
        self.times = TimeFormat()
        self.paint: ThemeText | None = None
        self.choices: list[SeriesChoice] = []
        # The series charted, kept across reloads (live updates) by what it is, not by its row.
        self.chosen: tuple[str, str | None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="production-stages")
        yield Static("loading…", id="production-context", markup=False)
        yield VimTable(id="production-table")
        yield ProductionChart(id="production-chart")

    def on_mount(self) -> None:
        self.query_one(VimTable).add_columns(*COLUMNS)

    def offer_stages(self, stages: Sequence[str]) -> None:
        """The stages the user may switch between; the one shown stays among them."""
        self.stages = list(stages) if not self.stage or self.stage in stages else [self.stage, *stages]
        line = self.query_one("#production-stages", Static)
        runs = stage_picker(self.stages, self.stage, self.stage_key)
        paint = self.paint
        line.update(Text.assemble(*(paint(text, role) if paint else Text(text) for text, role in runs)))
        line.set_class(bool(runs), "-several")
        # The screen's key is offered only while there is another stage.
        self.screen.refresh_bindings()

    def show(self, holder: production_pb2.HolderRecord | None, stage: str, times: TimeFormat, paint: ThemeText,
             stages: Sequence[str] = ()) -> None:  # fmt: skip
        self.holder, self.stage, self.times, self.paint = holder, stage, times, paint
        self.offer_stages(stages or [stage])
        self.choices = series_choices(holder)
        self.query_one("#production-context", Static).update(safe(tenure_text(holder, stage, times)))
        table = self.query_one(VimTable)
        table.fill(
            (paint(key, "bold"), paint(segment), paint(last), paint(points), paint(evaluation, "muted"))
            for key, segment, last, points, evaluation in map(choice_cells, self.choices)
        )
        keys = [(c.key, c.segment) for c in self.choices]
        row = keys.index(self.chosen) if self.chosen in keys else 0
        if self.choices:
            table.move_cursor(row=row)
        self._chart(row)

    def unavailable(self, why: str) -> None:
        self.query_one("#production-context", Static).update(why)

    @on(DataTable.RowHighlighted, "#production-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._chart(event.cursor_row)

    def _chart(self, row: int) -> None:
        choice = self.choices[row] if 0 <= row < len(self.choices) else None
        if choice is not None:
            self.chosen = (choice.key, choice.segment)
        self.query_one(ProductionChart).plot = production_plot(self.holder, choice, self.stage, self.times)
