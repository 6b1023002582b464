"""Registrations journaled beside the DuckDB catalog (store/journal.py) are acknowledged as
durably as committed ones: every read, a crash, a restart and a catalog copy see them, each
once; a journal that is damaged, or that belongs to another catalog, stops the catalog from
opening and is left as it is."""

from __future__ import annotations

import shutil
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import start_daemon, start_refused, stop_daemon
from studbook.daemon.domain.audit import GENESIS, chain_hash
from studbook.daemon.domain.model import Event, Metric, Model, ModelVersion
from studbook.daemon.store import engine, staging
from studbook.daemon.store.catalog import Catalog, TableShapes
from studbook.daemon.store.interface import StoreTransaction
from studbook.daemon.store.journal import JournalDamaged, JournalRecord, decode, encode, journal_path
from studbook.daemon.store.mark import MarkFile, mark_path
from studbook.daemon.store.records import StoreError
from studbook.v1 import registry_pb2
from support.rpc import register, stubs
from support.stores import write
from support.waiting import wait_for

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def registration(model: str, number: int, revision: int) -> ModelVersion:
    return ModelVersion(model=model, number=number, semver=f"1.{number}.0", storage_uri=f"s3://b/{model}/{number}",
                        create_time=T0, update_time=T0, revision=revision,
                        metrics=[Metric("auc", number / 100, time=T0)])  # fmt: skip


def registered(tx: StoreTransaction, version: ModelVersion, previous: str) -> str:
    """What a registration writes: its version, metrics, and the event that records it, chained
    onto `previous`; the event's chain hash."""
    tx.insert_version(version)
    tx.insert_metrics(version.model, version.number, version.metrics, version.metrics, replace_summary=False)
    event = Event(version.revision, T0, "version.created", f"models/{version.model}/versions/{version.number}",
                  version.model, "local")  # fmt: skip
    tx.insert_event(event, chain_hash(previous, event))
    return chain_hash(previous, event)


class Registrations:
    """A catalog with one model (revision 1) and versions registered one commit each."""

    def __init__(self, folder: Path, model: str = "fraud") -> None:
        self.path = folder / "catalog.duckdb"
        self.catalog = Catalog(self.path, evict_after_s=None)
        self.revision = 1
        created = Event(1, T0, "model.created", f"models/{model}", model, "local")
        self.head = chain_hash(GENESIS, created)
        write(self.catalog, lambda tx: (tx.insert_model(Model(name=model, create_time=T0, update_time=T0), ""),
                                        tx.insert_event(created, self.head)))  # fmt: skip
        self.numbers: list[int] = []

    def register(self, count: int = 1) -> None:
        for _ in range(count):
            number, self.revision = len(self.numbers) + 1, self.revision + 1
            self.commit(registration("fraud", number, self.revision))
            self.numbers.append(number)

    def commit(self, version: ModelVersion) -> None:
        heads: list[str] = []
        write(self.catalog, lambda tx: heads.append(registered(tx, version, self.head)))
        self.head = heads[-1]

    def crash(self) -> None:
        """Gone without settling anything, as a kill -9 leaves it."""
        self.catalog._settler.stop()
        self.catalog._conn.close()
        assert self.catalog._staging.journal is not None
        self.catalog._staging.journal.close()

    def journaled(self) -> int:
        return len(decode(journal_path(self.path).read_bytes())[0])


def in_table(run: Registrations) -> int:
    """Versions in the catalog's own table, read without settling what is staged or journaled."""
    return int(engine.cursor(run.catalog._conn).execute("SELECT count(*) FROM versions").fetchall()[0][0])


def versions(path: Path) -> list[tuple[int, int]]:
    """(number, revision) of every version row in a catalog no process has open."""
    with duckdb.connect(str(path), read_only=True) as conn:
        return sorted(conn.execute("SELECT number, revision FROM versions").fetchall())


@pytest.fixture
def run(tmp_path: Path) -> Registrations:
    return Registrations(tmp_path)


def test_a_registration_goes_to_the_journal_and_joins_the_catalog_when_read(run: Registrations) -> None:
    run.register(3)
    assert run.journaled() == 3
    assert run.catalog.query("SELECT number FROM versions ORDER BY number") == [(1,), (2,), (3,)]
    assert run.journaled() == 0
    assert run.catalog.query("SELECT version_count, latest_version FROM models") == [(3, 3)]
    run.catalog.close()


def test_journaled_registrations_settle_in_the_background_once_enough_are_waiting(run: Registrations) -> None:
    run.register(staging.MOST_STAGED_COMMITS - 1)
    assert in_table(run) == 0
    run.register(1)

    wait_for(lambda: in_table(run) == staging.MOST_STAGED_COMMITS, "the settle in the background")
    wait_for(lambda: run.journaled() == 0, "the journal emptied, as nothing was journaled meanwhile")
    assert run.catalog.query("SELECT version_count, latest_version FROM models") == [(staging.MOST_STAGED_COMMITS,) * 2]
    run.catalog.close()


class PausedSettles:
    """Holds every settle that does not run in a write transaction inside its own, after it
    took in the journal's records, until `go` lets it commit."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inside, self.go = threading.Semaphore(0), threading.Semaphore(0)
        settle = staging.settle_staged

        def paused(conn: duckdb.DuckDBPyConnection, shapes: TableShapes) -> None:
            self.inside.release()
            assert self.go.acquire(timeout=60)
            settle(conn, shapes)

        monkeypatch.setattr(staging, "settle_staged", paused)

    def entered(self) -> bool:
        return self.inside.acquire(timeout=30)


def test_registrations_journaled_during_a_settle_wait_for_the_next_and_outlive_a_crash_between(
    run: Registrations, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A settle in the background holds the staging lock for its whole transaction; a commit
    that goes to the journal does not wait for it. Its records stay on disk behind the ones
    taken in until the journal empties, and an open after a crash takes in only the newer."""
    settles = PausedSettles(monkeypatch)
    run.register(staging.MOST_STAGED_COMMITS)
    assert settles.entered(), "enough journaled commits start a settle"

    meanwhile = threading.Thread(target=run.register, args=(3,))
    meanwhile.start()
    meanwhile.join(timeout=30)
    assert not meanwhile.is_alive(), "a journaled commit waited for the settle under way"
    settles.go.release()
    assert settles.entered(), "the commits journaled meanwhile start the next settle"

    assert in_table(run) == staging.MOST_STAGED_COMMITS
    assert run.journaled() == staging.MOST_STAGED_COMMITS + 3
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for path in (run.path, run.path.with_name(run.path.name + ".wal"), journal_path(run.path)):
        if path.exists():
            shutil.copy(path, crashed / path.name)  # as a kill -9 would leave the files now
    settles.go.release()
    monkeypatch.undo()
    run.catalog.close()

    Catalog(crashed / run.path.name, evict_after_s=None).close()

    everything = [(n, n + 1) for n in range(1, staging.MOST_STAGED_COMMITS + 4)]
    assert versions(crashed / run.path.name) == everything
    assert versions(run.path) == everything


def test_the_writer_settles_itself_when_the_journal_is_full_and_the_background_cannot(
    run: Registrations, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(conn: duckdb.DuckDBPyConnection, shapes: TableShapes) -> None:
        raise duckdb.IOException("IO Error: No space left on device")

    monkeypatch.setattr(staging, "settle_staged", failing)
    run.register(staging.MOST_JOURNALED + 5)

    assert run.catalog._staging.commits < staging.MOST_JOURNALED
    assert in_table(run) == staging.MOST_JOURNALED + 1  # the commit that found it full took them in
    assert "could not be settled in the background" in caplog.text
    monkeypatch.undo()
    assert run.catalog.query("SELECT count(*) FROM versions") == [(staging.MOST_JOURNALED + 5,)]
    run.catalog.close()


def test_what_a_crash_left_in_the_journal_is_there_after_the_next_open(run: Registrations) -> None:
    run.register(5)
    run.crash()

    reopened = Catalog(run.path, evict_after_s=None)
    try:
        assert journal_path(run.path).read_bytes() == b""
        assert reopened.query("SELECT number, revision FROM versions ORDER BY number") == [
            (n, n + 1) for n in range(1, 6)
        ]
        assert reopened.query("SELECT max(revision) FROM events") == [(6,)]
    finally:
        reopened.close()


def test_records_already_taken_in_before_a_crash_are_not_taken_twice(run: Registrations) -> None:
    """A crash between the commit that took the journal in and emptying it: the records are
    still on disk, and the catalog holds them."""
    run.register(4)
    left = journal_path(run.path).read_bytes()
    run.catalog.query("SELECT count(*) FROM versions")  # takes them in and empties the journal
    run.register(2)
    run.crash()
    journal_path(run.path).write_bytes(left + journal_path(run.path).read_bytes())

    Catalog(run.path, evict_after_s=None).close()

    assert versions(run.path) == [(n, n + 1) for n in range(1, 7)]


def test_a_record_cut_short_by_a_crash_is_left_out(run: Registrations) -> None:
    run.register(2)
    run.crash()
    whole = journal_path(run.path).read_bytes()
    journal_path(run.path).write_bytes(whole + whole[: len(whole) // 2 - 7])

    Catalog(run.path, evict_after_s=None).close()

    assert versions(run.path) == [(1, 2), (2, 3)]
    assert journal_path(run.path).read_bytes() == b""


def test_a_damaged_journal_stops_the_open_and_is_left_as_it_is(run: Registrations) -> None:
    run.register(2)
    run.crash()
    damaged = bytearray(journal_path(run.path).read_bytes())
    damaged[20] ^= 0xFF
    journal_path(run.path).write_bytes(bytes(damaged))

    with pytest.raises(JournalDamaged, match="damaged"):
        Catalog(run.path, evict_after_s=None)

    assert journal_path(run.path).read_bytes() == bytes(damaged)


def test_a_journal_beside_another_catalog_stops_the_open_and_is_left_as_it_is(run: Registrations,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    run.register(3)
    run.crash()
    journal = journal_path(run.path).read_bytes()
    (tmp_path / "other").mkdir()
    other = Registrations(tmp_path / "other", model="churn")  # another registry, at revision 1 too
    other.catalog.close()
    shutil.copy(other.path, run.path)
    (run.path.with_name(run.path.name + ".wal")).unlink(missing_ok=True)

    with pytest.raises(JournalDamaged, match="does not continue its catalog's audit trail"):
        Catalog(run.path, evict_after_s=None)

    assert journal_path(run.path).read_bytes() == journal
    assert versions(run.path) == []


def test_a_failed_append_refuses_the_commit_and_the_next_one_goes_on(run: Registrations,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    run.register(1)

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("studbook.daemon.store.journal.os.fdatasync", failing)
    with pytest.raises(StoreError, match="cannot write the journal"):
        run.commit(registration("fraud", 2, 3))
    monkeypatch.undo()
    run.commit(registration("fraud", 2, 3))
    run.crash()

    Catalog(run.path, evict_after_s=None).close()

    assert versions(run.path) == [(1, 2), (2, 3)]


def test_a_backup_snapshot_holds_what_is_journaled(run: Registrations, tmp_path: Path) -> None:
    run.register(3)
    snapshot = run.catalog.snapshot_into(tmp_path / "backup.duckdb")
    assert snapshot.versions == 3
    assert versions(tmp_path / "backup.duckdb") == [(1, 2), (2, 3), (3, 4)]
    run.catalog.close()


# -- through the daemon ----------------------------------------------------------------------


def registered_then_killed(data: Path, socket: Path, count: int) -> list[str]:
    """`count` versions registered through a daemon, then kill -9: the newest are journaled."""
    daemon = start_daemon(data, socket)
    try:
        with daemon.channel() as channel:
            api = stubs(channel)
            answered = [register(api, "fraud").name for _ in range(count)]
        daemon.kill(signal.SIGKILL)
    finally:
        stop_daemon(daemon)
    assert decode(journal_path(data / "catalog.duckdb").read_bytes())[0], "the crash left journaled registrations"
    return answered


def test_a_daemon_killed_with_journaled_registrations_starts_with_all_of_them(short_dir: Path) -> None:
    """Its mark names a revision only the journal holds: start-up's check must look there."""
    data, socket = short_dir / "data", short_dir / "s.sock"
    answered = registered_then_killed(data, socket, 6)

    daemon = start_daemon(data, socket)
    try:
        with daemon.channel() as channel:
            listed = stubs(channel).versions.ListModelVersions(
                registry_pb2.ListModelVersionsRequest(parent="models/fraud", page_size=100)).versions  # fmt: skip
        assert sorted(v.name for v in listed) == sorted(answered)
    finally:
        stop_daemon(daemon)


def test_a_journaled_trail_rewritten_at_the_mark_is_refused(short_dir: Path) -> None:
    """A record rewritten whole (its checksum made to match) still differs from the mark."""
    data, socket = short_dir / "data", short_dir / "s.sock"
    registered_then_killed(data, socket, 4)
    mark = MarkFile(mark_path(data / "catalog.duckdb")).read()
    assert mark is not None
    path = journal_path(data / "catalog.duckdb")
    records, _ = decode(path.read_bytes())
    forged = "f" * 64
    rewritten = [JournalRecord([(t, c, doc.replace(mark.chain_hash, forged), ids) for t, c, doc, ids in record.rows],
                               [(r, forged if h == mark.chain_hash else h) for r, h in record.events])
                 for record in records]  # fmt: skip
    assert rewritten != records, "the event at the mark is journaled"
    path.write_bytes(b"".join(encode(record) for record in rewritten))
    before = path.read_bytes()

    refused = start_refused(data, socket)

    assert refused.returncode != 0
    assert f"revision {mark.revision} is not the one acknowledged" in refused.stderr, refused.stderr
    assert path.read_bytes() == before


def test_a_daemon_refuses_a_catalog_whose_journal_is_damaged(short_dir: Path) -> None:
    data, socket = short_dir / "data", short_dir / "s.sock"
    registered_then_killed(data, socket, 3)
    path = journal_path(data / "catalog.duckdb")
    damaged = bytearray(path.read_bytes())
    damaged[13] ^= 0xFF
    path.write_bytes(bytes(damaged))

    refused = start_refused(data, socket)

    assert refused.returncode != 0
    assert "journal" in refused.stderr and "damaged" in refused.stderr, refused.stderr
    assert path.read_bytes() == bytes(damaged)


def test_a_daemon_refuses_a_missing_catalog_whose_journal_holds_registrations(short_dir: Path) -> None:
    data, socket = short_dir / "data", short_dir / "s.sock"
    data.mkdir(mode=0o700)
    path = journal_path(data / "catalog.duckdb")
    path.write_bytes(b"left behind")

    refused = start_refused(data, socket)

    assert refused.returncode != 0 and "missing but its journal" in refused.stderr, refused.stderr
    assert path.read_bytes() == b"left behind" and not (data / "catalog.duckdb").exists()
