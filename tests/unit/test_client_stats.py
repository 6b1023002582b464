"""The client's statistics helpers: histograms and category counts from raw values, and the
shapes `statistics` turns into FeatureStatistics messages (all accepted by the daemon's rules)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.client.stats import categories, histogram, statistics
from studbook.daemon.domain.drift import categories as checked_categories
from studbook.daemon.domain.drift import histogram as checked_histogram

values = st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=200)


@given(values, st.integers(1, 20), st.booleans())
def test_every_finite_value_lands_in_one_bin_of_edges_the_daemon_accepts(xs: list[float], bins: int,
                                                                          even: bool) -> None:  # fmt: skip
    found = histogram(xs + [math.nan, math.inf], bins=bins, even=even)
    assert sum(found["counts"]) == len(xs)
    assert len(found["edges"]) <= bins + 1
    checked_histogram("x", found["edges"], found["counts"])  # strictly increasing, one count per bin


@given(values, st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=2, max_size=10, unique=True))
def test_values_are_binned_on_given_edges_outliers_in_the_end_bins(xs: list[float], edges: list[float]) -> None:
    edges = sorted(edges)
    found = histogram(xs, edges)
    assert found["edges"] == edges and sum(found["counts"]) == len(xs)
    below = sum(1 for x in xs if x < edges[1])
    assert found["counts"][0] == below if len(edges) > 2 else found["counts"][0] == len(xs)
    inside = [sum(1 for x in xs if lo <= x < hi) for lo, hi in zip(edges[1:-2], edges[2:-1])]
    assert found["counts"][1:-1] == inside


def test_quantile_edges_split_the_values_about_evenly() -> None:
    found = histogram(range(1000), bins=4)
    assert found["edges"] == [0, 250, 500, 749, 999] and found["counts"] == [250, 250, 249, 251]
    assert histogram([5, 5, 5], bins=3) == {"edges": [4.5, 5.5], "counts": [3]}
    with pytest.raises(ValueError):
        histogram([], bins=3)
    with pytest.raises(ValueError):
        histogram([1], [2, 1])


@given(st.lists(st.one_of(st.text(max_size=5), st.integers(0, 9)), min_size=1, max_size=50))
def test_categories_count_each_value_as_text(xs: list[object]) -> None:
    found = categories(xs)["categories"]
    assert sum(found.values()) == len(xs) and found[str(xs[0])] >= 1
    checked_categories("c", found)


def test_every_shape_becomes_the_same_messages() -> None:
    as_file = {"features": [{"feature": "age", "edges": [0, 1, 2], "counts": [1, 2]},
                            {"feature": "c", "categories": {"a": 1}}]}  # fmt: skip
    by_name = {"age": {"edges": [0, 1, 2], "counts": [1, 2]}, "c": {"categories": {"a": 1}}}
    assert statistics(as_file) == statistics(by_name) == statistics(as_file["features"])
    assert statistics(statistics(by_name)) == statistics(by_name)
    with pytest.raises(ValueError, match="edges"):
        statistics({"age": {"counts": [1]}})
    with pytest.raises(ValueError, match="feature"):
        statistics([{"edges": [0, 1], "counts": [1]}])
