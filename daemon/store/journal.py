"""The commits a burst of registrations stages, appended to a file beside the DuckDB catalog
rather than committed into it.

A registration's group commit on DuckDB cost a BEGIN, the statement that stages its rows and a
COMMIT: about 3 ms of a group's 9 on the writer thread, which every client of the group waited
for. Appending the same staged rows to this journal and syncing it costs a write and one
fdatasync; with 16 clients registering, the daemon answered 1,125-1,164 versions/s against
821-846 committing each group (alternating runs, measured here).

A journaled commit is as durable as a committed one: its record is synced before any of its
writers is answered. It joins the catalog later, inserted into `staged_rows` as the commits it
stands for (store/staging.py), by whichever transaction touches the catalog first: the writer's
next transaction that runs a statement, a reader settling before its query, a settle in the
background once enough wait, the catalog's close, or its next open after a crash. The records
it took are dropped once that transaction has committed; the file is emptied when no record is
left, and until then keeps their bytes ahead of the records journaled meanwhile.

Each record names the revisions of the events it holds and their chain hashes, so that
- opening skips a record already in the catalog (the transaction that took it committed, and
  the daemon stopped before the journal was emptied), and refuses a record that does not follow
  the catalog's newest revision (a journal left beside another catalog): nothing is deleted;
- start-up's look at what was acknowledged (store/opening.py) sees the journal's revisions.

Only the last record may be cut short (the daemon stopped while writing it, before it was synced
and so before anyone was answered): it is left out. Damage anywhere before it refuses the catalog.

A record on disk: MAGIC, the payload's length and its CRC-32 (big-endian, 4 bytes each), then the
payload: JSON `{"events": [[revision, chain_hash], ...], "rows": [[table, columns, doc, ids], ...]}`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studbook.daemon.store.records import StoreError, store_error

log = logging.getLogger(__name__)

MAGIC = b"SBJ1"
_HEADER = struct.Struct("!4sII")


# One table's rows of a commit as `staged_rows` holds them (store/staging.py): table, column
# indices, JSON document, version handles (versions only).
StagedRows = tuple[str, str, str, list[int] | None]


@dataclass(frozen=True)
class JournalRecord:
    """One journaled commit: its staged rows, and its events' revisions and chain hashes."""

    rows: list[StagedRows]
    events: list[tuple[int, str]]

    @property
    def first_revision(self) -> int:
        return self.events[0][0]

    @property
    def last_revision(self) -> int:
        return self.events[-1][0]


class JournalDamaged(StoreError):
    """The journal holds damage before its last record, or does not follow its catalog."""

    reason = "JOURNAL_DAMAGED"


def journal_path(catalog: Path) -> Path:
    return catalog.with_name(catalog.name + ".journal")


def encode(record: JournalRecord) -> bytes:
    payload = json.dumps({"events": record.events, "rows": record.rows}, separators=(",", ":")).encode()
    return _HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def decode(data: bytes) -> tuple[list[JournalRecord], int]:
    """The whole records of a journal's bytes, and how many bytes a last record cut short left
    after them. Raises ValueError for damage anywhere else."""
    records: list[JournalRecord] = []
    offset = 0
    while offset < len(data):
        record, end = _whole_at(data, offset)
        if record is None:
            # The last record, cut short; unless a whole one follows, which a cut cannot leave.
            if _whole_after(data, offset + 1):
                raise ValueError(f"the record at byte {offset} is damaged")
            return records, len(data) - offset
        records.append(record)
        offset = end
    return records, 0


def _whole_at(data: bytes, offset: int) -> tuple[JournalRecord | None, int]:
    """The whole record at `offset` and where it ends, or (None, offset)."""
    header = data[offset : offset + _HEADER.size]
    if len(header) < _HEADER.size:
        return None, offset
    magic, length, crc = _HEADER.unpack(header)
    end = offset + _HEADER.size + length
    payload = data[offset + _HEADER.size : end]
    if magic != MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
        return None, offset
    return _record(json.loads(payload)), end


def _whole_after(data: bytes, start: int) -> bool:
    found = data.find(MAGIC, start)
    while found != -1:
        if _whole_at(data, found)[0] is not None:
            return True
        found = data.find(MAGIC, found + 1)
    return False


def _record(document: Any) -> JournalRecord:
    events = [(int(revision), str(chain_hash)) for revision, chain_hash in document["events"]]
    rows = [(str(table), str(columns), str(doc), None if ids is None else [int(n) for n in ids])
            for table, columns, doc, ids in document["rows"]]  # fmt: skip
    if not events:
        raise ValueError("a record without events")
    return JournalRecord(rows, events)


class Journal:
    """The journal of one catalog: its records not yet in the catalog, in memory and on disk.
    The writer thread appends; whoever settles (store/staging.py) takes the records in and then
    drops them, while the writer may be appending more: `_lock` keeps the two apart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[JournalRecord] = []
        self._lock = threading.Lock()
        self._fd: int | None = None
        # Bytes of whole records on disk: where the next record goes.
        self._size = 0
        # Set when a failed append could not be cut off again: nothing more is appended.
        self.broken = False
        # Bytes of a last record cut short, found at open.
        self.left_out = 0

    def read(self) -> tuple[list[JournalRecord], int]:
        """The records on disk and the bytes of a last record cut short; reads only."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], 0
        except OSError as exc:
            raise JournalDamaged(f"cannot read the journal {self.path}: {exc.strerror or exc}") from None
        try:
            return decode(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalDamaged(
                f"the journal {self.path} is damaged ({exc}); it holds acknowledged registrations, so nothing "
                "was changed: restore the registry from a backup, or move the journal aside to go on without them"
            ) from None

    def load(self) -> list[JournalRecord]:
        """At open: the records on disk, held as not yet in the catalog."""
        self.records, self.left_out = self.read()
        if self.left_out:
            log.warning("the journal %s ends with %d bytes of a record never acknowledged (the daemon stopped "
                        "while writing it); left out", self.path, self.left_out)  # fmt: skip
        self._size = self.path.stat().st_size - self.left_out if self.records or self.left_out else 0
        return self.records

    def append(self, record: JournalRecord) -> None:
        """Makes `record` durable after the others. Raises StoreFull or StoreError when it cannot,
        leaving the journal as it was."""
        if self.broken:
            raise StoreError(f"the journal {self.path} cannot be written after an earlier failure")
        data = encode(record)
        with self._lock:
            try:
                fd = self._open()
                # At the end of the whole records: a record cut off by a failure is written over.
                if os.pwrite(fd, data, self._size) != len(data):
                    raise OSError(errno.ENOSPC, "No space left on device (a short write)")
                os.fdatasync(fd)
            except OSError as exc:
                self._cut_back()
                raise store_error(exc, f"cannot write the journal {self.path}") from exc
            self._size += len(data)
            self.records.append(record)

    @property
    def size(self) -> int:
        """Bytes on disk, records taken in already included (see `drop`)."""
        return self._size

    def pending(self) -> list[JournalRecord]:
        """The records not yet in the catalog, as they are now: a settle takes in these, and
        then drops as many (`drop`)."""
        with self._lock:
            return list(self.records)

    def drop(self, count: int) -> None:
        """Once the first `count` records are committed into the catalog. The file is emptied
        when no record is left; otherwise their bytes stay ahead of the newer records until it
        is (opening skips records the catalog holds already), since the writer may have
        appended after them meanwhile."""
        with self._lock:
            del self.records[:count]
            if not self.records:
                self._empty()

    def clear(self) -> None:
        """Once every record is committed into the catalog (see `drop`)."""
        with self._lock:
            self.records = []
            self._empty()

    def _empty(self) -> None:
        # Their bytes may outlive a crash: opening skips records the catalog holds already.
        self._size = self.left_out = 0
        if self._fd is None and not os.path.lexists(self.path):
            return
        try:
            if self._fd is None:
                os.truncate(self.path, 0)
            else:
                os.ftruncate(self._fd, 0)
        except OSError as exc:
            # A record written at its start would leave these records' bytes after it, which
            # opening would take for damage: nothing more is appended (these are skipped there).
            self.broken = True
            log.error("cannot empty the journal %s (%s); registrations commit into the catalog until the "
                      "daemon restarts", self.path, exc.strerror or exc)  # fmt: skip

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            created = not os.path.lexists(self.path)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            if created:
                # The file's name must survive a crash as its records do.
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        return self._fd

    def _cut_back(self) -> None:
        try:
            if self._fd is not None:
                os.ftruncate(self._fd, self._size)
        except OSError:
            self.broken = True


def unabsorbed(records: list[JournalRecord], head: int, path: Path) -> list[JournalRecord]:
    """The records that follow a catalog whose newest revision is `head`, leaving out those it
    holds already; refuses records that leave a gap or belong to another catalog."""
    fresh = [record for record in records if record.last_revision > head]
    expected = head + 1
    for record in fresh:
        if record.first_revision != expected:
            raise JournalDamaged(
                f"the journal {path} holds revisions {record.first_revision}-{record.last_revision}, but its catalog "
                f"ends at revision {expected - 1}: it was left beside another or an older catalog; nothing was "
                "changed: put the catalog it belongs to back, or move the journal aside to go on without it"
            )
        expected = record.last_revision + 1
    return fresh
