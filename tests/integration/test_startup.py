"""Start-up never destroys or hides acknowledged data: what it cannot open as it is, it refuses
in one line that says what to do, and it leaves every file as it found it."""

from __future__ import annotations

import signal
from pathlib import Path

import duckdb

from conftest import start_refused
from support.rpc import register, stubs
from studbook.v1 import registry_pb2

CATALOG = "catalog.duckdb"
WAL = "catalog.duckdb.wal"


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file of a data dir and its bytes; the lock only ever holds the last daemon's pid."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "daemon.lock"}


def register_and_crash(daemon_factory, count: int):  # type: ignore[no-untyped-def]
    """Registers `count` versions, then kill -9: every one of them is in the write-ahead log only."""
    daemon = daemon_factory()
    with daemon.channel() as channel:
        api = stubs(channel)
        for i in range(count):
            register(api, "fraud", storage_uri=f"s3://b/{i}")
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
