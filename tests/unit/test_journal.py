"""The journal's records on disk (store/journal.py): what is read back, what a crash can leave
(a last record cut short, left out), and what is damage (anything else, refused)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.store.journal import (
    Journal,
    JournalDamaged,
    JournalRecord,
    decode,
    encode,
    unabsorbed,
)
from studbook.daemon.store.records import StoreError, StoreFull

texts = st.text(max_size=40)
rows = st.tuples(st.sampled_from(["versions", "events", "metrics"]), st.just("0,1,3"), texts,
                 st.none() | st.lists(st.integers(0, 2**62), max_size=4))  # fmt: skip


@st.composite
def journals(draw: st.DrawFn, least: int = 1) -> list[JournalRecord]:
    """Records whose events follow each other from revision 1, as a writer appends them."""
    records, revision = [], 1
    for _ in range(draw(st.integers(least, 5))):
        count = draw(st.integers(1, 4))
        events = [(revision + i, draw(st.text("0123456789abcdef", min_size=1, max_size=8))) for i in range(count)]
        records.append(JournalRecord(draw(st.lists(rows, max_size=3)), events))
        revision += count
    return records


def written(records: list[JournalRecord]) -> bytes:
    return b"".join(encode(record) for record in records)


@given(journals())
def test_records_read_back_as_written(records: list[JournalRecord]) -> None:
    assert decode(written(records)) == (records, 0)


@given(journals(), st.data())
def test_a_last_record_cut_anywhere_is_left_out_and_the_others_kept(records: list[JournalRecord],
                                                                   data: st.DataObject) -> None:  # fmt: skip
    whole = written(records[:-1])
    last = encode(records[-1])
    cut = data.draw(st.integers(1, len(last) - 1))
    assert decode(whole + last[:cut]) == (records[:-1], cut)


@given(journals(), st.integers(1, 4096))
def test_zeros_after_the_last_record_are_left_out(records: list[JournalRecord], zeros: int) -> None:
    """A crash after the file grew but before its bytes were written leaves zeros."""
    assert decode(written(records) + bytes(zeros)) == (records, zeros)


@given(journals(least=2), st.data())
def test_a_changed_byte_before_the_last_record_is_damage(records: list[JournalRecord], data: st.DataObject) -> None:
    """A cut leaves whole records only before it: one followed by a whole record was not cut."""
    damaged = bytearray(written(records))
    at = data.draw(st.integers(0, len(written(records[:-1])) - 1))
    damaged[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ValueError, match="damaged"):
        decode(bytes(damaged))


def test_records_the_catalog_holds_are_skipped_and_a_gap_is_refused(tmp_path: Path) -> None:
    records = [JournalRecord([], [(5, "a"), (6, "b")]), JournalRecord([], [(7, "c")])]
    assert unabsorbed(records, 4, tmp_path) == records
    assert unabsorbed(records, 6, tmp_path) == records[1:]
    assert unabsorbed(records, 7, tmp_path) == []
    with pytest.raises(JournalDamaged, match="ends at revision 3"):
        unabsorbed(records, 3, tmp_path)
    with pytest.raises(JournalDamaged, match="ends at revision 5"):
        unabsorbed(records, 5, tmp_path)  # revision 6 would be written twice


def test_an_append_that_fails_leaves_the_journal_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path / "catalog.duckdb.journal")
    first = JournalRecord([("events", "0", "[]", None)], [(1, "a")])
    journal.append(first)

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("studbook.daemon.store.journal.os.fdatasync", failing)
    with pytest.raises(StoreError, match="cannot write the journal"):
        journal.append(JournalRecord([("events", "0", "[" + "x" * 5000 + "]", None)], [(2, "b")]))
    assert journal.path.read_bytes() == encode(first) and journal.records == [first]

    monkeypatch.undo()
    second = JournalRecord([], [(2, "c")])
    journal.append(second)
    journal.close()
    assert decode(journal.path.read_bytes()) == ([first, second], 0)


def test_a_full_disk_refuses_the_append_as_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path / "catalog.duckdb.journal")

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("studbook.daemon.store.journal.os.pwrite", full)
    with pytest.raises(StoreFull, match="full"):
        journal.append(JournalRecord([], [(1, "a")]))
    assert journal.path.read_bytes() == b"" and journal.records == []


@given(journals(least=2), st.data())
def test_records_taken_in_leave_the_file_only_once_none_is_left(
    records: list[JournalRecord], data: st.DataObject
) -> None:
    """Appends, each followed by dropping some of the first records (a settle that took them
    in while others were appended): the file keeps the dropped ones ahead of the others until
    none is left, and an open after a crash at any point takes in exactly those not dropped."""
    with tempfile.TemporaryDirectory() as folder:
        journal, on_disk = Journal(Path(folder) / "j"), []
        head = 0  # the newest revision taken into the catalog
        for record in records:
            journal.append(record)
            on_disk.append(record)
            dropped = data.draw(st.integers(0, len(journal.pending())))
            if dropped:
                head = journal.pending()[dropped - 1].last_revision
            journal.drop(dropped)
            if not journal.pending():
                on_disk = []
            assert Journal(journal.path).read() == (on_disk, 0)
            assert unabsorbed(on_disk, head, journal.path) == journal.pending()
        journal.close()
