"""The catalog and its writer against a real DuckDB file: migrations, group commit, a full disk; the mark file."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import fill
from studbook.daemon.domain.audit import HighWaterMark
from studbook.daemon.domain.errors import AlreadyExists, RegistryError
from studbook.daemon.domain.model import Model
from studbook.daemon.store import engine
from studbook.daemon.store.catalog import SCHEMA_VERSION, Catalog, StoreError, StoreFull
from studbook.daemon.store.interface import Store
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.mark import SLOT_SIZE, MarkDamaged, MarkFile, decode
from studbook.daemon.store.writer import Writer

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def add_model(name: str):  # type: ignore[no-untyped-def]
    def operation(tx: Transaction) -> str:
        tx.insert_model(Model(name=name, create_time=NOW, update_time=NOW), "")
        return name

    return operation


def names(catalog: Store) -> list[str]:
    return sorted(row[0] for row in catalog.query("SELECT name FROM models"))


def hold(writer: Writer) -> threading.Event:
    """Starts `writer` busy with a write that waits for the gate returned: whatever is submitted
    until the gate is set queues up behind it."""
    gate, running = threading.Event(), threading.Event()

    def blocker(tx: Transaction) -> None:
        running.set()
        gate.wait(5)

    writer.start()
    writer.submit(blocker)
    running.wait(5)
    return gate


@pytest.fixture
def catalog(store: Store) -> Store:
    """A new catalog on each backend: what these tests say holds for DuckDB and PostgreSQL alike."""
    return store


@pytest.fixture
def duckdb_catalog(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Catalog(tmp_path / "catalog.duckdb")
    yield opened
    opened.close()


def test_a_new_catalog_is_created_at_the_current_schema_version(catalog: Store) -> None:
    assert catalog.meta("schema_version") == str(SCHEMA_VERSION)


def test_reopening_keeps_the_data_and_runs_no_migration_twice(tmp_path: Path) -> None:
    first = Catalog(tmp_path / "c.duckdb")
    tx = first.transaction()
    tx.begin()
    add_model("kept")(tx)
    tx.commit()
    first.close()

    again = Catalog(tmp_path / "c.duckdb")

    assert names(again) == ["kept"]
    again.close()


def test_a_catalog_from_a_newer_studbook_is_refused(tmp_path: Path) -> None:
    Catalog(tmp_path / "c.duckdb").close()
    conn = duckdb.connect(str(tmp_path / "c.duckdb"))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    conn.close()

    with pytest.raises(StoreError) as raised:
        Catalog(tmp_path / "c.duckdb")

    assert raised.value.reason == "SCHEMA_TOO_NEW"


def test_concurrent_writes_share_commits(catalog: Store) -> None:
    committed: list[list[object]] = []
    writer = Writer(catalog, committed.append, lambda: None)
    gate = hold(writer)  # the next writes queue up behind the write it holds
    futures = [writer.submit(add_model(f"m{i}")) for i in range(20)]
    gate.set()
    results = [f.result(10) for f in futures]
    writer.stop()

    assert results == [f"m{i}" for i in range(20)]
    assert names(catalog) == sorted(results)
    assert writer.commits == 2, "the queued writes went into one transaction"


class CostlyCommits:
    """A catalog whose every commit costs `cpu` seconds of the writer's CPU whatever the group's
    size, as a DuckDB group's statements do."""

    def __init__(self, catalog: Catalog, cpu: float) -> None:
        self.catalog, self.cpu = catalog, cpu
        self.location = catalog.location

    def transaction(self) -> Transaction:
        tx = self.catalog.transaction()
        commit = tx.commit

        def costly() -> None:
            until = time.thread_time() + self.cpu
            while time.thread_time() < until:
                pass
            commit()

        tx.commit = costly  # type: ignore[method-assign]
        return tx

    def reopen_if_invalidated(self) -> bool:
        return self.catalog.reopen_if_invalidated()


def test_writers_that_come_back_while_a_group_commits_are_waited_for(duckdb_catalog: Catalog) -> None:
    """Six clients each write, wait for the answer, and come back a little apart (3 ms after
    one another, longer than a pause between two jobs used to be allowed): the writer waits for
    the crowd it expects, up to the CPU a group costs whatever its size (here 20 ms), instead
    of committing whoever came first and making the rest pay for a group of their own."""
    clients, rounds = 6, 12
    writer = Writer(CostlyCommits(duckdb_catalog, 0.020), lambda values: None, lambda: None)  # type: ignore[arg-type]

    def client(index: int) -> None:
        for n in range(rounds):
            writer.submit(add_model(f"c{index}-{n}")).result(30)
            time.sleep(0.003 * index)

    writer.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.stop()

    assert len(names(duckdb_catalog)) == clients * rounds
    # Committing whoever came first made groups of about 3 here.
    assert writer.operations / writer.commits >= clients * 3 / 4, "the clients' writes shared commits"


def test_writes_that_queue_while_a_transaction_waits_to_begin_join_it(duckdb_catalog: Catalog) -> None:
    """On a catalog shared by daemons, beginning waits for the write lock while another daemon
    commits: the writes that come meanwhile share the group that waited, not a later one."""
    waiting, release = threading.Event(), threading.Event()

    class LockedOnce:
        location = duckdb_catalog.location

        def transaction(self) -> Transaction:
            tx = duckdb_catalog.transaction()
            begin = tx.begin

            def locked() -> None:
                if not release.is_set():
                    waiting.set()
                    release.wait(5)  # another daemon's turn
                begin()

            tx.begin = locked  # type: ignore[method-assign]
            return tx

    writer = Writer(LockedOnce(), lambda values: None, lambda: None)  # type: ignore[arg-type]
    writer.start()
    first = writer.submit(add_model("first"))
    assert waiting.wait(5)
    later = [writer.submit(add_model(f"m{i}")) for i in range(10)]
    release.set()
    assert [f.result(10) for f in [first, *later]] == ["first", *(f"m{i}" for i in range(10))]
    writer.stop()

    assert writer.commits == 1, "the writes queued during the wait went into the waiting transaction"
    assert len(names(duckdb_catalog)) == 11


def test_a_refused_write_does_not_take_its_neighbours_down(catalog: Store) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)
    gate = threading.Event()

    def refused(tx: Transaction) -> None:
        raise AlreadyExists("taken", reason="MODEL_EXISTS")

    writer.start()
    writer.submit(lambda tx: gate.wait(5))
    before = writer.submit(add_model("before"))
    bad = writer.submit(refused)
    after = writer.submit(add_model("after"))
    gate.set()

    assert before.result(10) == "before" and after.result(10) == "after"
    with pytest.raises(AlreadyExists):
        bad.result(10)
    writer.stop()
    assert names(catalog) == ["after", "before"]


def test_a_failing_statement_rolls_back_the_group_and_the_rest_commit_alone(catalog: Store) -> None:
    reloads: list[int] = []
    writer = Writer(catalog, lambda _: None, lambda: reloads.append(1))
    gate = threading.Event()

    def broken(tx: Transaction) -> None:
        tx.execute("INSERT INTO no_such_table VALUES (1)")

    writer.start()
    writer.submit(lambda tx: gate.wait(5))
    good = [writer.submit(add_model(f"g{i}")) for i in range(3)]
    bad = writer.submit(broken)
    gate.set()

    assert [f.result(10) for f in good] == ["g0", "g1", "g2"]
    with pytest.raises(RegistryError) as raised:
        bad.result(10)
    writer.stop()
    assert raised.value.reason == "STORE_UNAVAILABLE"
    assert names(catalog) == ["g0", "g1", "g2"]
    assert reloads, "in-memory state is reloaded after a rollback"


def test_writes_after_stop_are_refused(catalog: Store) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)
    writer.start()
    writer.stop()

    with pytest.raises(RegistryError) as raised:
        writer.submit(add_model("late")).result(1)

    assert raised.value.reason == "SHUTTING_DOWN"


def test_a_caller_that_gives_up_does_not_stop_the_writer(catalog: Store) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)
    gate = hold(writer)
    abandoned = writer.submit(add_model("abandoned"))
    assert abandoned.cancel()  # e.g. the RPC was cancelled while its write was queued
    gate.set()

    assert writer.submit(add_model("later")).result(10) == "later"
    writer.stop()
    assert names(catalog) == ["abandoned", "later"], "a write taken up is done, waited for or not"


def test_a_groups_answers_wake_the_event_loop_once(catalog: Store) -> None:
    """Writes submitted from an event loop are answered together, in one call onto the loop a
    group, and each caller gets its own value, or its own refusal."""
    writer = Writer(catalog, lambda _: None, lambda: None)

    def refused(tx: Transaction) -> None:
        raise AlreadyExists("taken", reason="TAKEN")

    async def main() -> tuple[list[object], int]:
        loop = asyncio.get_running_loop()
        wakes: list[threading.Thread] = []
        call_soon_threadsafe = loop.call_soon_threadsafe

        def counted(*args: Any, **kwargs: Any) -> Any:
            wakes.append(threading.current_thread())
            return call_soon_threadsafe(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        futures = [writer.submit_async(add_model(f"a{i}")) for i in range(10)] + [writer.submit_async(refused)]
        gate.set()
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        return outcomes, sum(1 for thread in wakes if thread.name == "studbook-writer")

    gate = hold(writer)
    outcomes, wakes = asyncio.run(main())
    writer.stop()

    assert outcomes[:10] == [f"a{i}" for i in range(10)]
    assert isinstance(outcomes[10], AlreadyExists)
    assert writer.commits == 2, "the ten writes and the refusal queued behind the blocker made one group"
    assert wakes == 1, "the group's eleven answers went onto the loop in one call"


def test_an_async_caller_that_gives_up_does_not_stop_the_writer(catalog: Store) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)

    async def main() -> str:
        abandoned = writer.submit_async(add_model("abandoned"))
        abandoned.cancel()  # the RPC was cancelled while its write was queued
        gate.set()
        return await writer.submit_async(add_model("later"))

    gate = hold(writer)
    assert asyncio.run(main()) == "later"
    writer.stop()
    assert names(catalog) == ["abandoned", "later"], "a write taken up is done, waited for or not"


def test_writes_queued_when_the_writer_stops_are_done_and_answered(catalog: Store) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)
    gate = hold(writer)
    queued = [writer.submit(add_model(f"q{i}")) for i in range(5)]
    stopping = threading.Thread(target=writer.stop)
    stopping.start()
    gate.set()
    stopping.join(10)

    assert [future.result(0) for future in queued] == [f"q{i}" for i in range(5)]
    assert names(catalog) == [f"q{i}" for i in range(5)]


def add_big_model(name: str):  # type: ignore[no-untyped-def]
    def operation(tx: Transaction) -> str:
        tx.insert_model(Model(name=name, description="d" * 2000, create_time=NOW, update_time=NOW), "")
        return name

    return operation


def test_a_commit_whose_checkpoint_meets_a_full_disk_stands_and_the_catalog_is_reopened(small_disk: Path) -> None:
    catalog = Catalog(small_disk / "catalog.duckdb")
    catalog.query("SET wal_autocheckpoint = '64KB'")  # a checkpoint soon, which this disk has no room for
    filler = fill(small_disk, leave=200_000)  # room for the log to grow a little, not for a checkpoint
    writer = Writer(catalog, lambda _: None, lambda: None)
    writer.start()
    acknowledged: list[str] = []
    refusal: RegistryError | None = None

    for i in range(400):
        try:
            acknowledged.append(writer.submit(add_big_model(f"m{i}")).result(30))
        except RegistryError as refused:
            refusal = refused
            break

    assert isinstance(refusal, StoreFull), "the log itself finally ran out of room"
    assert names(catalog) == sorted(acknowledged), "reads answer, with every acknowledged write"
    filler.unlink()
    assert writer.submit(add_model("after")).result(30) == "after"
    writer.stop()
    assert catalog.reopens >= 1, "DuckDB invalidated the connection on the way, and the writer reopened it"
    catalog.close()
    again = Catalog(small_disk / "catalog.duckdb")
    assert names(again) == sorted([*acknowledged, "after"])
    again.close()


def mark(revision: int) -> HighWaterMark:
    return HighWaterMark(revision, f"{revision:064x}")


def test_the_newest_mark_written_is_the_one_read_back(tmp_path: Path) -> None:
    marks = MarkFile(tmp_path / "catalog.hwm")
    assert marks.read() is None, "no mark yet: a catalog from before marks"

    for revision in (1, 2, 3, 4, 5):
        marks.write(mark(revision))
    marks.close()

    assert MarkFile(tmp_path / "catalog.hwm").read() == mark(5)
    assert (tmp_path / "catalog.hwm").stat().st_mode & 0o777 == 0o600


def test_a_torn_mark_write_leaves_the_mark_before_it(tmp_path: Path) -> None:
    path = tmp_path / "catalog.hwm"
    marks = MarkFile(path)
    marks.write(mark(7))
    marks.write(mark(8))
    marks.close()
    data = bytearray(path.read_bytes())
    newest = [decode(bytes(data[i * SLOT_SIZE : (i + 1) * SLOT_SIZE])) for i in (0, 1)].index(mark(8))
    data[newest * SLOT_SIZE + 20 : newest * SLOT_SIZE + 60] = b"\0" * 40  # its write cut halfway
    path.write_bytes(bytes(data))

    assert MarkFile(path).read() == mark(7)


def test_a_mark_without_an_intact_record_is_refused(tmp_path: Path) -> None:
    (tmp_path / "catalog.hwm").write_bytes(b"\xff" * 2 * SLOT_SIZE)

    with pytest.raises(MarkDamaged) as raised:
        MarkFile(tmp_path / "catalog.hwm").read()

    assert "move catalog.hwm aside" in raised.value.message


def test_a_snapshot_is_one_revision_while_writes_go_on_and_opens_as_a_catalog(
    duckdb_catalog: Catalog, tmp_path: Path
) -> None:
    catalog = duckdb_catalog
    writes = threading.Event()
    stop = threading.Event()

    def writer() -> None:
        number = 0
        while not stop.is_set():
            tx = catalog.transaction()
            tx.begin()
            add_model(f"m-{number}")(tx)
            tx.commit()
            number += 1
            writes.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        writes.wait(10)
        snapshot = catalog.snapshot_into(tmp_path / "copy.duckdb")
    finally:
        stop.set()
        thread.join()
    copy = Catalog(tmp_path / "copy.duckdb")
    try:
        copied = names(copy)
    finally:
        copy.close()

    assert copied and set(copied) < set(names(catalog))
    assert snapshot.schema_version == SCHEMA_VERSION
    assert not (tmp_path / "copy.duckdb.wal").exists()


def test_rows_are_written_right_while_a_catalog_copy_is_attached(duckdb_catalog: Catalog, tmp_path: Path) -> None:
    catalog = duckdb_catalog
    # A copy being written is attached to the same database: the writer must still see its own
    # tables' columns only (a table's insert statement is built on its first use).
    catalog.query(f"ATTACH '{tmp_path / 'copy.duckdb'}' AS copy")
    catalog.query(f"COPY FROM DATABASE {engine.DATABASE} TO copy")

    tx = catalog.transaction()
    tx.begin()
    add_model("while-attached")(tx)
    tx.commit()

    assert names(catalog) == ["while-attached"]


def test_migration_6_turns_the_parameters_tag_into_the_format_record(tmp_path: Path) -> None:
    from studbook.daemon.store.catalog import MIGRATIONS, read_version

    path = tmp_path / "c.duckdb"
    conn = duckdb.connect(str(path))
    for migration in MIGRATIONS[:5]:
        conn.execute(migration)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    for number, tags in ((1, '{"format.parameters": "1234", "team": "a"}'), (2, '{"team": "b"}')):
        conn.execute(
            "INSERT INTO versions (model, number, semver, semver_key, change_kind, status, tags, create_time, "
            "update_time, revision) VALUES ('m', ?, '1.0.0', 0, 'initial', 'ready', ?, now(), now(), 1)",
            [number, tags],
        )
    conn.close()

    migrated = Catalog(path)
    first, second = (read_version(migrated.query, "m", n) for n in (1, 2))
    filtered = migrated.query("SELECT number FROM versions WHERE format_parameters > 1000")
    migrated.close()

    assert first is not None and second is not None
    assert first.tags == {"team": "a"} and first.format_info.parameters == 1234
    assert second.tags == {"team": "b"} and second.format_info.parameters == 0
    assert filtered == [(1,)]
