"""The catalog and its writer against a real DuckDB file: migrations and group commit."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from studbook.daemon.domain.errors import AlreadyExists, RegistryError
from studbook.daemon.domain.model import Model
from studbook.daemon.store.catalog import SCHEMA_VERSION, Catalog, StoreError, Transaction
from studbook.daemon.store.writer import Writer

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def add_model(name: str):  # type: ignore[no-untyped-def]
    def operation(tx: Transaction) -> str:
        tx.insert_model(Model(name=name, create_time=NOW, update_time=NOW), "")
        return name

    return operation


def names(catalog: Catalog) -> list[str]:
    return sorted(row[0] for row in catalog.query("SELECT name FROM models"))


@pytest.fixture
def catalog(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Catalog(tmp_path / "catalog.duckdb")
    yield opened
    opened.close()


def test_a_new_catalog_is_created_at_the_current_schema_version(catalog: Catalog) -> None:
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


def test_concurrent_writes_share_commits(catalog: Catalog) -> None:
    gate, running = threading.Event(), threading.Event()
    committed: list[list[object]] = []
    writer = Writer(catalog, committed.append, lambda: None)

    def blocker(tx: Transaction) -> None:
        running.set()
        gate.wait(5)  # holds the writer so the next writes queue up behind it

    writer.start()
    writer.submit(blocker)
    running.wait(5)
    futures = [writer.submit(add_model(f"m{i}")) for i in range(20)]
    gate.set()
    results = [f.result(10) for f in futures]
    writer.stop()

    assert results == [f"m{i}" for i in range(20)]
    assert names(catalog) == sorted(results)
    assert writer.commits == 2, "the queued writes went into one transaction"


def test_a_refused_write_does_not_take_its_neighbours_down(catalog: Catalog) -> None:
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


def test_a_failing_statement_rolls_back_the_group_and_the_rest_commit_alone(catalog: Catalog) -> None:
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


def test_writes_after_stop_are_refused(catalog: Catalog) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)
    writer.start()
    writer.stop()

    with pytest.raises(RegistryError) as raised:
        writer.submit(add_model("late")).result(1)

    assert raised.value.reason == "SHUTTING_DOWN"


def test_a_caller_that_gives_up_does_not_stop_the_writer(catalog: Catalog) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)
    gate, running = threading.Event(), threading.Event()

    def blocker(tx: Transaction) -> None:
        running.set()
        gate.wait(5)

    writer.start()
    writer.submit(blocker)
    running.wait(5)
    abandoned = writer.submit(add_model("abandoned"))
    assert abandoned.cancel()  # e.g. the RPC was cancelled while its write was queued
    gate.set()

    assert writer.submit(add_model("later")).result(10) == "later"
    writer.stop()
    assert names(catalog) == ["abandoned", "later"], "a write taken up is done, waited for or not"


def test_a_snapshot_is_one_revision_while_writes_go_on_and_opens_as_a_catalog(catalog: Catalog, tmp_path: Path) -> None:
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


def test_rows_are_written_right_while_a_catalog_copy_is_attached(catalog: Catalog, tmp_path: Path) -> None:
    # A copy being written is attached to the same database: the writer must still see its own
    # tables' columns only (a table's insert statement is built on its first use).
    catalog.query(f"ATTACH '{tmp_path / 'copy.duckdb'}' AS copy")
    catalog.query("COPY FROM DATABASE catalog TO copy")

    tx = catalog.transaction()
    tx.begin()
    add_model("while-attached")(tx)
    tx.commit()

    assert names(catalog) == ["while-attached"]
