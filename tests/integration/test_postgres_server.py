"""The throwaway PostgreSQL server the tests run against: a database per test, loopback only,
never as root, and gone once stopped."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from support.postgres import TEMPLATE, PostgresDatabase, PostgresServer, start_postgres, stop_postgres


@pytest.mark.parametrize("writer", ["first", "second"])
def test_each_test_gets_a_catalog_of_its_own(writer: str, postgres_catalog: PostgresDatabase) -> None:
    # Whichever of the two runs second would find the other's model if they shared a database.
    with postgres_catalog.connect() as conn:
        before = conn.execute("SELECT name FROM models").fetchall()
        conn.execute("INSERT INTO models (name, stages, create_time, update_time, revision) "
                     "VALUES (%s, '[]', now(), now(), 1)", [writer])  # fmt: skip

    assert before == []
    assert postgres_catalog.name != TEMPLATE


def test_a_database_is_dropped_even_while_a_connection_holds_it(postgres_server: PostgresServer) -> None:
    database = postgres_server.create_database(template=TEMPLATE)
    held = database.connect()
    try:
        postgres_server.drop_database(database.name)

        assert database.name not in postgres_server.databases()
        assert TEMPLATE in postgres_server.databases()
    finally:
        held.close()


def test_the_server_listens_on_loopback_only_with_durability_off(postgres_server: PostgresServer) -> None:
    with postgres_server.connect() as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('listen_addresses', 'fsync', 'synchronous_commit', 'full_page_writes', 'unix_socket_directories')"
        ).fetchall())  # fmt: skip

    assert settings == {"listen_addresses": "127.0.0.1", "fsync": "off", "synchronous_commit": "off",
                        "full_page_writes": "off", "unix_socket_directories": str(postgres_server.root)}  # fmt: skip


def test_the_server_never_runs_as_root(postgres_server: PostgresServer) -> None:
    owner = Path(f"/proc/{postgres_server.process.pid}").stat().st_uid

    assert owner != 0
    assert owner == os.geteuid() or os.geteuid() == 0


def test_a_stopped_server_is_gone_with_its_folder() -> None:
    server = start_postgres()
    with server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    stop_postgres(server)

    assert server.process.poll() is not None
    assert not server.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url(), connect_timeout=2)
