"""What only the PostgreSQL catalog has to say: a server that is not there, a connection that is
lost, several daemons writing to one catalog, and what it refuses to do."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import pytest
from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.domain.model import Event, Model
from studbook.daemon.store.interface import StoreTransaction
from studbook.daemon.store.postgres.catalog import PostgresCatalog
from studbook.daemon.store.records import StoreError
from studbook.daemon.store.writer import Writer
from support.cutting_proxy import CuttingProxy
from support.net import free_port
from support.postgres import PostgresDatabase

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def add_model(name: str):  # type: ignore[no-untyped-def]
    def operation(tx: StoreTransaction) -> str:
        tx.insert_model(Model(name=name, create_time=NOW, update_time=NOW), "")
        return name

    return operation


@pytest.fixture
def catalog(postgres_catalog: PostgresDatabase):  # type: ignore[no-untyped-def]
    opened = PostgresCatalog(postgres_catalog.url)
    yield opened
    opened.close()


def test_a_server_that_is_not_there_is_unavailable_with_a_reason_that_says_so() -> None:
    with pytest.raises(StoreError) as raised:
        PostgresCatalog(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/catalog")

    assert raised.value.reason == "POSTGRES_UNREACHABLE"
    assert "PostgreSQL is unreachable" in raised.value.message
    assert "secret" not in raised.value.message, "the password never appears in a message"


def test_reopening_keeps_the_data_and_the_catalog_id(postgres_catalog: PostgresDatabase) -> None:
    first = PostgresCatalog(postgres_catalog.url)
    identity = first.identity()
    tx = first.transaction()
    tx.begin()
    add_model("kept")(tx)
    tx.commit()
    first.close()

    again = PostgresCatalog(postgres_catalog.url)
    try:
        assert [row[0] for row in again.query("SELECT name FROM models")] == ["kept"]
        assert again.identity() == identity
    finally:
        again.close()


def test_times_and_json_read_back_as_the_duckdb_catalog_gives_them(catalog: PostgresCatalog) -> None:
    tx = catalog.transaction()
    tx.begin()
    tx.insert_model(Model(name="m", create_time=NOW, update_time=NOW, tags={"b": "1", "a": "2"}), "")
    tx.commit()

    (model,) = catalog.load_models()

    assert model.create_time == NOW and model.create_time.utcoffset() is not None
    assert model.tags == {"a": "2", "b": "1"}


def test_a_lost_connection_fails_one_write_and_the_writer_connects_again(
    catalog: PostgresCatalog, postgres_catalog: PostgresDatabase
) -> None:
    writer = Writer(catalog, lambda _: None, lambda: None)
    writer.start()
    try:
        assert writer.submit(add_model("before")).result(10) == "before"
        with postgres_catalog.connect() as admin:  # as a server restart or a dropped network would
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(RegistryError) as raised:
            writer.submit(add_model("lost")).result(10)
        assert raised.value.reason in ("POSTGRES_UNREACHABLE", "STORE_UNAVAILABLE")
        assert writer.submit(add_model("after")).result(10) == "after"
    finally:
        writer.stop()
    assert sorted(row[0] for row in catalog.query("SELECT name FROM models")) == ["after", "before"]


class Daemon:
    """What a daemon keeps of a catalog for its writes: the revision it numbers events from,
    reloaded when its writer rolls back (as the daemon's WriterState is)."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self.catalog = PostgresCatalog(url)
        self.revision = self.catalog.max_revision()
        self.writer = Writer(self.catalog, lambda _: None, self.reload)
        self.reloads = 0

    def reload(self) -> None:
        self.reloads += 1
        self.revision = self.catalog.max_revision()

    def write(self, tx: StoreTransaction) -> int:
        self.revision += 1
        tx.insert_event(Event(self.revision, NOW, "test", self.name, "", "t"), "")
        return self.revision


def test_a_daemon_whose_state_is_stale_reloads_it_and_writes_after_the_other(
    postgres_catalog: PostgresDatabase,
) -> None:
    first, second = Daemon(postgres_catalog.url, "first"), Daemon(postgres_catalog.url, "second")
    try:
        first.writer.start()
        second.writer.start()
        assert first.writer.submit(first.write).result(10) == 1
        # `second` still believes the catalog is at revision 0.
        assert second.writer.submit(second.write).result(10) == 2
    finally:
        for daemon in (first, second):
            daemon.writer.stop()
            daemon.catalog.close()
    assert (first.reloads, second.reloads) == (0, 1)


def test_two_daemons_on_one_catalog_commit_every_revision_once_and_in_order(
    postgres_catalog: PostgresDatabase,
) -> None:
    """Each daemon numbers its events from its in-memory revision; a daemon whose state is stale
    (the other one committed meanwhile) reloads it and runs its group again."""
    daemons = [Daemon(postgres_catalog.url, f"daemon/{i}") for i in range(2)]
    start = threading.Barrier(len(daemons))
    futures: dict[str, list[Future[int]]] = {d.name: [] for d in daemons}

    def submit_all(daemon: Daemon) -> None:
        start.wait(5)  # both at once, so their transactions interleave
        for _ in range(30):
            futures[daemon.name].append(daemon.writer.submit(daemon.write))

    threads = [threading.Thread(target=submit_all, args=(d,)) for d in daemons]
    try:
        for daemon in daemons:
            daemon.writer.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        revisions = {name: [f.result(30) for f in found] for name, found in futures.items()}
    finally:
        for daemon in daemons:
            daemon.writer.stop()
            daemon.catalog.close()

    assert sorted(r for found in revisions.values() for r in found) == list(range(1, 61))
    with postgres_catalog.connect() as conn:
        stored = conn.execute("SELECT revision, subject FROM events ORDER BY revision").fetchall()
    assert [row[0] for row in stored] == list(range(1, 61))
    for name, found in revisions.items():
        assert found == sorted(found), "a daemon's own writes keep the order it submitted them in"
        assert {r for r, subject in stored if subject == name} == set(found)


def test_a_backup_of_a_postgresql_catalog_is_refused_with_what_to_do_instead(
    catalog: PostgresCatalog, tmp_path: Path
) -> None:
    with pytest.raises(StoreError) as raised:
        catalog.snapshot_into(tmp_path / "copy.duckdb")

    assert raised.value.reason == "BACKUP_UNSUPPORTED"
    assert "pg_dump" in raised.value.message


@pytest.fixture
def proxy(postgres_catalog: PostgresDatabase) -> Iterator[CuttingProxy]:
    cutting = CuttingProxy(postgres_catalog.server.port)
    yield cutting
    cutting.close()


def test_a_commit_that_landed_while_its_connection_failed_is_answered_as_done(
    proxy: CuttingProxy, postgres_catalog: PostgresDatabase
) -> None:
    daemon = Daemon(proxy.url(postgres_catalog.name), "d")
    daemon.writer.start()
    try:
        assert daemon.writer.submit(daemon.write).result(10) == 1
        proxy.arm("after")
        assert daemon.writer.submit(daemon.write).result(10) == 2, "the answer was lost, the write stands"
        assert proxy.cut.is_set()
        assert daemon.writer.submit(daemon.write).result(10) == 3, "the writer connected again"
    finally:
        daemon.writer.stop()
        daemon.catalog.close()
    assert daemon.reloads == 0, "nothing to reload: the state already held the commit"
    with postgres_catalog.connect() as conn:
        assert [r[0] for r in conn.execute("SELECT revision FROM events ORDER BY revision").fetchall()] == [1, 2, 3]


def test_a_commit_lost_on_the_way_is_refused_and_the_next_write_takes_its_revision(
    proxy: CuttingProxy, postgres_catalog: PostgresDatabase
) -> None:
    daemon = Daemon(proxy.url(postgres_catalog.name), "d")
    daemon.writer.start()
    try:
        assert daemon.writer.submit(daemon.write).result(10) == 1
        proxy.arm("before")
        with pytest.raises(RegistryError) as raised:
            daemon.writer.submit(daemon.write).result(10)
        assert proxy.cut.is_set()
        assert daemon.writer.submit(daemon.write).result(10) == 2
    finally:
        daemon.writer.stop()
        daemon.catalog.close()
    assert raised.value.reason == "POSTGRES_UNREACHABLE"
    with postgres_catalog.connect() as conn:
        assert [r[0] for r in conn.execute("SELECT revision FROM events ORDER BY revision").fetchall()] == [1, 2]


def test_a_database_that_does_not_exist_is_refused_with_how_to_make_it(postgres_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreError) as raised:
        PostgresCatalog(postgres_server.url("no_such_database"))

    assert raised.value.reason == "POSTGRES_NO_DATABASE"
    assert "createdb" in raised.value.message


def test_the_catalog_goes_into_the_schema_the_url_names(postgres_empty: PostgresDatabase) -> None:
    with postgres_empty.connect() as conn:
        conn.execute("CREATE SCHEMA registry")
    catalog = PostgresCatalog(f"{postgres_empty.url}?options=-csearch_path%3Dregistry")
    try:
        tx = catalog.transaction()
        tx.begin()
        tx.insert_model(Model(name="m", create_time=NOW, update_time=NOW), "")
        tx.commit()
        (model,) = catalog.load_models()
    finally:
        catalog.close()

    assert model.create_time == NOW
    with postgres_empty.connect() as conn:
        schemas = {row[0] for row in conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name IN ('models', 'meta')").fetchall()}  # fmt: skip
    assert schemas == {"registry"}


def test_a_login_the_server_refuses_says_to_check_the_user_and_password(postgres_catalog: PostgresDatabase) -> None:
    port = postgres_catalog.server.port
    with pytest.raises(StoreError) as raised:
        PostgresCatalog(f"postgresql://no_such_user:secret@127.0.0.1:{port}/{postgres_catalog.name}")

    assert raised.value.reason == "POSTGRES_LOGIN_REFUSED"
    assert "secret" not in raised.value.message
