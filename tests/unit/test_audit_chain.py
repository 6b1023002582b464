"""The hash chain itself: any change to any field of any record breaks it there."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.audit import GENESIS, ChainCheck, HighWaterMark, chain_hash, short_of_mark
from studbook.daemon.domain.model import Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def chain(count: int) -> list[tuple[Event, str]]:
    records, head = [], GENESIS
    for revision in range(1, count + 1):
        event = Event(revision, T0, "version.created", f"models/m/versions/{revision}", "m", "ana", b"x")
        head = chain_hash(head, event)
        records.append((event, head))
    return records


def test_an_intact_chain_verifies_to_its_last_hash() -> None:
    records = chain(5)
    check = ChainCheck()

    assert check.feed(records) and check.verdict().intact
    assert check.verdict().head == records[-1][1]


@given(
    st.integers(0, 9), st.sampled_from(["type", "subject", "model", "actor", "payload", "role"]), st.text(min_size=1)
)
def test_editing_any_field_of_any_record_breaks_the_chain_there(index: int, field: str, value: str) -> None:
    records = chain(10)
    event, stored = records[index]
    edited = replace(event, **{field: value.encode() if field == "payload" else value})
    if edited == event:
        return
    records[index] = (edited, stored)

    check = ChainCheck()
    check.feed(records)

    assert check.verdict().broken_revision == index + 1


def test_a_missing_record_is_named() -> None:
    records = chain(4)
    del records[1]

    check = ChainCheck()
    check.feed(records)

    assert check.verdict().broken_revision == 2


def test_a_record_from_before_roles_keeps_its_hash() -> None:
    event = Event(1, T0, "model.created", "models/m", "m", "ana", b"x")
    known = chain_hash(GENESIS, event)  # as chained before events had a role

    assert chain_hash(GENESIS, replace(event, role="")) == known
    assert chain_hash(GENESIS, replace(event, role="admin")) != known


def test_a_trail_that_ends_before_the_mark_is_broken_after_its_last_record() -> None:
    records = chain(5)
    mark = HighWaterMark(8, "f" * 64)

    check = ChainCheck(mark=mark)
    check.feed(records)
    verdict = check.verdict()

    assert verdict.broken_revision == 6 and verdict.checked == 5
    assert "ends at revision 5" in verdict.problem and "8" in verdict.problem


def test_a_trail_rewritten_up_to_the_mark_is_broken_at_the_mark() -> None:
    records = chain(5)

    check = ChainCheck(mark=HighWaterMark(3, "f" * 64))
    check.feed(records)

    assert check.verdict().broken_revision == 3 and "acknowledged" in check.verdict().problem


def test_a_trail_that_holds_the_mark_and_more_verifies() -> None:
    records = chain(5)

    check = ChainCheck(mark=HighWaterMark(3, records[2][1]))
    check.feed(records)

    assert check.verdict().intact and check.verdict().checked == 5


def test_a_catalog_is_short_of_its_mark_when_behind_or_different_never_when_ahead() -> None:
    mark = HighWaterMark(10, "a" * 64)

    assert short_of_mark(mark, 10, "a" * 64) == ""
    assert short_of_mark(mark, 12, "a" * 64) == "", "a crash between a commit and its mark"
    assert "ends at revision 7 but revision 10" in short_of_mark(mark, 7, None)
    assert "revision 10 is not the one acknowledged" in short_of_mark(mark, 12, "b" * 64)
    assert "missing" in short_of_mark(mark, 12, None)
    assert short_of_mark(mark, 12, "") == "", "a trail from before the chain is compared by revision"
