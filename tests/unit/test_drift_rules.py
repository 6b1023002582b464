"""Feature statistics: what is accepted, and the PSI / KS arithmetic the store is checked against."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.drift import (
    MAX_EDGES,
    PSI_FLOOR,
    categories,
    feature_drift,
    histogram,
    validate_features,
)
from studbook.daemon.domain.errors import InvalidArgument

weights = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def histograms(draw: st.DrawFn, bins: int | None = None) -> tuple[list[float], list[float]]:
    n = bins if bins is not None else draw(st.integers(1, 20))
    edges = sorted(draw(st.sets(st.floats(-1e6, 1e6, allow_nan=False), min_size=n + 1, max_size=n + 1)))
    counts = draw(st.lists(weights, min_size=n, max_size=n).filter(any))
    return edges, counts


@given(histograms())
def test_a_well_formed_histogram_is_accepted_as_given(h: tuple[list[float], list[float]]) -> None:
    edges, counts = h
    stats = histogram("age", edges, counts)
    assert stats.edges == tuple(edges) and stats.weights == tuple(counts)
    assert math.isclose(math.fsum(stats.shares()), 1.0)


@given(histograms(), st.data())
def test_edges_not_strictly_increasing_are_refused(h: tuple[list[float], list[float]], data: st.DataObject) -> None:
    edges, counts = h
    i = data.draw(st.integers(0, len(edges) - 2))
    broken = list(edges)
    broken[i + 1] = data.draw(st.sampled_from([broken[i], broken[i] - 1.0, math.nan, math.inf]))
    with pytest.raises(InvalidArgument) as refused:
        histogram("age", broken, counts)
    assert refused.value.reason == "INVALID_STATISTICS"


@given(histograms(), st.integers(-3, 3).filter(lambda d: d != 0))
def test_counts_must_be_one_per_bin(h: tuple[list[float], list[float]], extra: int) -> None:
    edges, counts = h
    changed = counts + [1.0] * extra if extra > 0 else counts[:extra]
    with pytest.raises(InvalidArgument, match="counts"):
        histogram("age", edges, changed)


@given(histograms(), st.sampled_from([-1.0, math.nan, math.inf]), st.data())
def test_weights_are_finite_and_not_negative(h: tuple[list[float], list[float]], bad: float,
                                             data: st.DataObject) -> None:  # fmt: skip
    edges, counts = h
    counts[data.draw(st.integers(0, len(counts) - 1))] = bad
    with pytest.raises(InvalidArgument) as refused:
        histogram("age", edges, counts)
    assert refused.value.reason == "INVALID_STATISTICS"


def test_all_zero_weights_and_edge_counts_out_of_bounds_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="zero"):
        histogram("age", [0, 1, 2], [0, 0])
    with pytest.raises(InvalidArgument, match="edges"):
        histogram("age", [0], [])
    edges = [float(i) for i in range(MAX_EDGES + 1)]
    with pytest.raises(InvalidArgument, match="edges"):
        histogram("age", edges, [1.0] * MAX_EDGES)
    assert histogram("age", edges[:-1], [1.0] * (MAX_EDGES - 1)).numeric


@given(st.text(min_size=0, max_size=300))
def test_feature_names_are_one_to_256_printable_characters(name: str) -> None:
    ok = 1 <= len(name) <= 256 and name.isprintable()
    try:
        categories(name, {"a": 1})
    except InvalidArgument as refused:
        assert not ok and refused.reason == "INVALID_FEATURE"
    else:
        assert ok


def test_categories_are_bounded_and_kept_in_code_point_order() -> None:
    stats = categories("country", {"fr": 2, "de": 1, "Zz": 0, "é": 1})
    assert stats.categories == ("Zz", "de", "fr", "é") and stats.weights == (0, 1, 2, 1)
    with pytest.raises(InvalidArgument, match="categories"):
        categories("country", {})
    with pytest.raises(InvalidArgument, match="categories"):
        categories("country", {str(i): 1.0 for i in range(10_001)})


def test_a_feature_given_twice_or_too_many_features_are_refused() -> None:
    age = histogram("age", [0, 1], [1])
    with pytest.raises(InvalidArgument) as refused:
        validate_features([age, age])
    assert refused.value.reason == "DUPLICATE_FEATURE"
    with pytest.raises(InvalidArgument) as refused:
        validate_features([histogram(f"f{i}", [0, 1], [1]) for i in range(10_001)])
    assert refused.value.reason == "TOO_MANY_FEATURES"


# -- the arithmetic ---------------------------------------------------------------------------


def test_psi_and_ks_of_a_known_pair() -> None:
    reference = histogram("x", [0, 1, 2], [50, 50])
    window = histogram("x", [0, 1, 2], [90, 10])
    found = feature_drift(reference, window)
    assert found.psi == pytest.approx((0.9 - 0.5) * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5))
    assert found.ks == pytest.approx(0.4)


def test_an_empty_bin_counts_as_the_floor() -> None:
    found = feature_drift(histogram("x", [0, 1, 2], [1, 1]), histogram("x", [0, 1, 2], [1, 0]))
    assert found.psi == pytest.approx((1 - 0.5) * math.log(1 / 0.5) + (PSI_FLOOR - 0.5) * math.log(PSI_FLOOR / 0.5))


def test_categories_compare_over_the_union_in_name_order() -> None:
    found = feature_drift(categories("c", {"a": 1, "b": 1}), categories("c", {"b": 1, "c": 1}))
    # cumulative over a, b, c: reference 0.5, 1, 1; window 0, 0.5, 1
    assert found.ks == pytest.approx(0.5)
    assert found.psi > 0


def test_no_reference_is_reported_as_such() -> None:
    found = feature_drift(None, histogram("x", [0, 1], [1]))
    assert found.no_reference and found.psi == 0 and found.ks == 0


@given(histograms(bins=5), st.lists(weights, min_size=5, max_size=5).filter(any))
def test_drift_is_non_negative_bounded_and_zero_against_itself(h: tuple[list[float], list[float]],
                                                               other: list[float]) -> None:  # fmt: skip
    edges, counts = h
    reference = histogram("x", edges, counts)
    found = feature_drift(reference, histogram("x", edges, other))
    assert found.psi >= 0 and 0 <= found.ks <= 1
    itself = feature_drift(reference, reference)
    assert itself.psi == pytest.approx(0, abs=1e-12) and itself.ks == pytest.approx(0, abs=1e-12)
    scaled = feature_drift(reference, histogram("x", edges, [c * 3 for c in other]))
    assert scaled.psi == pytest.approx(found.psi, rel=1e-9, abs=1e-12)
