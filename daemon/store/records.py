"""What every catalog backend returns and raises: the records its reads give and its errors.

Kept apart from the backends so that code typed against the store interface, and the
PostgreSQL catalog, need not import DuckDB to name them.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from studbook.daemon.domain.errors import RegistryError, ResourceExhausted, Unavailable
from studbook.daemon.domain.model import Event


class StoreError(Unavailable):
    """The catalog could not be read or written (I/O error, corrupt file)."""

    reason = "STORE_UNAVAILABLE"


class StoreFull(ResourceExhausted):
    """The file system that holds the catalog has no room (or quota) left for a write."""

    reason = "STORE_FULL"


class DurableCommit(Exception):
    """The commit landed, then the connection failed (DuckDB: the checkpoint after it met a full
    disk; PostgreSQL: the connection dropped before the answer came back, and the revision was
    found committed): the writes are durable, the connection must be reopened."""


@dataclass
class ChangesSince:
    """What other daemons committed after `revision`, read with the write lock in the round
    trip that took it: their events (with chain hashes) in revision order, and the facts
    (`Store.version_facts_after`'s rows, of every model) of the versions they wrote."""

    revision: int
    events: list[tuple[Event, str]]
    facts: list[tuple[str, int, str, str, str, str]]


class CatalogMovedOn(Exception):
    """Another daemon committed to a shared catalog since this one last read its revision: the
    writer's in-memory state is stale. Raised by `begin` with the transaction still open and its
    write lock held, so the writer reloads its state (nobody can commit meanwhile) and runs the
    group in that same transaction. `changes`, when the catalog read them with the lock (not too
    many to), are what was committed meanwhile."""

    def __init__(self, message: str, changes: ChangesSince | None = None) -> None:
        super().__init__(message)
        self.changes = changes


@dataclass
class Page:
    items: list[Any]
    total: int
    # The sort keys of the last item when more rows follow: where the next page starts.
    next_after: tuple[object, ...] | None = None


class DropRow(NamedTuple):
    """One row of `drops`: a drop-in unit and the watcher's verdict on it."""

    root: str
    path: str
    model: str
    number: int | None
    state: str
    content_digest: str
    reason: str
    message: str
    details: str  # JSON object text
    fingerprint: str
    unit_device: int
    unit_inode: int
    update_time: datetime


class DropFileRow(NamedTuple):
    """One row of `drop_files`: a file of a drop as last seen."""

    root: str
    path: str
    file: str
    size: int
    sha256: str
    mtime_ns: int
    inode: int
    device: int


class KeptScope(NamedTuple):
    """What a check of the artifact store covers: the kept versions of a scope and their blobs."""

    blobs: list[tuple[str, int]]  # distinct (sha256, size), each once however many versions share it
    versions: int  # kept versions in scope
    corrupt: list[tuple[str, int]]  # (model, number) of kept versions in scope marked corrupt
    skipped: list[tuple[str, int]]  # (model, number) of referenced versions in scope, the first few
    skipped_count: int


class StoredBlob(NamedTuple):
    """A blob the catalog's kept versions refer to."""

    sha256: str
    size: int
    # Every version referring to it is marked corrupt: its bytes are known to be bad.
    known_bad: bool


@dataclass(frozen=True)
class CatalogSnapshot:
    """What a copy of the catalog holds, read in the same transaction as the copy."""

    revision: int
    chain_head: str
    schema_version: int
    versions: int
    blobs: list[StoredBlob]


def first_line(exc: BaseException) -> str:
    """A database's messages can run over several lines; an error the daemon reports is one."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# strerror of ENOSPC and EDQUOT, as DuckDB quotes them in its I/O errors.
_NO_ROOM = ("No space left on device", "Disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return any(words in str(exc) for words in _NO_ROOM)


def store_error(exc: BaseException, what: str) -> RegistryError:
    """The store's own error for a failure of DuckDB or of the file system under it."""
    if is_disk_full(exc):
        return StoreFull(
            f"the disk that holds the catalog is full ({first_line(exc)}); nothing acknowledged was lost "
            "and reads still work"
        )
    return StoreError(f"{what}: {first_line(exc)}")


def wrap_store_errors(exc: BaseException) -> RegistryError:
    if isinstance(exc, RegistryError):
        return exc
    return store_error(exc, "catalog write failed")
