"""Input drift computed in the store, on each backend (the `store` fixture gives a DuckDB file,
then a PostgreSQL database): the set-wise statement agrees with the Python oracle
(`domain.drift.feature_drift`) on any summaries, and windows read back as they were logged."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.drift import FeatureStats, categories, feature_drift, histogram
from studbook.daemon.store.drift import StoredWindow
from studbook.daemon.store.interface import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_numbers = itertools.count(1)

weights = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
names = st.text(st.characters(codec="utf-8", categories=["L", "N", "P"]), min_size=1, max_size=4)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[FeatureStats | None, FeatureStats]:
    """A reference (or none) and a window of one feature, binned alike."""
    if draw(st.booleans()):
        bins = draw(st.integers(1, 12))
        edges = [float(i) for i in range(bins + 1)]
        ref = histogram("f", edges, draw(st.lists(weights, min_size=bins, max_size=bins).filter(any)))
        win = histogram("f", edges, draw(st.lists(weights, min_size=bins, max_size=bins).filter(any)))
    else:
        cats = st.dictionaries(names, weights, min_size=1, max_size=8).filter(lambda d: any(d.values()))
        ref, win = categories("f", draw(cats)), categories("f", draw(cats))
    return (ref if draw(st.integers(0, 9)) else None), win


def log_window(store: Store, number: int, reference: list[FeatureStats], window: list[FeatureStats],
               *, stage: str = "production", end: datetime = T0, segment: str = "") -> StoredWindow:  # fmt: skip
    tx = store.transaction()
    tx.begin()
    if reference:
        tx.insert_reference_statistics("fraud", number, reference)
    stored = tx.insert_input_window(StoredWindow(0, "fraud", stage, number, end, segment, 0, 0, "", number, []),
                                    window, "", T0)  # fmt: skip
    tx.commit()
    return stored


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(pairs(), min_size=1, max_size=4))
def test_the_stores_psi_and_ks_are_the_oracles(store: Store, features: list[tuple[FeatureStats | None,
                                                                                        FeatureStats]]) -> None:  # fmt: skip
    named = [(None if r is None else _renamed(r, f"f{i}"), _renamed(w, f"f{i}")) for i, (r, w) in enumerate(features)]
    stored = log_window(store, next(_numbers), [r for r, _ in named if r is not None], [w for _, w in named])

    for (reference, window), found in zip(named, stored.features):
        expected = feature_drift(reference, window)
        assert found.feature == window.feature and found.no_reference == expected.no_reference
        assert found.psi == pytest.approx(expected.psi, rel=1e-9, abs=1e-9)
        assert found.ks == pytest.approx(expected.ks, rel=1e-9, abs=1e-9)
    assert stored.max_psi == pytest.approx(max(feature_drift(r, w).psi for r, w in named), rel=1e-9, abs=1e-9)
    assert stored.max_ks == pytest.approx(max(feature_drift(r, w).ks for r, w in named), rel=1e-9, abs=1e-9)


def _renamed(stats: FeatureStats, name: str) -> FeatureStats:
    return FeatureStats(name, stats.kind, stats.weights, stats.edges, stats.categories)


def test_categories_are_ordered_by_code_point_on_every_engine(store: Store) -> None:
    # Code-point order puts "B" < "a" < "b"; a locale's collation would put "a" first and change KS.
    reference = categories("c", {"a": 1, "B": 1, "b": 0})
    window = categories("c", {"a": 0, "B": 0, "b": 2})
    stored = log_window(store, next(_numbers), [reference], [window])
    assert stored.features[0].ks == pytest.approx(feature_drift(reference, window).ks)
    assert stored.features[0].ks == pytest.approx(1.0)


def test_windows_read_back_newest_first_with_filters(store: Store) -> None:
    age = histogram("age", [0, 1, 2], [1, 1])
    for i in range(5):
        log_window(store, 1 if i < 3 else 2, [age] if i in (0, 3) else [], [histogram("age", [0, 1, 2], [2 + i, 1])],
                   end=T0 + timedelta(hours=i), segment="eu" if i % 2 else "")  # fmt: skip
    log_window(store, 2, [], [age], stage="staging", end=T0 + timedelta(hours=9))

    every = store.input_windows("fraud", "production", number=None, since=None, until=None, segment=None, limit=100)
    assert [w.window_end for w in every] == [T0 + timedelta(hours=i) for i in range(4, -1, -1)]
    assert [w.number for w in every] == [2, 2, 1, 1, 1]
    assert every[-1].features[0].feature == "age" and every[-1].max_psi > 0
    newest = store.input_windows("fraud", "production", number=1, since=T0 + timedelta(hours=1), until=None,
                                 segment="eu", limit=1)  # fmt: skip
    assert [w.window_end for w in newest] == [T0 + timedelta(hours=1)]
    recomputed = store.compute_input_drift([w.id for w in every])
    assert {w.id: w.features[0].psi for w in every} == pytest.approx({i: d["age"].psi for i, d in recomputed.items()})


def test_drift_over_many_windows_is_each_windows_own(store: Store) -> None:
    # Windows of two versions side by side, categories each window sees or misses, a feature with
    # no reference: recomputed together, each window's figures are the ones it was logged with.
    number, other = next(_numbers), next(_numbers)
    reference = [categories("city", {"ber": 3, "oslo": 1, "rome": 2}), histogram("age", [0, 1, 2, 3], [1, 2, 1])]
    windows = [
        [categories("city", {"ber": 1}), histogram("age", [0, 1, 2, 3], [0, 0, 5])],
        [categories("city", {"ber": 1, "lima": 4, "rome": 1}), histogram("age", [0, 1, 2, 3], [1, 2, 1])],
        [categories("city", {"Zug": 2, "oslo": 2}), categories("new", {"x": 1})],
    ]
    logged = [log_window(store, number, reference if i == 0 else [], w) for i, w in enumerate(windows)]
    logged.append(log_window(store, other, [categories("city", {"lima": 1})], windows[1]))

    recomputed = store.compute_input_drift([w.id for w in logged])
    for window, stats in zip(logged, [*windows, windows[1]]):
        ref = {r.feature: r for r in (reference if window.number == number else [categories("city", {"lima": 1})])}
        expected = {s.feature: feature_drift(ref.get(s.feature), s) for s in stats}
        assert set(recomputed[window.id]) == set(expected)
        for name, found in recomputed[window.id].items():
            assert found.no_reference == expected[name].no_reference
            assert found.psi == pytest.approx(expected[name].psi, rel=1e-9, abs=1e-9)
            assert found.ks == pytest.approx(expected[name].ks, rel=1e-9, abs=1e-9)
        assert {d.feature: d for d in window.features} == recomputed[window.id]
