"""What a daemon costs: before SERVING it loads only what serving needs, a start that finds the
catalog as its mark says leaves the mark file alone, and an idle daemon gives back the memory
its queries freed.

The imports are read from a real daemon process started with PYTHONPROFILEIMPORTTIME, which
makes Python report each module on stderr as it is first imported: the lines before the
daemon's "ready" line are what it loaded before answering.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Daemon, stop_daemon
from studbook.daemon.store.catalog import Catalog
from studbook.v1 import registry_pb2
from support.postgres import PostgresDatabase
from support.rpc import register, stubs
from support.waiting import wait_for
from unit.formats.builders import safetensors_bytes

# Python reports imports (PYTHONPROFILEIMPORTTIME) in a new interpreter only: the tests that read
# them start new daemon processes.
new_interpreter = pytest.mark.daemon_processes

READY = "studbook daemon ready on"
# Heavy modules only some daemons or some requests need, each with what needs it.
LATER = {
    "watchdog": "--watch",
    "studbook.daemon.watch.watcher": "--watch",
    "studbook.daemon.formats.archive": "inspecting a registered file",
    "studbook.daemon.formats.pickle_scan": "inspecting a registered file",
    "studbook.daemon.formats.safetensors": "inspecting a registered file",
    "studbook.daemon.formats.onnx": "inspecting a registered file",
    "studbook.daemon.formats.folder": "inspecting a registered folder",
    "psycopg": "a postgresql:// catalog",
    "obstore": "an s3:// artifact store",
    "studbook.daemon.app.backup": "a backup",
    "studbook.daemon.domain.diff": "a diff of two versions",
}


def imported(log: str, *, before_ready: bool) -> set[str]:
    """Top-level and full module names Python reported importing, before or after SERVING."""
    head, ready, tail = log.partition(READY)
    assert ready, f"the daemon never said it was ready:\n{log[-2000:]}"
    names = set()
    for line in (head if before_ready else tail).splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            name = line.rsplit("|", 1)[1].strip()
            names |= {name, name.split(".")[0]}
    return names


@pytest.fixture
def profiled(daemon_factory, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Starts daemons that report every import on stderr (the log `Daemon.output` reads)."""
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")

    def start(*extra: str) -> Daemon:
        daemon: Daemon = daemon_factory(*extra)
        # Health says SERVING a moment before the line is printed (a watcher starts in between).
        wait_for(lambda: READY in daemon.output(), "the daemon's ready line", 30)
        return daemon

    return start


@new_interpreter
def test_a_daemon_serves_before_loading_what_only_some_daemons_or_requests_need(profiled) -> None:  # type: ignore[no-untyped-def]
    daemon: Daemon = profiled()
    loaded = imported(daemon.output(), before_ready=True)

    assert {"grpc", "duckdb", "studbook.daemon.server"} <= loaded, "the import report is read"
    assert {name: why for name, why in LATER.items() if name in loaded} == {}


@new_interpreter
def test_a_daemon_on_postgresql_serves_without_loading_duckdb(profiled, postgres_catalog: PostgresDatabase) -> None:  # type: ignore[no-untyped-def]
    daemon: Daemon = profiled("--catalog", postgres_catalog.url)
    loaded = imported(daemon.output(), before_ready=True)

    assert "psycopg" in loaded, "the import report is read"
    assert "duckdb" not in loaded


@new_interpreter
def test_a_watching_daemon_loads_the_watcher_before_serving(profiled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    daemon: Daemon = profiled("--watch", str(tmp_path / "drops"))

    assert {"watchdog", "studbook.daemon.watch.watcher"} <= imported(daemon.output(), before_ready=True)


@new_interpreter
def test_the_format_readers_load_when_a_file_is_registered(profiled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(safetensors_bytes({"w": ("F32", [2], b"\0" * 8)}))
    daemon: Daemon = profiled()
    with daemon.channel() as channel:
        reply = stubs(channel).versions.RegisterModelVersion(
            registry_pb2.RegisterModelVersionRequest(parent="models/lazy", source_path=str(weights)))  # fmt: skip

    assert reply.version.format == "safetensors"
    assert "studbook.daemon.formats.safetensors" in imported(daemon.output(), before_ready=False)


def test_a_start_that_finds_its_mark_current_does_not_rewrite_it(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    """Each slot of the mark file holds a different revision once a write followed the first
    start; a start that wrote the same head again would overwrite the older slot."""
    daemon: Daemon = daemon_factory()
    with daemon.channel() as channel:
        register(stubs(channel), "marked", storage_uri="s3://b/1")
    stop_daemon(daemon)
    mark = daemon.data_dir / "catalog.hwm"
    before = mark.read_bytes()

    stop_daemon(daemon_factory())

    assert mark.read_bytes() == before
    again = daemon_factory()
    with again.channel() as channel:  # and the next write still moves it on
        register(stubs(channel), "marked", storage_uri="s3://b/2")
    assert mark.read_bytes() != before


def test_the_catalog_returns_freed_memory_while_the_daemon_idles(tmp_path: Path) -> None:
    """Without background threads the allocator keeps the pages a search freed until that
    arena allocates again: an idle daemon would hold its last searches' memory."""
    catalog = Catalog(tmp_path / "catalog.duckdb")
    try:
        assert catalog.query("SELECT current_setting('allocator_background_threads')") == [(True,)]
    finally:
        catalog.close()
