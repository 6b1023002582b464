"""`studbook catalog copy`: a whole registry moved between a data dir's DuckDB file and PostgreSQL.

Offline, as a restore is: no daemon may serve a data dir on either side (the data dir's lock
is held for the whole copy, so none can start meanwhile either). A PostgreSQL source is read
in one snapshot, so daemons writing to it do not tear the copy, but what they write after it
is not in it.

The destination must hold no registry: it is migrated to this studbook's schema if it is not
yet, and every table, meta's keys and the sequence of version handles are written in one
transaction. Before that transaction commits, each table's rows are counted against the
source's and the audit chain is recomputed on the destination and must end at the source's
head; otherwise it is rolled back (and a catalog file the copy created is removed), so a
refused copy leaves the destination as it was.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from studbook.daemon.domain.audit import ChainCheck, Verdict, short_of_mark
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from studbook.daemon.store.catalog import SCHEMA_VERSION, Catalog, settle_file
from studbook.daemon.store.copy import (
    SCHEMA_KEY,
    CopySide,
    DuckDBSide,
    copy_table,
    remove_catalog_files,
)
from studbook.daemon.store.mark import MarkFile, mark_path
from studbook.daemon.store.opening import restore_hint
from studbook.daemon.store.postgres.copy_side import PostgresSide

CATALOG = "catalog.duckdb"
BLOBS = "blobs"
# Blobs copied at once: copying waits mostly on each blob's fsync, which overlap.
COPY_WORKERS = 8
LOCK = "daemon.lock"
CHAIN_BATCH = 10_000
SCHEMES = ("postgresql://", "postgres://")
NAMED = 3

Say = Callable[[str], None]


@dataclass
class CopyReport:
    source: str
    destination: str
    # (table, rows) in the order copied.
    tables: list[tuple[str, int]]
    revision: int
    chain_head: str
    versions: int
    # The stored files the kept versions refer to: not in the catalog, moved by the user.
    blobs: int
    blob_bytes: int
    # Data dir to data dir: the stored files copied into the new data dir's blobs folder (each
    # checked by its sha256), and those the source's folder lacked or held altered.
    copied_blobs: int = 0
    unavailable_blobs: list[str] = field(default_factory=list)
    # What the user still has to do, one line each.
    next_steps: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(count for _, count in self.tables)


def is_postgres(endpoint: str) -> bool:
    return endpoint.startswith(SCHEMES)


def copy_catalog(source: str, destination: str, *, say: Say = lambda _: None) -> CopyReport:
    """Blocking: copies the registry at `source` into `destination`, each a data dir or a
    `postgresql://` URL, and verifies it there before committing."""
    if not is_postgres(source) and not is_postgres(destination):
        if Path(source).absolute() == Path(destination).absolute():
            raise InvalidArgument("--from and --to name the same data dir; name another destination",
                                  reason="COPY_SAME_CATALOG")  # fmt: skip
    elif source == destination:
        raise InvalidArgument("--from and --to name the same catalog; name another destination",
                              reason="COPY_SAME_CATALOG")  # fmt: skip
    with ExitStack() as stack:
        src = _open_source(source, stack)
        dst, created = _open_destination(destination, stack)
        stack.callback(dst.close)
        if dst.location == src.location:
            raise InvalidArgument(f"--from and --to both name {src.location}; name another destination",
                                  reason="COPY_SAME_CATALOG")  # fmt: skip
        try:
            report = _copy(src, dst, say)
        except BaseException:
            dst.rollback()
            dst.close()  # before its file is removed
            if created is not None:
                remove_catalog_files(created)
            raise
        if not is_postgres(source) and not is_postgres(destination) and (Path(source) / BLOBS).is_dir():
            _copy_blobs(Path(source).absolute(), Path(destination).absolute(), src, report, say)
        report.next_steps = _next_steps(source, destination, report)
        return report
    raise AssertionError("unreachable")


def _open_source(source: str, stack: ExitStack) -> CopySide:
    if is_postgres(source):
        side: CopySide = PostgresSide(source, read_only=True)
    else:
        data_dir = Path(source).absolute()
        catalog = data_dir / CATALOG
        if not catalog.is_file():
            raise NotFound(f"there is no catalog in {data_dir} ({CATALOG} is missing); name a data dir a daemon "
                           "served, or a postgresql:// URL", reason="COPY_SOURCE_NOT_FOUND")  # fmt: skip
        stack.enter_context(_holding(data_dir))
        settle_file(catalog)  # what a daemon stopped abruptly left staged, as its next start would
        side = DuckDBSide(catalog, read_only=True)
    stack.callback(side.close)
    found = side.schema_version()
    if found == 0:
        raise NotFound(f"{side.location} holds no studbook catalog; name a data dir a daemon served, or the "
                       "database a daemon's --catalog named", reason="COPY_SOURCE_NOT_FOUND")  # fmt: skip
    if found != SCHEMA_VERSION:
        how = (
            f"start this studbook's daemon on it once (`studbook serve {_serve_flag(source, side)}`), which "
            "upgrades it, "
            "then copy again"
            if found < SCHEMA_VERSION
            else "copy it with the newer studbook that upgraded it, or upgrade studbook"
        )
        raise FailedPrecondition(f"the catalog {side.location} has schema version {found}, this studbook copies "
                                 f"version {SCHEMA_VERSION}; {how}; nothing was changed",
                                 reason="COPY_SCHEMA_MISMATCH")  # fmt: skip
    if not is_postgres(source):
        _check_mark(side, Path(source).absolute() / CATALOG)
    return side


def _check_mark(side: CopySide, catalog: Path) -> None:
    """Refuses, as the daemon's start would, a catalog that holds less than its mark says was
    acknowledged: a copy of it would carry the loss on under a clean audit chain."""
    mark = MarkFile(mark_path(catalog)).read()
    if mark is None:
        return
    found = side.query("SELECT chain_hash FROM events WHERE revision = ?", [mark.revision])
    revision = int(side.query("SELECT coalesce(max(revision), 0) FROM events")[0][0])
    problem = short_of_mark(mark, revision, found[0][0] if found else None)
    if problem:
        raise FailedPrecondition(f"{problem} ({mark_path(catalog).name}): its write-ahead log was cut or lost, or "
                                 f"an older catalog was put in its place; restore it with {restore_hint(catalog)} "
                                 "and copy that, nothing was changed", reason="CATALOG_BEHIND")  # fmt: skip


def _serve_flag(endpoint: str, side: CopySide) -> str:
    # A URL as the side names it: without the password the user may have written into it.
    return f"--data-dir DIR --catalog {side.location}" if is_postgres(endpoint) else f"--data-dir {endpoint}"


def _open_destination(destination: str, stack: ExitStack) -> tuple[CopySide, Path | None]:
    """The destination migrated and checked empty; the catalog file when the copy created it."""
    created: Path | None = None
    if is_postgres(destination):
        from studbook.daemon.store.postgres.catalog import PostgresCatalog

        PostgresCatalog(destination).close()  # migrates it, as a daemon would (refusing a foreign database)
        side: CopySide = PostgresSide(destination, read_only=False)
    else:
        data_dir = Path(destination).absolute()
        if data_dir.exists() and not data_dir.is_dir():
            raise InvalidArgument(f"{data_dir} is a file; copy into a new or empty data dir",
                                  reason="INVALID_DATA_DIR")  # fmt: skip
        if not data_dir.exists():
            data_dir.mkdir(parents=True, mode=0o700)
            # Registered before the lock, so it runs after the lock is let go: a refused copy
            # leaves no folder it made (rmdir removes only what is empty by then).
            stack.callback(_remove_if_empty, data_dir)
        stack.enter_context(_holding(data_dir))
        catalog = data_dir / CATALOG
        if not catalog.exists():
            created = catalog
        try:
            Catalog(catalog).close()  # creates or migrates it
            side = DuckDBSide(catalog, read_only=False)
        except BaseException:
            if created is not None:
                remove_catalog_files(created)
            raise
    filled = [table for table in side.tables() if table != "meta" and side.count(table)]
    if filled:
        side.close()
        if created is not None:
            remove_catalog_files(created)
        raise FailedPrecondition(f"the destination {side.location} already holds a registry (rows in "
                                 f"{', '.join(filled[:NAMED])}); copy into an empty database or a new data dir, "
                                 "nothing was changed", reason="COPY_DESTINATION_NOT_EMPTY")  # fmt: skip
    return side, created


def _remove_if_empty(data_dir: Path) -> None:
    if (data_dir / CATALOG).exists():
        return  # the copy landed
    (data_dir / LOCK).unlink(missing_ok=True)
    try:
        data_dir.rmdir()
    except OSError:
        pass  # something else was put there meanwhile: leave it


@contextmanager
def _holding(data_dir: Path) -> Iterator[None]:
    """The data dir's daemon lock, held exclusively: no daemon serves it, and none starts, while copying."""
    try:
        handle = open(data_dir / LOCK, "a+")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise FailedPrecondition(f"cannot use the data dir {data_dir}: {exc.strerror or exc}",
                                 reason="INVALID_DATA_DIR") from None  # fmt: skip
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise FailedPrecondition(f"a studbook daemon (pid {holder}) is serving {data_dir}; stop it "
                                     "(`studbook stop`) and copy again, nothing was changed",
                                     reason="DATA_DIR_IN_USE") from None  # fmt: skip
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _copy(src: CopySide, dst: CopySide, say: Say) -> CopyReport:
    tables = src.tables()
    shapes = {table: sorted(c.name for c in columns) for table, columns in tables.items()}
    theirs = {table: sorted(c.name for c in columns) for table, columns in dst.tables().items()}
    if shapes != theirs:
        differ = sorted(t for t in set(shapes) | set(theirs) if shapes.get(t) != theirs.get(t))
        raise FailedPrecondition(f"the two catalogs' tables differ ({', '.join(differ[:NAMED])}) though both are at "
                                 f"schema version {SCHEMA_VERSION}; nothing was changed",
                                 reason="COPY_SCHEMA_MISMATCH")  # fmt: skip
    source_chain = _chain(src)
    if not source_chain.intact:
        raise FailedPrecondition(f"the audit chain of {src.location} is broken: {source_chain.problem}; "
                                 "`studbook audit verify` names the record; nothing was copied",
                                 reason="COPY_SOURCE_AUDIT_BROKEN")  # fmt: skip
    counts = {table: src.count(table) for table in tables}
    used = max(src.sequence_used(), int(src.query("SELECT coalesce(max(vid), 0) FROM versions")[0][0]))
    blobs = src.reads().stored_blobs()
    dst.begin_write()
    dst.query("DELETE FROM meta WHERE key <> ?", [SCHEMA_KEY])
    with tempfile.TemporaryDirectory(prefix="studbook-copy-", dir=_scratch(src, dst)) as scratch:
        for table, columns in sorted(tables.items()):
            say(f"copying {table} ({counts[table]:,} row{'' if counts[table] == 1 else 's'})")
            where = f"WHERE key <> '{SCHEMA_KEY}'" if table == "meta" else ""
            copy_table(src, dst, table, columns, Path(scratch), where)
    dst.set_sequence_at_least(used)
    say("verifying: counting rows and recomputing the audit chain")
    found = {table: dst.count(table) for table in tables}
    wrong = [f"{t}: {found[t]} rows, not {counts[t]}" for t in sorted(tables) if found[t] != counts[t]]
    if wrong:
        raise FailedPrecondition(f"the copy in {dst.location} does not match its source ({'; '.join(wrong[:NAMED])}); "
                                 "it was rolled back, nothing was changed", reason="COPY_MISMATCH")  # fmt: skip
    chain = _chain(dst)
    if not chain.intact or (chain.checked, chain.head) != (source_chain.checked, source_chain.head):
        problem = chain.problem or (f"it ends at revision {chain.checked} (head {chain.head[:12]}), the source at "
                                    f"{source_chain.checked} ({source_chain.head[:12]})")  # fmt: skip
        raise FailedPrecondition(f"the audit chain of the copy in {dst.location} does not verify: {problem}; "
                                 "it was rolled back, nothing was changed", reason="COPY_AUDIT_MISMATCH")  # fmt: skip
    dst.commit()
    return CopyReport(
        source=src.location,
        destination=dst.location,
        tables=[(table, counts[table]) for table in sorted(tables)],
        revision=chain.checked,
        chain_head=chain.head if chain.checked else "",
        versions=counts.get("versions", 0),
        blobs=len(blobs),
        blob_bytes=sum(blob.size for blob in blobs),
    )


def _copy_blobs(source: Path, destination: Path, src: CopySide, report: CopyReport, say: Say) -> None:
    """The stored files the copied catalog refers to, from the source data dir's blobs folder into
    the destination's, each hashed on the way; files already there are not copied again. The
    catalog is committed by now: a file the source lacks or holds altered is reported, not fatal
    (its version reads as corrupt in the copy as in the source, once `studbook verify` looks)."""
    from studbook.daemon.blobs import BlobMissing, open_store
    from studbook.daemon.blobs.local import LocalBlobStore
    from studbook.daemon.blobs.store import copy_blob

    origin = LocalBlobStore(source / BLOBS)
    target = open_store("", destination)
    wanted = [blob for blob in src.reads().stored_blobs() if not target.has(blob.sha256)]
    say(f"copying {len(wanted)} stored file(s) into {destination / BLOBS}, each checked by its sha256")
    lock = threading.Lock()

    def copy(sha256: str) -> None:
        try:
            intact = copy_blob(origin, target, sha256)
        except BlobMissing:
            intact = False
        with lock:
            if intact:
                report.copied_blobs += 1
            else:
                report.unavailable_blobs.append(sha256)

    with ThreadPoolExecutor(COPY_WORKERS) as pool:
        list(pool.map(copy, [blob.sha256 for blob in wanted]))
    report.unavailable_blobs.sort()


def _chain(side: CopySide) -> Verdict:
    return ChainCheck().run(side.reads().chained_events_after, CHAIN_BATCH)


def _scratch(src: CopySide, dst: CopySide) -> str | None:
    """Where the tables pass through: beside a DuckDB side's catalog (its disk holds such a
    catalog already, and a DuckDB reader must see the file), else the system's temporary folder."""
    for side in (dst, src):
        if isinstance(side, DuckDBSide):
            return os.path.dirname(side.location)
    return None


def _next_steps(source: str, destination: str, report: CopyReport) -> list[str]:
    """What the catalog does not carry, and how to start a daemon on the copy."""
    steps: list[str] = []
    if is_postgres(destination):
        # The daemon's lock, its mark and (by default) the stored files stay in a data dir.
        folder = "DIR" if is_postgres(source) else str(Path(source).absolute())
        serve = f"studbook serve --data-dir {folder} --catalog {report.destination}"
    else:
        serve = f"studbook serve --data-dir {Path(destination).absolute()}"
    if report.blobs:
        stored = (
            f"the catalog refers to {report.blobs} stored file(s), {report.blob_bytes:,} bytes, which it does not hold"
        )
        if is_postgres(source):
            steps.append(f"{stored}: they are in the artifact store the source's daemons used; serve the copy with "
                         "the same --artifact-store, or copy their data dir's blobs folder beside the copy")  # fmt: skip
        elif is_postgres(destination):
            steps.append(f"{stored}: they stay in {Path(source).absolute() / 'blobs'}, which the command below "
                         "serves (or serve with the --artifact-store the source used)")  # fmt: skip
        elif (Path(source) / BLOBS).is_dir():
            present = report.blobs - report.copied_blobs - len(report.unavailable_blobs)
            steps.append(f"stored files: {report.copied_blobs} of {report.blobs} copied into "
                         f"{Path(destination).absolute() / BLOBS}, each checked by its sha256 "
                         f"({present} were there already)")  # fmt: skip
            if report.unavailable_blobs:
                steps.append(f"{len(report.unavailable_blobs)} stored file(s) were missing or altered in the source "
                             f"({', '.join(s[:12] for s in report.unavailable_blobs[:NAMED])}): run "
                             "`studbook verify --all` on the copy to mark their versions corrupt")  # fmt: skip
        else:
            steps.append(f"{stored}: the source keeps them in its --artifact-store; serve the copy with the same one")
    steps.append(f"start it with: {serve}")
    if is_postgres(source):
        steps.append("the copy is as of the revision above: stop the source's daemons before serving it")
    return steps
