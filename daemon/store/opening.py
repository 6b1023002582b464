"""Opening the catalog without harming it: what start-up checks before DuckDB writes a byte.

DuckDB repairs what it finds as it opens a file for writing: it deletes a write-ahead log
whose database is missing and checkpoints a replayed log into the file when it closes. A
catalog that is not as it should be must therefore be judged before the catalog is opened
for writing: first by looking at the files, then through a read-only connection, which
changes nothing on disk.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studbook.daemon.domain.audit import HighWaterMark, short_of_mark
from studbook.daemon.store.interface import Store
from studbook.daemon.store.journal import Journal, journal_path
from studbook.daemon.store.mark import MarkFile, mark_path
from studbook.daemon.store.records import StoreError, first_line

# DuckDB is imported by the functions that open a DuckDB catalog: a daemon on PostgreSQL
# never loads it (~40 ms of its start), as one on DuckDB never loads psycopg.
if TYPE_CHECKING:
    import duckdb
    from studbook.daemon.store.catalog import Catalog

# DuckDB's main header: an 8-byte checksum, then these magic bytes.
_MAGIC = b"DUCK"
_MAGIC_OFFSET = 8


class CatalogRefused(StoreError):
    """The catalog cannot be opened as it is; the message says what is wrong and what to do."""

    reason = "CATALOG_REFUSED"


@dataclass(frozen=True)
class CatalogTail:
    """What a read-only look at an existing catalog found at the end of its event log."""

    revision: int
    # The chain hash stored at the revision asked about; None when there is no such event.
    chain_hash_at: str | None


def wal_path(catalog: Path) -> Path:
    return catalog.with_name(catalog.name + ".wal")


def restore_hint(catalog: Path) -> str:
    return f"`studbook restore BACKUP --data-dir {catalog.parent}`"


def check_files(catalog: Path, mark: HighWaterMark | None) -> None:
    """Refuses, before DuckDB opens anything, a catalog that is missing while its log or a
    mark of acknowledged writes is there, is no regular file, cannot be read, or is not a
    DuckDB database."""
    wal = wal_path(catalog)
    if not os.path.lexists(catalog):
        journal = journal_path(catalog)
        journaled = _size(journal) > 0
        # What to move aside to start an empty registry: every file that speaks of acknowledged writes.
        left = [path.name for path, there in ((wal, os.path.lexists(wal)), (journal, journaled)) if there]
        aside = " and ".join([*left, *([mark_path(catalog).name] if mark is not None else [])])
        if os.path.lexists(wal):
            # DuckDB would delete this log and start an empty catalog.
            raise CatalogRefused(
                f"the catalog {catalog} is missing but its write-ahead log {wal} is still there"
                f"{' and holds acknowledged writes' if _size(wal) else ''}; nothing was changed: restore the "
                f"catalog with {restore_hint(catalog)}, or move {aside} aside to start an empty registry",
                reason="CATALOG_MISSING",
            )
        if mark is not None and mark.revision > 0:
            raise CatalogRefused(
                f"the catalog {catalog} is missing but revision {mark.revision} was acknowledged "
                f"({mark_path(catalog)}); nothing was changed: restore the catalog with {restore_hint(catalog)}, "
                f"or move {aside} aside to start an empty registry",
                reason="CATALOG_MISSING",
            )
        if journaled:
            raise CatalogRefused(
                f"the catalog {catalog} is missing but its journal {journal} holds acknowledged registrations; "
                f"nothing was changed: restore the catalog with {restore_hint(catalog)}, or move {aside} aside to "
                "start an empty registry",
                reason="CATALOG_MISSING",
            )
        return
    _check_regular_file(catalog, "catalog")
    _check_header(catalog)
    if os.path.lexists(wal):
        _check_regular_file(wal, "write-ahead log")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _check_regular_file(path: Path, what: str) -> None:
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise CatalogRefused(
                f"the {what} {path} is a folder, not a file; move it aside or choose another --data-dir",
                reason="CATALOG_UNREADABLE",
            )
        if not stat.S_ISREG(mode):
            raise CatalogRefused(
                f"the {what} {path} is not a regular file; move it aside or choose another --data-dir",
                reason="CATALOG_UNREADABLE",
            )
        # Opened for writing, as DuckDB will, without writing: a read-only file fails here.
        with open(path, "r+b"):
            pass
    except OSError as exc:
        raise CatalogRefused(
            f"cannot open the {what} {path}: {exc.strerror or exc}; give the daemon's user read and write "
            "access to it, or choose another --data-dir",
            reason="CATALOG_UNREADABLE",
        ) from None


def _check_header(catalog: Path) -> None:
    with open(catalog, "rb") as handle:
        header = handle.read(_MAGIC_OFFSET + len(_MAGIC))
    if header[_MAGIC_OFFSET:] != _MAGIC:
        raise CatalogRefused(
            f"the catalog {catalog} is not a DuckDB database (damaged, or another kind of file); "
            f"nothing was changed: restore it with {restore_hint(catalog)}, or move it aside to start "
            "an empty registry",
            reason="CATALOG_DAMAGED",
        )


def probe(catalog: Path, at_revision: int) -> CatalogTail:
    """Reads an existing catalog through a read-only connection: its newest revision and the
    chain hash stored at `at_revision`. Refuses what DuckDB cannot read or what is no catalog."""
    import duckdb
    from studbook.daemon.store import staging
    from studbook.daemon.store.catalog import TableShapes

    try:
        conn = duckdb.connect(str(catalog), read_only=True)
    except duckdb.Error as exc:
        raise _damaged(catalog, exc) from None
    try:
        # DuckDB's own catalog functions, not information_schema: its views cost ~10 ms each
        # on a first query, paid at every start.
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()}  # fmt: skip
        if "events" not in tables:
            if tables:
                raise CatalogRefused(
                    f"{catalog} is a DuckDB database but not a studbook catalog; nothing was changed: "
                    "move it aside or choose another --data-dir",
                    reason="CATALOG_FOREIGN",
                )
            return CatalogTail(0, None)  # created, but killed before its schema was committed
        revision = conn.execute("SELECT coalesce(max(revision), 0) FROM events").fetchone()
        columns = {row[0] for row in conn.execute("SELECT name FROM pragma_table_info('events')").fetchall()}
        found = None
        if "chain_hash" in columns:  # absent before migration 2
            found = conn.execute("SELECT chain_hash FROM events WHERE revision = ?", [at_revision]).fetchone()
        newest, chain_hash_at = int(revision[0]) if revision else 0, found[0] if found else None
        if staging.TABLE in tables:  # the newest events may be staged still (a daemon killed)
            staged_revision, staged_hash = staging.staged_event_tail(conn, TableShapes(), at_revision)
            newest = max(newest, staged_revision)
            chain_hash_at = staged_hash if chain_hash_at is None else chain_hash_at
        # ... or journaled beside the file (store/journal.py): the records that continue the catalog.
        for record in Journal(journal_path(catalog)).read()[0]:
            if record.last_revision <= newest:
                continue  # taken in already
            if record.first_revision != newest + 1:
                break  # does not follow: opening refuses it, after the mark's verdict
            newest = record.last_revision
            chain_hash_at = chain_hash_at or next((h for revision, h in record.events if revision == at_revision), None)
        return CatalogTail(newest, chain_hash_at)
    except duckdb.Error as exc:
        raise _damaged(catalog, exc) from None
    finally:
        conn.close()


def _damaged(catalog: Path, exc: duckdb.Error) -> CatalogRefused:
    return CatalogRefused(
        f"cannot open the catalog {catalog}: {first_line(exc)}; nothing was changed: restore it with "
        f"{restore_hint(catalog)}, or move it and its .wal aside to start an empty registry",
        reason="CATALOG_DAMAGED",
    )


def open_catalog(catalog: Path) -> tuple[Catalog, MarkFile]:
    """The catalog opened for writing, once nothing speaks against it, and its mark file."""
    from studbook.daemon.store.catalog import Catalog

    marks = MarkFile(mark_path(catalog))
    mark = marks.read()
    check_files(catalog, mark)
    if catalog.exists():
        tail = probe(catalog, mark.revision if mark else 0)
        problem = short_of_mark(mark, tail.revision, tail.chain_hash_at) if mark else ""
        if problem:
            raise CatalogRefused(
                f"{problem} ({marks.path.name}): its write-ahead log was cut or lost, or an older or other "
                f"catalog was put in its place; nothing was changed: restore it with {restore_hint(catalog)}, "
                f"or, to go on with it as it is, move {marks.path.name} aside",
                reason="CATALOG_BEHIND",
            )
    return Catalog(catalog), marks


# The mark of a PostgreSQL catalog's acknowledged writes, in the data dir: a name of its own, so
# that a data dir moved back to a DuckDB catalog is not judged by another catalog's revisions.
POSTGRES_MARK = "postgres.hwm"


def open_postgres_catalog(url: str, data_dir: Path) -> tuple[Store, MarkFile]:
    """A PostgreSQL catalog, migrated to this studbook's schema, and the data dir's mark file.
    psycopg is imported here, on demand: a daemon on a DuckDB file never loads it.

    A catalog that holds less than, or other than, what this data dir's daemon acknowledged (a
    database restored from an older dump, or a URL naming another catalog) is refused: serving
    it would hand out revisions and version numbers that were already given to clients."""
    from studbook.daemon.store.postgres.catalog import PostgresCatalog

    marks = MarkFile(data_dir / POSTGRES_MARK)
    mark = marks.read()
    catalog = PostgresCatalog(url)
    if mark is not None:
        found = catalog.query("SELECT chain_hash FROM events WHERE revision = ?", [mark.revision])
        problem = short_of_mark(mark, catalog.max_revision(), found[0][0] if found else None)
        if problem:
            catalog.close()
            raise CatalogRefused(
                f"{problem} ({marks.path}): the PostgreSQL catalog {catalog.location} was restored from an older "
                "backup, or --catalog names another catalog than this data dir's daemon served; nothing was "
                f"changed: point --catalog at that catalog, or, to go on with this one as it is, move "
                f"{marks.path.name} aside",
                reason="CATALOG_BEHIND",
            )
    return catalog, marks
