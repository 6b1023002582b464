"""The production chart: a version's series over time, its tenures marked, its evaluation as a reference line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st
from studbook.tui.production_text import (
    breach_lines,
    candidate_of,
    next_stage,
    production_plot,
    production_stages,
    series_choices,
    stage_picker,
    tenure_marks,
    tenure_text,
)
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.line_chart import BRAILLE_BASE, Series, bounds, dot_grid
from studbook.tui.widgets.production_chart import (
    MARK_LINE,
    REFERENCE_GLYPH,
    Line,
    Mark,
    ProductionChart,
    ProductionPlot,
    axis_cells,
    decimated,
    plot_cells,
    time_labels,
)
from studbook.v1 import production_pb2, resources_pb2, stages_pb2
from textual.app import App, ComposeResult

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
VERSION = "models/fraud/versions/7"
TIMES = TimeFormat(lambda: START + timedelta(days=5), zone=UTC)


def stamp(hours: float) -> timestamp_pb2.Timestamp:
    moment = timestamp_pb2.Timestamp()
    moment.FromDatetime(START + timedelta(hours=hours))
    return moment


def record() -> production_pb2.HolderRecord:
    """v7 held production twice: promoted at 0 h until 24 h, then rolled back to at 48 h and holding."""
    holder = production_pb2.HolderRecord(version=VERSION, evaluation={"auc": 0.93, "precision": 0.8})
    holder.tenures.add(start=stamp(0), end=stamp(24), promotion="models/fraud/promotions/3")
    holder.tenures.add(start=stamp(48), promotion="models/fraud/promotions/5", rollback=True)
    for segment, offset in (("", 0.0), ("eu", -0.02)):
        series = holder.series.add(key="auc", segment=segment)
        for hour in (2, 8, 14, 20, 50, 56, 62):
            series.samples.add(window_end=stamp(hour), value=0.92 + offset - hour / 1000)
    holder.series.add(key="latency_ms", samples=[production_pb2.ProductionSample(window_end=stamp(3), value=41.0)])
    return holder


def glyph_columns(row: list, character: str) -> list[int]:  # type: ignore[type-arg]
    return [index for index, cell in enumerate(row) if cell.character == character]


# ---- the view of a record ----


def test_each_key_offers_its_segments_and_all_of_them_at_once() -> None:
    rows = [(c.key, c.segment_text, c.points, c.evaluation) for c in series_choices(record())]
    assert rows == [
        ("auc", "every segment", 14, 0.93),
        ("auc", "all traffic", 7, 0.93),
        ("auc", "eu", 7, 0.93),
        ("latency_ms", "all traffic", 1, None),
    ]


def test_a_version_without_a_record_offers_nothing_and_says_why() -> None:
    assert series_choices(None) == []
    plot = production_plot(None, None, "production", TIMES)
    assert not plot.lines and "production" in plot.empty


def test_tenures_are_marked_where_they_began_and_ended() -> None:
    marks = tenure_marks(record().tenures)
    hours = [(round((m.at - START.timestamp()) / 3600), m.kind) for m in marks]
    assert hours == [(0, "promoted"), (24, "replaced"), (48, "rolled back")]


def test_a_line_never_joins_points_of_two_tenures() -> None:
    choice = series_choices(record())[1]  # auc, unsegmented
    plot = production_plot(record(), choice, "production", TIMES)
    (line,) = plot.lines
    assert [len(run) for run in line.runs] == [4, 3]
    assert plot.reference == 0.93
    assert plot.title == "auc in production · all traffic"


def test_every_segment_is_its_own_line() -> None:
    plot = production_plot(record(), series_choices(record())[0], "production", TIMES)
    assert [line.label for line in plot.lines] == ["auc [all traffic]", "auc [eu]"]


def test_tenures_read_as_spans_with_the_current_one_open() -> None:
    text = tenure_text(record(), "production", TIMES)
    assert text == "held production: promoted 03-01 09:00 → 03-02 09:00; rolled back 03-03 09:00 → now"
    assert tenure_text(None, "staging", TIMES) == "never held staging"


def test_the_stages_charted_are_those_held_now_then_before() -> None:
    version = resources_pb2.ModelVersion(name=VERSION, stages=["staging"])
    changes = [
        stages_pb2.StageChange(stage="champion", is_alias=True, version=VERSION),
        stages_pb2.StageChange(stage="production", version=VERSION),
        stages_pb2.StageChange(stage="production", version="models/fraud/versions/8"),
    ]
    assert production_stages(version, changes) == ["staging", "production"]
    assert production_stages(resources_pb2.ModelVersion(name=VERSION), []) == ["production"]


stage_names = st.lists(st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12), min_size=1, max_size=6,
                       unique=True)  # fmt: skip


@given(stage_names, st.data())
def test_the_stage_key_visits_every_stage_once_then_comes_back(stages: list[str], data: st.DataObject) -> None:
    start = data.draw(st.sampled_from(stages))
    visited = [start]
    for _ in stages:
        visited.append(next_stage(stages, visited[-1]))
    assert sorted(visited[:-1]) == sorted(stages) and visited[-1] == start
    # A stage no longer offered (the list changed under it) leads to the first.
    assert next_stage(stages, "\x00gone") == stages[0]


@given(stage_names, st.data())
def test_the_stage_line_names_every_stage_and_brackets_the_one_shown(stages: list[str], data: st.DataObject) -> None:
    shown = data.draw(st.sampled_from(stages))
    line = "".join(text for text, _ in stage_picker(stages, shown))
    if len(stages) == 1:
        assert line == ""
        return
    assert line.startswith("stages ") and line.endswith("t: next stage")
    assert line.count("[") == 1 and f"[{shown}]" in line
    names = line.removeprefix("stages ").removesuffix("t: next stage").replace("[", " ").replace("]", " ").split()
    assert names == stages


# ---- drawing ----


def simple_plot(reference: float | None = 0.5) -> ProductionPlot:
    return ProductionPlot(
        lines=(Line("auc", (((10.0, 0.2), (20.0, 0.4)), ((60.0, 0.6), (100.0, 0.8)))),),
        marks=(Mark(0.0, "promoted"), Mark(40.0, "replaced"), Mark(50.0, "rolled back")),
        reference=reference,
    )


def test_marks_are_dotted_columns_at_their_times_and_glyphs_on_the_axis() -> None:
    rows = plot_cells(simple_plot(reference=None), 51, 6)
    # x runs 0..100 over 51 columns: a column per 2 s.
    marked = {column for row in rows for column in glyph_columns(row, MARK_LINE)}
    assert marked == {0, 20, 25}
    axis = "".join(cell.character for cell in axis_cells(simple_plot(), 51))
    assert (axis[0], axis[20], axis[25]) == ("▲", "▽", "↶")


def test_the_reference_is_a_dashed_row_at_its_height() -> None:
    rows = plot_cells(simple_plot(reference=0.5), 51, 7)
    dashed = [index for index, row in enumerate(rows) if glyph_columns(row, REFERENCE_GLYPH)]
    assert dashed == [3]  # 0.5 is mid-way between 0.2 and 0.8


def test_the_reference_widens_the_range_it_lies_outside_of() -> None:
    rows = plot_cells(simple_plot(reference=1.4), 51, 7)
    assert glyph_columns(rows[0], REFERENCE_GLYPH)
    # The line's highest point (0.8) is now half-way down: nothing is drawn in the top rows.
    assert not any(BRAILLE_BASE < ord(cell.character) < BRAILLE_BASE + 256 for cell in rows[1])


def test_no_dot_is_drawn_between_two_tenures() -> None:
    rows = plot_cells(simple_plot(reference=None), 51, 6)
    between = [cell for row in rows for cell in row[11:24] if BRAILLE_BASE < ord(cell.character) < BRAILLE_BASE + 256]
    assert between == []


def test_times_under_the_axis_never_overlap() -> None:
    plot = ProductionPlot(lines=simple_plot().lines, marks=simple_plot().marks, time_text=lambda x: f"t{int(x)}")
    labels = time_labels(plot, 51)
    assert labels.split() == ["t0", "t40", "t50", "t100"]
    assert labels.index("t40") == 20 and labels.index("t50") == 25
    crowded = time_labels(plot, 8)
    assert len(crowded) <= 8 and "t0" in crowded


points = st.lists(
    st.tuples(st.floats(-1e9, 1e9, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=30
)


@given(
    runs=st.lists(points, min_size=1, max_size=3),
    marks=st.lists(st.floats(-1e9, 1e9, allow_nan=False), max_size=4),
    reference=st.none() | st.floats(-1e6, 1e6, allow_nan=False),
    width=st.integers(1, 120),
    height=st.integers(1, 40),
)
def test_any_record_fits_the_requested_size(runs, marks, reference, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    plot = ProductionPlot(
        lines=(Line("k", tuple(tuple(run) for run in runs)),),
        marks=tuple(Mark(at, "promoted") for at in marks),
        reference=reference,
        time_text=lambda x: "12:00",
    )
    rows = plot_cells(plot, width, height)
    assert len(rows) == height and all(len(row) == width for row in rows)
    assert all(len(cell.character) == 1 for row in rows for cell in row)
    assert len(axis_cells(plot, width)) == width
    assert len(time_labels(plot, width)) <= width


def shifted(holder: production_pb2.HolderRecord, by: timedelta) -> production_pb2.HolderRecord:
    moved = production_pb2.HolderRecord()
    moved.CopyFrom(holder)
    for tenure in moved.tenures:
        tenure.start.FromDatetime(tenure.start.ToDatetime(UTC) + by)
        if tenure.HasField("end"):
            tenure.end.FromDatetime(tenure.end.ToDatetime(UTC) + by)
    for series in moved.series:
        for sample in series.samples:
            sample.window_end.FromDatetime(sample.window_end.ToDatetime(UTC) + by)
    return moved


@given(
    hours=st.lists(st.integers(0, 400), min_size=2, max_size=12, unique=True),
    by=st.timedeltas(min_value=timedelta(days=-3000), max_value=timedelta(days=3000)),
    width=st.integers(20, 200),
)
def test_the_picture_depends_on_times_between_events_not_on_when_they_happened(
    hours: list[int], by: timedelta, width: int
) -> None:
    """Times a whole number of hours apart fall on exact dot boundaries; read as seconds since
    1970 with a fraction, they would fall either side of one by rounding, and the same record
    logged at another time of day would be drawn differently."""
    holder = production_pb2.HolderRecord(version=VERSION, evaluation={"auc": 0.93})
    holder.tenures.add(start=stamp(min(hours)), end=stamp(max(hours)), promotion="models/fraud/promotions/3")
    series = holder.series.add(key="auc")
    for index, hour in enumerate(sorted(hours)):
        series.samples.add(window_end=stamp(hour), value=0.9 + index % 3 / 100)
    choice = series_choices(holder)[0]
    here = production_plot(holder, choice, "production", TIMES)
    there = production_plot(shifted(holder, by), choice, "production", TIMES)
    assert plot_cells(here, width, 12) == plot_cells(there, width, 12)
    assert axis_cells(here, width) == axis_cells(there, width)


# ---- the widget in an app ----


class ChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ProductionChart()


async def test_the_widget_draws_title_marks_reference_and_legend() -> None:
    app = ChartApp()
    async with app.run_test(size=(80, 16)) as pilot:
        chart = app.query_one(ProductionChart)
        chart.plot = production_plot(record(), series_choices(record())[1], "production", TIMES)
        await pilot.pause()
        shown = "\n".join(
            "".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()
        )
    lines = shown.splitlines()
    assert lines[0].startswith("auc in production · all traffic")
    assert "0.93" in lines[1] or any(line.lstrip().startswith("0.93") for line in lines)
    assert "03-01 09:00" in shown and "03-03 09:00" in shown
    legend = " ".join(lines[-2:])  # 80 columns: the legend takes two lines
    assert "━ auc" in legend and "╌╌ evaluation 0.93" in legend
    assert "▲ promoted" in legend and "↶ rolled back" in legend and "▽ replaced" in legend


async def test_the_widget_says_when_there_is_nothing_to_chart() -> None:
    app = ChartApp()
    async with app.run_test(size=(60, 10)) as pilot:
        app.query_one(ProductionChart).plot = production_plot(None, None, "production", TIMES)
        await pilot.pause()
        shown = " ".join("".join(s.text for s in strip).strip() for strip in app.screen._compositor.render_strips())
    assert "no production metrics were logged while this version held production" in shown


# ---- breaches ----


def breach(
    stage: str = "production", version: str = VERSION, candidate: str = "models/fraud/versions/5"
) -> production_pb2.MonitorState:
    state = production_pb2.MonitorState(
        model="models/fraud", stage=stage, version=version, breached=True, since=stamp(60)
    )
    state.findings.add(
        rule="auc >= 0.90", subject="auc", observed=0.85, threshold=0.9, breached=True, windows_in_breach=3
    )
    state.findings.add(rule="psi > 0.2", subject="age", observed=0.05, threshold=0.2, breached=False)
    if candidate:
        state.candidate.version = candidate
        state.candidate.summary = "v5 held production from … to … with auc 0.93"
    return state


def test_a_breach_says_what_breached_who_holds_it_and_who_would_come_back() -> None:
    lines = breach_lines([breach()], VERSION, TIMES)
    assert lines == [
        "⚠ production in breach since 2d ago (held by this version): auc >= 0.90: auc at 0.85 for 3 windows",
        "  candidate v5: v5 held production from … to … with auc 0.93",
    ]
    hinted = breach_lines([breach("staging"), breach()], VERSION, TIMES, hint="c puts it back")
    assert [line for line in hinted if "(c puts it back)" in line] == [
        "  candidate v5 (c puts it back): v5 held production from … to … with auc 0.93"
    ]
    assert hinted.index("  candidate v5 (c puts it back): v5 held production from … to … with auc 0.93") == 3
    other = breach_lines([breach(candidate="")], "models/fraud/versions/2", TIMES)
    assert other[0].endswith("(held by v7): auc >= 0.90: auc at 0.85 for 3 windows")
    assert other[1] == "  no earlier holder to put back"


def test_recovered_stages_are_not_shown() -> None:
    recovered = breach()
    recovered.breached = False
    assert breach_lines([recovered], VERSION, TIMES) == []
    assert candidate_of([recovered]) is None


def test_the_key_puts_back_productions_candidate_first() -> None:
    staging, production = breach("staging"), breach("production", candidate="models/fraud/versions/4")
    chosen = candidate_of([staging, breach("production", candidate=""), production])
    assert chosen is production
    assert candidate_of([staging]) is staging


@given(
    ys=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=50, max_size=600),
    width=st.integers(1, 12),
    height=st.integers(1, 8),
)
def test_a_long_record_is_drawn_from_few_points_to_the_same_picture(ys: list[float], width: int, height: int) -> None:
    run = tuple((float(x), y) for x, y in enumerate(ys))
    kept = decimated(run, (0.0, float(len(ys) - 1)), width * 2)
    assert len(kept) <= 4 * width * 2 or kept == run
    x_range, y_range = (0.0, float(len(ys) - 1)), bounds(ys)
    (whole,) = dot_grid([Series("k", run)], width, height, x_range, y_range)
    (drawn,) = dot_grid([Series("k", kept)], width, height, x_range, y_range)
    assert drawn == whole
