"""The tenures of a stage and the holder at many times, against a naive scan of the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.app.tenures import Holders, Tenure, build_tenures, holders_at
from studbook.daemon.domain.model import StageChange

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def change(revision: int, minute: int, number: int | None, *, promotion: int | None = None,
           rollback: bool = False) -> StageChange:  # fmt: skip
    return StageChange("fraud", "production", False, number, None, "ana", "", T0 + timedelta(minutes=minute),
                       promotion, rollback, revision)  # fmt: skip


def naive(changes: list[StageChange], time: datetime) -> int | None:
    """GetStageHistory's `at`, as the store answers it: the newest change by revision at or before."""
    before = [c for c in changes if c.time <= time]
    return max(before, key=lambda c: c.revision).version if before else None


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def test_promotions_and_a_rollback_make_one_tenure_each_in_order() -> None:
    changes = [change(1, 0, 3, promotion=1), change(2, 10, 4, promotion=2), change(3, 20, 3, promotion=3,
                                                                                      rollback=True)]  # fmt: skip

    tenures = build_tenures(reversed(changes))

    assert tenures == [
        Tenure(3, at(0), at(10), 1, False, 1),
        Tenure(4, at(10), at(20), 2, False, 2),
        Tenure(3, at(20), None, 3, True, 3),
    ]
    holders = Holders(tenures)
    assert holders.at([at(-1), at(0), at(9.9), at(10), at(25)]) == [None, 3, 3, 4, 3]
    assert [t.start for t in holders.of(3)] == [at(0), at(20)]
    assert holders.numbers() == [3, 4]


def test_a_cleared_label_leaves_a_gap_with_no_holder() -> None:
    changes = [change(1, 0, 3), change(2, 10, None), change(3, 20, 5)]

    holders = Holders(build_tenures(changes))

    assert [(t.number, t.start, t.end) for t in holders.tenures] == [(3, at(0), at(10)), (5, at(20), None)]
    assert holders.at([at(5), at(10), at(15), at(20)]) == [3, None, None, 5]
    assert holders.tenure_at(at(15)) is None


def test_a_change_with_an_earlier_time_than_an_older_revision_wins_from_its_own_time() -> None:
    # Two daemons on one catalog whose clocks disagree: revision 2 carries the earlier time.
    changes = [change(1, 10, 3), change(2, 5, 4)]

    assert build_tenures(changes) == [Tenure(4, at(5), None, None, False, 2)]
    assert holders_at(changes, [at(4), at(7), at(12)]) == [None, 4, 4]


changes_strategy = st.lists(
    st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(1, 5)), st.booleans()), max_size=25
).map(lambda items: [change(i + 1, minute, number, rollback=rb) for i, (minute, number, rb) in enumerate(items)])


@given(changes_strategy, st.permutations(range(3)), st.lists(st.integers(-5, 50), max_size=60))
def test_the_holder_at_any_time_is_the_store_rule_by_a_naive_scan(
    changes: list[StageChange], rotation: list[int], minutes: list[int]
) -> None:
    # Half-minutes too, so times between and on every change are both asked.
    times = [at(m / 2) for m in minutes] + [c.time for c in changes]
    shuffled = changes[rotation[0] :] + changes[: rotation[0]]

    assert holders_at(shuffled, times) == [naive(changes, t) for t in times]


@given(changes_strategy)
def test_tenures_are_ordered_disjoint_and_each_holds_what_it_names(changes: list[StageChange]) -> None:
    tenures = build_tenures(changes)

    for earlier, later in zip(tenures, tenures[1:]):
        assert earlier.end is not None and earlier.start < earlier.end <= later.start
    assert all(t.end is not None for t in tenures[:-1])
    for tenure in tenures:
        assert naive(changes, tenure.start) == tenure.number
        assert tenure.covers(tenure.start)
        if tenure.end is not None:
            assert not tenure.covers(tenure.end)
