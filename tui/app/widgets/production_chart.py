"""ProductionChart: a version's production series over time, its tenures marked, its evaluation as a reference line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.text import Text
from studbook.cli.output import format_number
from studbook.tui.cells import ThemeText
from studbook.tui.widgets.line_chart import AXIS_WIDTH, BRAILLE_BASE, Series, bounds, dot_grid
from textual.reactive import reactive
from textual.widget import Widget

# Colours of the lines (one per segment), then of the marks; the reference line is muted.
LINE_ROLES = ("accent", "secondary", "good", "warn")
# What starts or ends a tenure -> (glyph on the time axis and in the legend, colour).
MARK_GLYPHS = {
    "promoted": ("▲", "good"),
    "rolled back": ("↶", "warn"),
    "replaced": ("▽", "muted"),
}
REFERENCE_GLYPH = "╌"
MARK_LINE = "┊"
# Rows the chart needs besides the plot: title, time axis, times, one line of legend.
FRAME_ROWS = 4


@dataclass(frozen=True)
class Mark:
    """A moment a tenure began (`promoted`, `rolled back`) or ended (`replaced`)."""

    at: float
    kind: str


@dataclass(frozen=True)
class Line:
    """One series (a key in one segment); `runs` are its points per tenure, never joined across a gap."""

    label: str
    runs: tuple[tuple[tuple[float, float], ...], ...]

    @property
    def points(self) -> list[tuple[float, float]]:
        return [point for run in self.runs for point in run]


@dataclass(frozen=True)
class ProductionPlot:
    """What the chart draws; x is seconds since the epoch."""

    title: str = ""
    lines: tuple[Line, ...] = ()
    marks: tuple[Mark, ...] = ()
    # The version's own evaluation figure for the key; None when it has none.
    reference: float | None = None
    # Said when there is nothing to draw.
    empty: str = "no production metrics"
    # Writes an x value (a time) for the axis; the widget's owner knows the zone.
    time_text: Callable[[float], str] = field(default=lambda x: format_number(x), compare=False)


@dataclass(frozen=True)
class Cell:
    character: str
    role: str | None = None


def plot_cells(plot: ProductionPlot, width: int, height: int) -> list[list[Cell]]:
    """The plot area, `height` rows of `width` cells: lines in braille, marks as dotted columns, the reference dashed."""
    xs, ys = _extent(plot)
    if not xs or width < 1 or height < 1:
        return []
    x_range, y_range = bounds(xs), bounds(ys)
    rows = [[Cell(" ") for _ in range(width)] for _ in range(height)]
    if plot.reference is not None:
        row = reference_row(plot.reference, y_range, height)
        rows[row] = [Cell(REFERENCE_GLYPH, "muted") for _ in range(width)]
    for mark in plot.marks:
        column = _column(mark.at, x_range, width)
        for row_cells in rows:
            role = MARK_GLYPHS.get(mark.kind, ("", "muted"))[1]
            row_cells[column] = Cell(MARK_LINE, role)
    for index, line in enumerate(plot.lines):
        runs = [Series(line.label, decimated(run, x_range, width * 2)) for run in line.runs if run]
        bits = _merged(dot_grid(runs, width, height, x_range, y_range), width, height)
        role = LINE_ROLES[index % len(LINE_ROLES)]
        for y in range(height):
            for x in range(width):
                if bits[y][x]:
                    rows[y][x] = Cell(chr(BRAILLE_BASE + (bits[y][x] | _braille_bits(rows[y][x]))), role)
    return rows


def decimated(
    run: Sequence[tuple[float, float]], x_range: tuple[float, float], dots: int
) -> tuple[tuple[float, float], ...]:
    """At most four points per dot column (its first, lowest, highest and last), in time order.

    A long record holds far more points than a terminal has dots across: drawn whole, every
    redraw would walk them all for the same picture. The lines drawn between the kept points
    reach the same lowest and highest dot in every column.
    """
    if len(run) <= 4 * dots:
        return tuple(run)
    kept: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    column: int | None = None
    for point in run:
        at = _column(point[0], x_range, dots)
        if at != column and bucket:
            kept.extend(_extremes(bucket))
            bucket = []
        column = at
        bucket.append(point)
    kept.extend(_extremes(bucket))
    return tuple(kept)


def _extremes(bucket: list[tuple[float, float]]) -> list[tuple[float, float]]:
    picked = {0, len(bucket) - 1}
    picked.add(min(range(len(bucket)), key=lambda i: bucket[i][1]))
    picked.add(max(range(len(bucket)), key=lambda i: bucket[i][1]))
    return [bucket[i] for i in sorted(picked)]


def axis_cells(plot: ProductionPlot, width: int) -> list[Cell]:
    """The time axis under the plot: each mark's glyph at its column."""
    cells = [Cell("─", "muted") for _ in range(width)]
    xs, _ = _extent(plot)
    if not xs:
        return cells
    x_range = bounds(xs)
    for mark in plot.marks:
        glyph, role = MARK_GLYPHS.get(mark.kind, ("┴", "muted"))
        cells[_column(mark.at, x_range, width)] = Cell(glyph, role)
    return cells


def time_labels(plot: ProductionPlot, width: int) -> str:
    """Under the axis: each mark's time at its column, then the first and last times where they fit."""
    xs, _ = _extent(plot)
    if not xs:
        return ""
    x_range = bounds(xs)
    row = [" "] * width
    taken = [False] * width

    def place(text: str, start: int) -> None:
        start = max(0, min(start, width - len(text)))
        end = start + len(text)
        if start < 0 or end > width or any(taken[max(0, start - 1) : min(width, end + 1)]):
            return
        row[start:end] = list(text)
        taken[start:end] = [True] * len(text)

    for mark in sorted(plot.marks, key=lambda m: m.at):
        place(plot.time_text(mark.at), _column(mark.at, x_range, width))
    place(plot.time_text(min(xs)), 0)
    last = plot.time_text(max(xs))
    place(last, width - len(last))
    return "".join(row).rstrip()


def reference_row(value: float, y_range: tuple[float, float], height: int) -> int:
    low, high = y_range
    if high <= low:
        return height - 1
    share = (value - low) / (high - low)
    return min(height - 1, max(0, height - 1 - round(share * (height - 1))))


def _extent(plot: ProductionPlot) -> tuple[list[float], list[float]]:
    """The x and y values the axes must span: points, marks (x) and the reference (y)."""
    points = [p for line in plot.lines for p in line.points]
    xs = [x for x, _ in points] + [m.at for m in plot.marks]
    ys = [y for _, y in points] + ([plot.reference] if plot.reference is not None and points else [])
    if not points:
        return [], []
    return xs, ys


def _column(x: float, x_range: tuple[float, float], width: int) -> int:
    low, high = x_range
    if high <= low:
        return 0
    return min(width - 1, max(0, round((x - low) / (high - low) * (width - 1))))


def _merged(grids: Sequence[list[list[int]]], width: int, height: int) -> list[list[int]]:
    merged = [[0] * width for _ in range(height)]
    for grid in grids:
        for y in range(height):
            for x in range(width):
                merged[y][x] |= grid[y][x]
    return merged


def _braille_bits(cell: Cell) -> int:
    """Dots already in a cell (another line's), kept when a second line crosses it."""
    code = ord(cell.character) - BRAILLE_BASE
    return code if 0 < code < 256 else 0


class ProductionChart(Widget):
    """Draws `plot` to fit its size: title, the y range on the left, times and marks below, a legend."""

    plot: reactive[ProductionPlot] = reactive(ProductionPlot, layout=False)

    def render(self) -> Text:
        plot = self.plot
        paint = ThemeText(self.app.theme_variables)
        text = Text(no_wrap=True, overflow="ellipsis")
        if plot.title:
            text.append(plot.title + "\n", style=paint.styles["bold"])
        width = max(1, self.size.width - AXIS_WIDTH - 1)
        legend = legend_lines(plot, width)
        height = max(1, self.size.height - FRAME_ROWS - max(0, len(legend) - 1))
        rows = plot_cells(plot, width, height)
        if not rows:
            # Words, not a chart: they may wrap.
            text.no_wrap = False
            text.append(plot.empty, style=paint.styles["muted"])
            return text
        _, ys = _extent(plot)
        low, high = bounds(ys)
        labels = {0: format_number(high), height - 1: format_number(low)}
        if plot.reference is not None:
            labels.setdefault(reference_row(plot.reference, (low, high), height), format_number(plot.reference))
        for number, row in enumerate(rows):
            text.append(f"{labels.get(number, ''):>{AXIS_WIDTH}}│", style=paint.styles["muted"])
            for cell in row:
                text.append(cell.character, style=paint.styles.get(cell.role or "", ""))
            text.append("\n")
        text.append(" " * AXIS_WIDTH + "└", style=paint.styles["muted"])
        for cell in axis_cells(plot, width):
            text.append(cell.character, style=paint.styles.get(cell.role or "", ""))
        text.append("\n" + " " * (AXIS_WIDTH + 1) + time_labels(plot, width), style=paint.styles["muted"])
        for line in legend:
            text.append("\n" + " " * (AXIS_WIDTH + 1))
            for glyph, role, label in line:
                text.append(glyph + " ", style=paint.styles.get(role, ""))
                text.append(label + "  ")
        return text


def legend_entries(plot: ProductionPlot) -> list[tuple[str, str, str]]:
    """(glyph, colour, words) for each line, the reference and each kind of mark shown."""
    entries = [("━", LINE_ROLES[index % len(LINE_ROLES)], line.label) for index, line in enumerate(plot.lines)]
    if plot.reference is not None:
        entries.append((REFERENCE_GLYPH * 2, "muted", f"evaluation {format_number(plot.reference)}"))
    for kind, (glyph, role) in MARK_GLYPHS.items():
        if any(mark.kind == kind for mark in plot.marks):
            entries.append((glyph, role, kind))
    return entries


def legend_lines(plot: ProductionPlot, width: int) -> list[list[tuple[str, str, str]]]:
    """The legend's entries packed into as few lines of `width` as they need (an entry is never cut in two)."""
    lines: list[list[tuple[str, str, str]]] = [[]]
    used = 0
    for entry in legend_entries(plot):
        size = len(entry[0]) + 1 + len(entry[2]) + 2
        if lines[-1] and used + size - 2 > width:
            lines.append([])
            used = 0
        lines[-1].append(entry)
        used += size
    return lines
