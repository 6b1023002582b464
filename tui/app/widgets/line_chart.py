"""LineChart: one or more series drawn with braille dots (2×4 per cell), with a y axis and a legend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from studbook.cli.output import format_number
from studbook.tui.cells import ThemeText
from textual.reactive import reactive
from textual.widget import Widget

BRAILLE_BASE = 0x2800
# Bit of the dot at (column 0..1, row 0..3) of a braille cell.
DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
SERIES_ROLES = ("accent", "warn", "good", "secondary", "bad")
AXIS_WIDTH = 9


@dataclass(frozen=True)
class Series:
    label: str
    # (x, y) points; x need not be evenly spaced (steps, version numbers).
    points: tuple[tuple[float, float], ...]


def bounds(values: Sequence[float]) -> tuple[float, float]:
    """Min and max, widened when equal so a flat line sits mid-chart."""
    low, high = min(values), max(values)
    if math.isclose(low, high):
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def dot_grid(
    series: Sequence[Series], width: int, height: int, x_range: tuple[float, float], y_range: tuple[float, float]
) -> list[list[list[int]]]:
    """Per series, a height×width grid of braille bits, consecutive points joined by lines."""
    dots_x, dots_y = width * 2, height * 4
    grids = []
    for one in series:
        grid = [[0] * width for _ in range(height)]
        previous: tuple[int, int] | None = None
        for x, y in one.points:
            point = (_scale(x, x_range, dots_x), dots_y - 1 - _scale(y, y_range, dots_y))
            for dx, dy in _segment(previous or point, point):
                grid[dy // 4][dx // 2] |= DOT_BITS[dx % 2][dy % 4]
            previous = point
        grids.append(grid)
    return grids


def _scale(value: float, span: tuple[float, float], dots: int) -> int:
    low, high = span
    if high <= low:
        return 0
    return min(dots - 1, max(0, round((value - low) / (high - low) * (dots - 1))))


def _segment(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """The dots of a straight line between two dots (Bresenham), both ends included."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error = dx + dy
    dots = []
    while True:
        dots.append((x0, y0))
        if (x0, y0) == (x1, y1):
            return dots
        doubled = 2 * error
        if doubled >= dy:
            error += dy
            x0 += sx
        if doubled <= dx:
            error += dx
            y0 += sy


def plot_lines(series: Sequence[Series], width: int, height: int) -> list[list[tuple[str, int]]]:
    """Rows of (character, series index or -1) cells: the chart without axis or colours."""
    points = [p for s in series for p in s.points]
    if not points or width < 1 or height < 1:
        return []
    x_range = bounds([p[0] for p in points])
    y_range = bounds([p[1] for p in points])
    grids = dot_grid(series, width, height, x_range, y_range)
    rows = []
    for row in range(height):
        cells = []
        for column in range(width):
            bits, owner = 0, -1
            for index, grid in enumerate(grids):
                if grid[row][column]:
                    bits |= grid[row][column]
                    owner = index  # the last series drawn on a cell gives it its colour
            cells.append((chr(BRAILLE_BASE + bits) if bits else " ", owner))
        rows.append(cells)
    return rows


class LineChart(Widget):
    """Draws `series` to fit its size; `title` above, the y range on the left, a legend below."""

    series: reactive[tuple[Series, ...]] = reactive(tuple, layout=False)
    title: reactive[str] = reactive("")

    def render(self) -> Text:
        paint = ThemeText(self.app.theme_variables)
        text = Text(no_wrap=True)
        if self.title:
            text.append(self.title + "\n", style=paint.styles["bold"])
        values = [y for s in self.series for _, y in s.points]
        if not values:
            text.append("no data to chart", style=paint.styles["muted"])
            return text
        chart_height = max(1, self.size.height - (2 if self.title else 1))
        chart_width = max(1, self.size.width - AXIS_WIDTH - 1)
        low, high = bounds(values)
        for number, row in enumerate(plot_lines(self.series, chart_width, chart_height)):
            label = format_number(high) if number == 0 else format_number(low) if number == chart_height - 1 else ""
            text.append(f"{label:>{AXIS_WIDTH}}│", style=paint.styles["muted"])
            for character, owner in row:
                role = SERIES_ROLES[owner % len(SERIES_ROLES)] if owner >= 0 else None
                text.append(character, style=paint.styles.get(role or "", ""))
            text.append("\n")
        xs = [x for s in self.series for x, _ in s.points]
        x_axis = f"└ {format_number(min(xs))} … {format_number(max(xs))}  "
        text.append(" " * AXIS_WIDTH + x_axis, style=paint.styles["muted"])
        for index, one in enumerate(self.series):
            text.append("━ ", style=paint.styles.get(SERIES_ROLES[index % len(SERIES_ROLES)], ""))
            text.append(one.label + "  ")
        return text
