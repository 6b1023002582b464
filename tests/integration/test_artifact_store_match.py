"""A daemon refuses to start on an artifact store that does not hold its catalog's files.

Started on the wrong store (a forgotten `--artifact-store`, a second daemon on a shared
PostgreSQL catalog with a store of its own), a daemon would answer "missing" for every kept
file, and a verify would mark sound versions corrupt. It says so in one line instead, and
starts on the right store as before.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import start_daemon, stop_daemon
from studbook.client.clients import Client
from support.files import write_tree
from support.postgres import PostgresDatabase


def start_refused(data: Path, socket: Path, *extra: str) -> str:
    """What a daemon that must refuse to start said; one that starts anyway is stopped, and fails the test."""
    try:
        daemon = start_daemon(data, socket, *extra)
    except RuntimeError as refusal:
        return str(refusal)
    stop_daemon(daemon)
    raise AssertionError(f"the daemon started on {extra}")


def register_kept(address: str, source: Path, model: str = "kept") -> None:
    with Client(address, timeout=60) as client:
        assert client.register(model, path=source, environment=False, git=False).kept


def data_dir_with_a_kept_version(short_dir: Path) -> Path:
    """A data dir whose daemon (stopped now) kept one version's files in its default store."""
    data = short_dir / "data"
    daemon = start_daemon(data, short_dir / "s.sock")
    try:
        register_kept(daemon.address, write_tree(short_dir / "src", {"w.bin": b"weights"}))
    finally:
        stop_daemon(daemon)
    return data


def test_a_daemon_restarted_on_another_store_refuses_and_starts_again_on_its_own(short_dir: Path) -> None:
    data = data_dir_with_a_kept_version(short_dir)

    refused = start_refused(data, short_dir / "s.sock", "--artifact-store", (short_dir / "elsewhere").as_uri())
    again = start_daemon(data, short_dir / "s.sock")
    try:
        with Client(again.address, timeout=60) as client:
            pulled = client.download("kept", short_dir / "out")
    finally:
        stop_daemon(again)

    assert "holds none of the files" in refused and "elsewhere" in refused and "Traceback" not in refused
    assert [p.path.read_bytes() for p in pulled] == [b"weights"]


def test_a_store_from_before_catalog_records_still_opens(short_dir: Path) -> None:
    data = data_dir_with_a_kept_version(short_dir)
    shutil.rmtree(data / "blobs" / "catalogs")  # as a store written before catalogs were recorded

    again = start_daemon(data, short_dir / "s.sock")
    stop_daemon(again)

    assert len(list((data / "blobs" / "catalogs").iterdir())) == 1  # recorded now


def test_a_second_daemon_on_a_shared_catalog_with_a_store_of_its_own_refuses(
    short_dir: Path, postgres_catalog: PostgresDatabase
) -> None:
    shared_store = (short_dir / "shared-blobs").as_uri()
    first = start_daemon(short_dir / "a", short_dir / "a.sock", "--catalog", postgres_catalog.url,
                         "--artifact-store", shared_store)  # fmt: skip
    try:
        register_kept(first.address, write_tree(short_dir / "src", {"w.bin": b"weights"}))
        refused = start_refused(short_dir / "b", short_dir / "b.sock", "--catalog", postgres_catalog.url)
        second = start_daemon(short_dir / "b", short_dir / "b.sock", "--catalog", postgres_catalog.url,
                              "--artifact-store", shared_store)  # fmt: skip
        stop_daemon(second)
    finally:
        stop_daemon(first)

    assert "the other daemons on this catalog use" in refused
