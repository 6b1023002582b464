"""Shared fixtures: an isolated environment and real daemons on temporary unix sockets."""

from __future__ import annotations

import compileall
import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import settings
from studbook.v1 import drops_pb2

# Tests import helpers as `conftest` (tests/ is on the path), while pytest loads this file as
# `tests.conftest`: one module under both names, or each would hold its own state (DaemonLauncher's).
sys.modules.setdefault("conftest", sys.modules[__name__])

# Properties are judged by their examples, never by how fast one ran: on a loaded machine a
# per-example deadline only makes a correct property fail now and then.
settings.register_profile("studbook", deadline=None)
settings.load_profile("studbook")

if TYPE_CHECKING:  # `make bench` imports this module outside pytest, where `support` is not a package root
    from studbook.daemon.store.interface import Store
    from support.forks import ForkedProcess, Forks
    from support.postgres import PostgresDatabase, PostgresServer
    from support.receiver import Receiver
    from support.s3 import MotoServer, S3Bucket

STARTUP_TIMEOUT = 30.0
DROP_SERVICE = drops_pb2.DESCRIPTOR.services_by_name["DropService"].full_name

# `make test` runs on three workers, one more than the two cores it is meant for: two workers kept
# the cores idle a sixth of the time, each waiting on a daemon, a debounce or a screen. Every
# screen test (terminal and browser) goes to one of them, in file order, so no two UIs compete for
# a core while a test waits on what they paint; the daemon, store and unit tests share the others.
SCREEN_TESTS = ("tui", "web")


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the processes the tests start, however the suite itself was started: a
    shell starts a background job (`make test &`) with SIGINT ignored, every process inherits
    that, and a `studbook watch` a test stops with SIGINT would then run on until its deadline."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line(
        "markers", f"{NEW_PROCESSES}: the daemons these tests start are new processes, not forked (see DaemonLauncher)"
    )
    if not hasattr(config, "workerinput"):  # once, before the workers start
        compile_studbook()


def compile_studbook() -> None:
    """Byte-compiles studbook's own modules as an install does. With PYTHONDONTWRITEBYTECODE set
    (as it may be on a development or CI machine) nothing is ever cached, and every daemon and
    command a test starts would compile each module it imports again (a daemon reached SERVING in
    708 ms here, 483 ms with its modules compiled). Only what changed since the last run is
    compiled again."""
    for source in ("daemon", "tui", "proto"):
        compileall.compile_dir(Path(__file__).parent.parent / source, quiet=1)


# First, so that xdist's own hook (which turns a group into a suffix of the test's id, the only
# thing its scheduler reads) sees the mark; after it, the mark would change nothing.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        if item.path.relative_to(root).parts[0] in SCREEN_TESTS:
            item.add_marker(pytest.mark.xdist_group("screens"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the user's real data, config, runtime dir and daemon."""
    home = tmp_path_factory.mktemp("home")
    for variable, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_RUNTIME_DIR", "run")):
        monkeypatch.setenv(variable, str(home / sub))
    for variable in ("STUDBOOK_ADDRESS", "STUDBOOK_TOKEN", "STUDBOOK_TLS_CA"):
        monkeypatch.delenv(variable, raising=False)


@dataclass
class Daemon:
    """A daemon process serving a fresh catalog on its own socket."""

    process: subprocess.Popen[bytes] | ForkedProcess
    data_dir: Path
    socket: Path
    log: Path

    @property
    def address(self) -> str:
        return f"unix://{self.socket}"

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class DaemonLauncher:
    """Starts `python -m studbook.daemon`: under pytest, forked from a process that has imported
    it already (support/forks.py: 190 ms of CPU to SERVING against 450 for a new process, here);
    elsewhere (the benchmarks, which measure a start as a user meets it) as a new process."""

    forking = False
    _forks: Forks | None = None

    @classmethod
    def start(cls, args: list[str], log: Path) -> subprocess.Popen[bytes] | ForkedProcess:
        if cls.forking:
            if cls._forks is None:
                from support.forks import Forks

                cls._forks = Forks()
            return cls._forks.spawn(args, log)
        with open(log, "ab") as handle:
            return subprocess.Popen([sys.executable, "-m", "studbook.daemon", *args], stdout=handle,
                                    stderr=subprocess.STDOUT)  # fmt: skip

    @classmethod
    def stop(cls) -> None:
        if cls._forks is not None:
            cls._forks.close()
            cls._forks = None


# Tests that read what a daemon process is or loads (its command line, the modules a new
# interpreter imports) are marked so: a forked daemon is a copy of a process that imported it.
NEW_PROCESSES = "daemon_processes"


def pytest_sessionfinish() -> None:
    """After the last fixture's teardown stopped its daemons: this test process's fork server."""
    DaemonLauncher.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the test's fixtures start any daemon: forked, unless the test is marked or
    STUDBOOK_TEST_FORKS=0 asks for new processes throughout."""
    DaemonLauncher.forking = (
        os.environ.get("STUDBOOK_TEST_FORKS", "1") != "0" and item.get_closest_marker(NEW_PROCESSES) is None
    )


def launch_daemon(data_dir: Path, socket: Path, *extra: str) -> Daemon:
    """A daemon process started, not waited for: for tests of what it answers while it starts."""
    log = data_dir.parent / f"daemon-{uuid.uuid4().hex[:6]}.log"
    process = DaemonLauncher.start(["--data-dir", str(data_dir), "--socket", str(socket), *extra], log)
    return Daemon(process, data_dir, socket, log)


def start_daemon(data_dir: Path, socket: Path, *extra: str) -> Daemon:
    daemon = launch_daemon(data_dir, socket, *extra)
    wait_until_serving(daemon)
    return daemon


def start_refused(data_dir: Path, socket: Path) -> subprocess.CompletedProcess[str]:
    """Runs a daemon that is expected to refuse to start; its exit code and what it said."""
    return subprocess.run(
        [sys.executable, "-m", "studbook.daemon", "--data-dir", str(data_dir), "--socket", str(socket)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _started(channel: grpc.Channel) -> bool:
    """SERVING, and drop-in watching (when asked for) past UNKNOWN: its roots are watched."""
    stub = health_pb2_grpc.HealthStub(channel)
    status = health_pb2.HealthCheckResponse
    registry = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
    watching = stub.Check(health_pb2.HealthCheckRequest(service=DROP_SERVICE), timeout=1).status
    return registry == status.SERVING and watching != status.UNKNOWN


def wait_until_serving(daemon: Daemon) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise RuntimeError(f"daemon exited with {daemon.process.returncode}:\n{daemon.output()}")
        if daemon.socket.exists():
            with daemon.channel() as channel:
                try:
                    if _started(channel):
                        return
                except grpc.RpcError:
                    pass
        time.sleep(0.05)
    daemon.process.kill()
    raise RuntimeError(f"daemon did not start within {STARTUP_TIMEOUT}s:\n{daemon.output()}")


def stop_daemon(daemon: Daemon) -> None:
    if daemon.process.poll() is None:
        daemon.process.send_signal(signal.SIGTERM)
        try:
            daemon.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short folder under /tmp: unix socket paths must stay under ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="sb-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """An 8 MiB tmpfs of its own, to fill up for real; skipped where mounting is not permitted."""
    mount_point = Path(tempfile.mkdtemp(prefix="sb-disk-"))
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount_point)],
                                 capture_output=True, text=True)  # fmt: skip
        why = mounted.stderr.strip() if mounted.returncode else ""
    except FileNotFoundError:
        why = "no mount command"
    if why:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a small tmpfs to fill ({why}); these tests need root or CAP_SYS_ADMIN")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)  # still busy: detach it
        mount_point.rmdir()


def fill(disk: Path, leave: int = 0) -> Path:
    """Writes a filler file until `disk` has at most `leave` bytes free; remove it to free them."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while (free := _free_bytes(disk)) > leave:
                handle.write(b"\0" * min(free - leave, 1 << 20))
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


def _free_bytes(disk: Path) -> int:
    found = os.statvfs(disk)
    return found.f_bavail * found.f_frsize


@pytest.fixture
def daemon_factory(short_dir: Path) -> Iterator[object]:
    """Starts daemons on demand (same data dir by default) and stops them all afterwards."""
    started: list[Daemon] = []

    def factory(*extra: str, data_dir: Path | None = None) -> Daemon:
        daemon = start_daemon(data_dir or short_dir / "data", short_dir / "s.sock", *extra)
        started.append(daemon)
        return daemon

    yield factory
    for daemon in started:
        stop_daemon(daemon)


@pytest.fixture
def daemon(daemon_factory) -> Daemon:  # type: ignore[no-untyped-def]
    """A fresh daemon with an empty catalog, for this test alone."""
    return daemon_factory()


@pytest.fixture(scope="module")
def shared_daemon() -> Iterator[Daemon]:
    """One daemon for a whole test module; tests use unique model names (see `model_id`)."""
    root = Path(tempfile.mkdtemp(prefix="sb-"))
    daemon = start_daemon(root / "data", root / "s.sock")
    yield daemon
    stop_daemon(daemon)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def model_id() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's S3 server on a free loopback port, for one test module; stopped by its pid."""
    from support.s3 import start_moto, stop_moto

    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    stop_moto(server)


@pytest.fixture
def bucket_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh bucket whose AWS_* settings every daemon (or restore) the test starts inherits."""
    created = moto.create_bucket()
    for name, value in created.env.items():
        monkeypatch.setenv(name, value)
    return created


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback (support/receiver.py), stopped after the test."""
    from support.receiver import Receiver

    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (initdb and start: about a second), with the
    catalog's template database migrated; stopped by its pid at the end, whatever happened."""
    from support.postgres import prepare_template, start_postgres, stop_postgres

    server = start_postgres()
    try:
        prepare_template(server)
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture
def postgres_catalog(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A database of this test's own, copied from the template: a migrated, empty catalog."""
    from support.postgres import TEMPLATE

    database = postgres_server.create_database(template=TEMPLATE)
    yield database
    postgres_server.drop_database(database.name)


@pytest.fixture
def postgres_empty(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A database of this test's own without any table: for migrations to run on."""
    database = postgres_server.create_database()
    yield database
    postgres_server.drop_database(database.name)


@pytest.fixture(params=["duckdb", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty catalog on each backend in turn: a DuckDB file, then a PostgreSQL database (the
    test server starts only when a test asks for this one)."""
    opened: Store
    if request.param == "duckdb":
        from studbook.daemon.store.catalog import Catalog

        opened = Catalog(tmp_path / "catalog.duckdb")
    else:
        from support.postgres import open_catalog

        opened = open_catalog(request.getfixturevalue("postgres_catalog").url)
    yield opened
    opened.close()
