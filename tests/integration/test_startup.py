"""Start-up never destroys or hides acknowledged data: what it cannot open as it is, it refuses
in one line that says what to do, and it leaves every file as it found it."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import duckdb
from conftest import start_refused
from studbook.daemon.domain.audit import HighWaterMark
from studbook.daemon.store import staging
from studbook.daemon.store.catalog import settle_file
from studbook.daemon.store.mark import MarkFile
from studbook.daemon.store.opening import probe
from studbook.v1 import audit_pb2, audit_pb2_grpc, registry_pb2
from support.rpc import register, stubs

CATALOG = "catalog.duckdb"
WAL = "catalog.duckdb.wal"
JOURNAL = "catalog.duckdb.journal"
MARK = "catalog.hwm"


def files_in(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of a data dir, its mode and its bytes; the lock only holds the last daemon's pid."""
    return {p.name: (p.stat().st_mode, p.read_bytes())
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != "daemon.lock"}  # fmt: skip


def register_and_crash(daemon_factory, count: int, *, settled: bool = False):  # type: ignore[no-untyped-def]
    """Registers `count` versions, then kill -9: every one of them is in the write-ahead log
    (or the journal, store/journal.py). With `settled`, a read first takes every one into the
    catalog and empties the journal, which may otherwise still hold a copy of those a settle
    took in: the log is then their only copy."""
    daemon = daemon_factory()
    with daemon.channel() as channel:
        api = stubs(channel)
        for i in range(count):
            register(api, "fraud", storage_uri=f"s3://b/{i}")
        if settled:
            api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent="models/fraud"))
            assert (daemon.data_dir / JOURNAL).stat().st_size == 0
    daemon.kill(signal.SIGKILL)
    assert (daemon.data_dir / WAL).stat().st_size > 0, "the crash left the writes in the log"
    return daemon


def assert_refused_in_one_line(result, *words: str) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("studbook: ")
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def versions_of(daemon, model: str) -> list[str]:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        found = stubs(channel).versions.ListModelVersions(
            registry_pb2.ListModelVersionsRequest(parent=f"models/{model}", page_size=1000))  # fmt: skip
    return [v.name for v in found.versions]


def test_a_log_without_its_catalog_is_refused_and_kept(daemon_factory, short_dir):
    daemon = register_and_crash(daemon_factory, 50)
    (daemon.data_dir / CATALOG).unlink()
    before = files_in(daemon.data_dir)

    result = start_refused(daemon.data_dir, short_dir / "s.sock")

    line = assert_refused_in_one_line(result, WAL, "studbook restore", "--data-dir")
    assert "missing" in line
    assert files_in(daemon.data_dir) == before, "the log is byte for byte what it was; no catalog was created"


def test_a_file_that_is_no_duckdb_database_is_refused_in_one_line(short_dir):
    data = short_dir / "data"
    data.mkdir()
    (data / CATALOG).write_bytes(b"these are not the bytes of a database\n" * 100)
    before = files_in(data)

    result = start_refused(data, short_dir / "s.sock")

    assert_refused_in_one_line(result, str(data / CATALOG), "not a DuckDB database", "studbook restore")
    assert files_in(data) == before


def test_a_catalog_damaged_past_its_header_is_refused_in_one_line(daemon_factory, short_dir):
    daemon = register_and_crash(daemon_factory, 5)
    with duckdb.connect(str(daemon.data_dir / CATALOG)) as conn:
        conn.execute("CHECKPOINT")  # everything into the file, which is then damaged
    catalog = daemon.data_dir / CATALOG
    damaged = bytearray(catalog.read_bytes())
    damaged[4096:] = b"\xff" * (len(damaged) - 4096)  # the database headers and every block after them
    catalog.write_bytes(bytes(damaged))
    before = files_in(daemon.data_dir)

    result = start_refused(daemon.data_dir, short_dir / "s.sock")

    assert_refused_in_one_line(result, "cannot open the catalog", "studbook restore")
    assert files_in(daemon.data_dir) == before


def test_a_catalog_that_is_a_folder_is_refused_in_one_line(short_dir):
    data = short_dir / "data"
    (data / CATALOG).mkdir(parents=True)

    result = start_refused(data, short_dir / "s.sock")

    assert_refused_in_one_line(result, "is a folder")
    assert (data / CATALOG).is_dir() and not any((data / CATALOG).iterdir())


def test_a_duckdb_database_of_something_else_is_refused(short_dir):
    data = short_dir / "data"
    data.mkdir()
    with duckdb.connect(str(data / CATALOG)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = files_in(data)

    result = start_refused(data, short_dir / "s.sock")

    assert_refused_in_one_line(result, "not a studbook catalog")
    assert files_in(data) == before


def test_a_data_dir_that_is_a_file_is_refused_in_one_line(short_dir):
    (short_dir / "data").write_text("not a folder")

    result = start_refused(short_dir / "data", short_dir / "s.sock")

    assert_refused_in_one_line(result, "cannot use the data dir")


def test_a_crash_with_an_intact_log_starts_with_everything(daemon_factory):
    register_and_crash(daemon_factory, 50)

    restarted = daemon_factory()

    assert len(versions_of(restarted, "fraud")) == 50


def acknowledged(data_dir: Path) -> HighWaterMark:
    found = MarkFile(data_dir / MARK).read()
    assert found is not None
    return found


def event_at(data_dir: Path, revision: int) -> HighWaterMark:
    """The revision and chain hash the catalog holds there (in the events table or staged),
    read without changing a byte."""
    found = probe(data_dir / CATALOG, revision).chain_hash_at
    assert found is not None
    return HighWaterMark(revision, found)


def staged_events(data_dir: Path) -> tuple[int, int]:
    """How many events the catalog holds staged, and the newest revision in its events table."""
    with duckdb.connect(str(data_dir / CATALOG), read_only=True) as conn:
        staged = conn.execute(f"SELECT count(*) FROM {staging.TABLE} WHERE tbl = 'events'").fetchall()[0][0]
        newest = conn.execute("SELECT coalesce(max(revision), 0) FROM events").fetchall()[0][0]
    return int(staged), int(newest)


def event_at_running(daemon, revision: int) -> HighWaterMark:  # type: ignore[no-untyped-def]
    """The chain hash at `revision`, as the daemon exports it."""
    with daemon.channel() as channel:
        records = audit_pb2_grpc.AuditServiceStub(channel).ExportAuditTrail(
            audit_pb2.ExportAuditTrailRequest(start_revision=revision - 1))  # fmt: skip
        record = next(iter(records))
    return HighWaterMark(record.event.revision, record.chain_hash)


def test_a_log_cut_in_half_is_refused_naming_both_revisions(daemon_factory, short_dir):
    daemon = register_and_crash(daemon_factory, 50, settled=True)
    mark = acknowledged(daemon.data_dir)
    wal = daemon.data_dir / WAL
    with wal.open("r+b") as handle:
        handle.truncate(wal.stat().st_size // 2)
    before = files_in(daemon.data_dir)

    result = start_refused(daemon.data_dir, short_dir / "s.sock")

    line = assert_refused_in_one_line(result, f"but revision {mark.revision} was acknowledged", "studbook restore")
    held = re.search(r"ends at revision (\d+)", line)
    assert held and 0 < int(held[1]) < mark.revision, "some of the log was replayed, not all of it"
    assert mark.revision > 50
    assert files_in(daemon.data_dir) == before, "nothing deleted, nothing checkpointed"


def test_a_lost_log_is_refused(daemon_factory, short_dir):
    daemon = register_and_crash(daemon_factory, 10)
    (daemon.data_dir / WAL).unlink()
    before = files_in(daemon.data_dir)

    result = start_refused(daemon.data_dir, short_dir / "s.sock")

    assert_refused_in_one_line(result, f"revision {acknowledged(daemon.data_dir).revision} was acknowledged")
    assert files_in(daemon.data_dir) == before


def test_a_lost_catalog_and_log_are_refused_while_the_mark_remembers(daemon_factory, short_dir):
    daemon = register_and_crash(daemon_factory, 10)
    (daemon.data_dir / CATALOG).unlink()
    (daemon.data_dir / WAL).unlink()

    result = start_refused(daemon.data_dir, short_dir / "s.sock")

    assert_refused_in_one_line(result, "missing", f"revision {acknowledged(daemon.data_dir).revision}", MARK)
    assert not (daemon.data_dir / CATALOG).exists(), "no empty catalog was created in its place"


def test_a_crash_while_the_newest_events_are_staged_starts_with_everything(daemon_factory):
    daemon = register_and_crash(daemon_factory, 5)
    mark = acknowledged(daemon.data_dir)
    staged, in_table = staged_events(daemon.data_dir)
    assert staged > 0 and in_table < mark.revision, "the acknowledged head is only staged"

    restarted = daemon_factory()

    assert len(versions_of(restarted, "fraud")) == 5
    assert event_at_running(restarted, mark.revision) == mark
    with restarted.channel() as channel:
        verdict = audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditTrail(audit_pb2.VerifyAuditTrailRequest())
    assert verdict.intact and verdict.checked == mark.revision


def test_a_trail_rewritten_at_the_mark_is_refused(daemon_factory, short_dir):
    daemon = register_and_crash(daemon_factory, 5)
    revision = acknowledged(daemon.data_dir).revision
    settle_file(daemon.data_dir / CATALOG)  # as a start would: the event at the mark is in its table
    with duckdb.connect(str(daemon.data_dir / CATALOG)) as conn:
        conn.execute("UPDATE events SET chain_hash = repeat('f', 64) WHERE revision = ?", [revision])

    result = start_refused(daemon.data_dir, short_dir / "s.sock")

    assert_refused_in_one_line(result, f"up to {revision}", f"revision {revision} is not the one acknowledged")


def test_a_staged_trail_rewritten_at_the_mark_is_refused(daemon_factory, short_dir):
    # One registration, which creates its model too: a commit of more than registrations is
    # committed into the catalog, its rows staged (a journaled one: tests/integration/test_journal.py).
    daemon = register_and_crash(daemon_factory, 1)
    mark = acknowledged(daemon.data_dir)
    with duckdb.connect(str(daemon.data_dir / CATALOG)) as conn:
        changed = conn.execute(f"UPDATE {staging.TABLE} SET doc = replace(doc, ?, repeat('f', 64)) "
                               "WHERE tbl = 'events' AND contains(doc, ?)", [mark.chain_hash] * 2).fetchall()  # fmt: skip
    assert changed == [(1,)], "the event at the mark was staged"
    before = files_in(daemon.data_dir)

    result = start_refused(daemon.data_dir, short_dir / "s.sock")

    assert_refused_in_one_line(result, f"up to {mark.revision}",
                               f"revision {mark.revision} is not the one acknowledged")  # fmt: skip
    assert files_in(daemon.data_dir) == before, "nothing settled, nothing deleted"


def test_a_catalog_from_before_marks_starts_and_gets_one(daemon_factory):
    daemon = register_and_crash(daemon_factory, 5)
    head = acknowledged(daemon.data_dir)
    (daemon.data_dir / MARK).unlink()

    restarted = daemon_factory()

    assert len(versions_of(restarted, "fraud")) == 5
    assert acknowledged(restarted.data_dir) == head


def test_a_catalog_ahead_of_its_mark_starts_and_moves_it_up(daemon_factory):
    daemon = register_and_crash(daemon_factory, 10)
    head = acknowledged(daemon.data_dir)
    (daemon.data_dir / MARK).unlink()
    # As after a crash between a commit and its mark, three commits behind.
    MarkFile(daemon.data_dir / MARK).write(event_at(daemon.data_dir, head.revision - 3))

    restarted = daemon_factory()

    assert len(versions_of(restarted, "fraud")) == 10
    assert acknowledged(restarted.data_dir) == head


def test_each_acknowledged_write_moves_the_mark(daemon):
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "fraud")
        first = acknowledged(daemon.data_dir)
        register(api, "fraud")
        second = acknowledged(daemon.data_dir)

    assert second.revision == first.revision + 1
    assert event_at_running(daemon, second.revision) == second
