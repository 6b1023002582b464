"""The versions table's orders and columns: what order_by a sort sends, which columns fit, how values are written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.fields import VERSION_FIELDS
from studbook.daemon.domain.filter import Has, Text, parse_filter
from studbook.daemon.domain.ordering import OrderTerm, parse_order_by
from studbook.metric_direction import metric_direction
from studbook.tui.column_fit import CELL_PADDING, fit_columns
from studbook.tui.version_columns import METRIC_WIDTH, TITLES, format_metric, layout, metric_columns
from studbook.tui.version_sorts import FIXED_SORTS, cycle, metric_order_by, metric_sort, picker_choices, quote

metric_keys = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=30)
simple_keys = st.from_regex(r"[a-z][a-z0-9_/@-]{0,20}", fullmatch=True)


@given(metric_keys, st.booleans())
def test_the_daemon_reads_the_order_by_of_any_metric_key_back(key: str, descending: bool) -> None:
    assert parse_order_by(metric_order_by(key, descending), VERSION_FIELDS) == [OrderTerm(f"metrics.{key}", descending)]


@given(metric_keys)
def test_a_quoted_key_is_a_literal_string_of_the_filter_language(key: str) -> None:
    assert parse_filter(f"metrics:{quote(key)}") == Has("metrics", Text(key))


@given(simple_keys)
def test_best_first_follows_the_direction_the_diff_judges_by(key: str) -> None:
    best, worst = metric_sort(key), metric_sort(key, best_first=False)

    assert best.descending == (metric_direction(key) > 0)
    assert worst.descending != best.descending
    assert best.metric == worst.metric == key
    assert "best first" in best.label and "worst first" in worst.label


@pytest.mark.parametrize(
    ("key", "order_by"),
    [("auc", "metrics.auc desc"), ("val_loss", "metrics.val_loss asc"), ("latency_ms", "metrics.latency_ms asc"),
     ("tokens_per_second", "metrics.tokens_per_second desc"), ("top 5", 'metrics."top 5" desc')],
)  # fmt: skip
def test_best_first_examples(key: str, order_by: str) -> None:
    assert metric_sort(key).order_by == order_by


def test_s_steps_through_the_fixed_orders_then_each_metric_once() -> None:
    sorts = cycle(["auc", "f1", "auc"])

    assert sorts[: len(FIXED_SORTS)] == FIXED_SORTS
    assert [sort.metric for sort in sorts[len(FIXED_SORTS) :]] == ["auc", "f1"]
    assert [sort.label for sort in picker_choices(["loss"])][:2] == [
        "loss, best first (lowest)", "loss, worst first (highest)"
    ]  # fmt: skip


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_metric_value_is_never_wider_than_its_column(value: float) -> None:
    text = format_metric(value)

    assert 0 < len(text) <= METRIC_WIDTH
    if value == value and 0 < abs(value) < 1e300:  # near the largest float, rounding up overflows
        assert float(text) == pytest.approx(value, rel=0.06)


def test_metric_values_read_short() -> None:
    assert [format_metric(v) for v in (0.93612, 1234.5, 1.234e-7, -5.5e12, None)] == [
        "0.9361", "1234", "1.234e-07", "-5.5e+12", ""
    ]  # fmt: skip


text_widths = st.dictionaries(st.sampled_from(sorted(TITLES)), st.integers(0, 60))
chosen_lists = st.lists(simple_keys, max_size=8, unique=True)


@given(chosen_lists, st.integers(20, 300), text_widths, st.one_of(st.just(""), simple_keys))
def test_columns_fit_whole_and_are_never_narrower_than_their_header(
    chosen: list[str], available: int, widths: dict[str, int], sorted_by: str
) -> None:
    columns = layout(chosen, available, widths, sorted_by=sorted_by, arrow="▼")
    keys = [column.key for column in columns]

    assert keys[:2] == ["mark", "version"]  # always there, so a row can be told apart
    assert all(len(column.title) <= column.width for column in columns)
    essential = sum(column.width + CELL_PADDING for column in columns if column.key in ("mark", "version"))
    assert sum(column.width + CELL_PADDING for column in columns) <= max(available, essential)
    if sorted_by and available >= 80:
        assert f"metric:{sorted_by}" in keys  # the order one reads comes before anything else
    metrics = [column.metric for column in columns if column.metric]
    assert set(metrics) <= set(metric_columns(chosen, sorted_by))


def test_sorting_by_a_chosen_metric_changes_no_other_column() -> None:
    widths = {"semver": 6, "stage": 10, "status": 5, "created": 8, "size": 7, "by": 8}
    chosen = ["auc", "f1", "precision", "recall", "loss"]
    plain = layout(chosen, 80, widths)
    by_f1 = layout(chosen, 80, widths, sorted_by="f1", arrow="▼")

    assert [c.key for c in plain] == [c.key for c in by_f1]
    assert [c.title for c in by_f1 if c.metric == "f1"] == ["F1 ▼"]


def test_fit_skips_what_does_not_fit_and_takes_narrower_columns_after_it() -> None:
    widths = {"a": 10, "b": 50, "c": 5}

    assert fit_columns(widths, ["a", "b", "c"], 30) == {"a", "c"}
    assert fit_columns(widths, ["a", "b", "c"], 5, always=["a"]) == {"a"}
    assert fit_columns(widths, ["a", "b", "c", "missing"], 100) == {"a", "b", "c"}
