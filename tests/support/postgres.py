"""A real PostgreSQL server for tests and the bench: Debian's binaries, a throwaway cluster.

`start_postgres` runs `initdb` into a fresh folder under /tmp and starts `postgres` on a free
loopback port with durability off (fsync, synchronous commit, full-page writes: a test's data
need not survive a power cut), trust authentication on 127.0.0.1 and a unix socket in that folder
only. `stop_postgres` ends it by its pid and removes the folder. `make postgres` installs the
binaries where they are missing.

PostgreSQL refuses to run as root, and the tests run as root on CI: then the server runs as the
`postgres` user Debian's package creates (else `nobody`), in a folder it owns.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from .net import free_port
from .waiting import wait_for

if TYPE_CHECKING:
    from studbook.daemon.store.postgres.catalog import PostgresCatalog

SUPERUSER = "postgres"
TEMPLATE = "studbook_template"
STARTUP_TIMEOUT = 30.0
# The timezone makes what psql or a failing assertion prints the same on every machine; the
# store never depends on it.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "timezone": "UTC",
    # Several daemons with a pool each, in one test.
    "max_connections": "200",
}
# A test's cluster lives for one session, so its data need not survive a power cut; a benchmark
# that compares commits keeps durability on (`durable=True`).
NOT_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
_VERSION_DIR = re.compile(r"^\d+$")


@dataclass
class PostgresServer:
    """A `postgres` process serving a throwaway cluster on a loopback port."""

    process: subprocess.Popen[bytes]
    port: int
    root: Path  # data/, the unix socket and the log
    log: Path

    def url(self, dbname: str = "postgres") -> str:
        """A `postgresql://` URL of one of its databases: what `--catalog` takes."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", autocommit: bool = True) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(dbname), autocommit=autocommit, connect_timeout=10)

    def create_database(self, template: str = "template0") -> PostgresDatabase:
        """A new, uniquely named database copied from `template` (template0: an empty one)."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.connect() as conn:
            # A file copy takes about a third of the time of the WAL-logged copy PostgreSQL 15
            # made the default: the checkpoint it needs costs nothing with fsync off.
            strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
        return PostgresDatabase(self, name)

    def drop_database(self, name: str) -> None:
        """Drops it even while a test's connections or daemons still hold it open."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def databases(self) -> list[str]:
        with self.connect() as conn:
            return [row[0] for row in conn.execute("SELECT datname FROM pg_database ORDER BY datname").fetchall()]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class PostgresDatabase:
    """One database on a test server, for one test."""

    server: PostgresServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def connect(self, autocommit: bool = True) -> psycopg.Connection[Any]:
        return self.server.connect(self.name, autocommit=autocommit)


def server_binaries() -> Path:
    """The folder of the newest installed PostgreSQL server's programs (initdb, postgres)."""
    found = sorted(
        (int(folder.name), folder / "bin")
        for folder in Path("/usr/lib/postgresql").glob("*")
        if _VERSION_DIR.match(folder.name) and (folder / "bin" / "initdb").is_file()
    )
    if found:
        return found[-1][1]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise AssertionError("no PostgreSQL server binaries (initdb, postgres); `make postgres` installs Debian's")


def start_postgres(durable: bool = False, settings: dict[str, str] | None = None) -> PostgresServer:
    """initdb into a new folder and start the server on a free loopback port; returns once it
    accepts connections. The caller must `stop_postgres` it, also when a test fails. Durable,
    it flushes each commit to disk as a production server does: for measuring, not testing.
    `settings` are further server settings (a benchmark's wal_level, say)."""
    binaries = server_binaries()
    # Under /tmp rather than pytest's tmp_path: that is private to root (0700), which the
    # unprivileged server user could not reach; and a unix socket path must stay short.
    root = Path(tempfile.mkdtemp(prefix="sb-pg-"))
    as_user = _server_user()
    try:
        if as_user is not None:
            os.chown(root, as_user.pw_uid, as_user.pw_gid)
        initdb = subprocess.run(
            [str(binaries / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            capture_output=True, env=_environment(), **_drop_privileges(as_user),
        )  # fmt: skip
        if initdb.returncode:
            raise AssertionError(
                f"initdb failed ({initdb.returncode}):\n{initdb.stdout.decode()}{initdb.stderr.decode()}"
            )
        for attempt in range(3):  # the free port may be taken between the probe and the server's bind
            server = _start(
                binaries, root, as_user, free_port(), {**({} if durable else NOT_DURABLE), **(settings or {})}
            )
            try:
                wait_for(lambda: _accepts(server), f"postgres on port {server.port}", timeout=STARTUP_TIMEOUT)
                return server
            except BaseException as exc:  # also an interrupt: no server outlives a start that failed
                output = server.output()
                _end(server)
                if not isinstance(exc, AssertionError):
                    raise
                if attempt == 2 or "could not bind" not in output:
                    raise AssertionError(f"postgres did not start:\n{output[-3000:]}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    raise AssertionError("unreachable")


def stop_postgres(server: PostgresServer) -> None:
    """Ends the server by its pid (a fast shutdown, then harder if it lingers) and removes its folder."""
    _end(server)
    shutil.rmtree(server.root, ignore_errors=True)


def stop_postgres_process(server: PostgresServer) -> None:
    """Ends the server's process by its pid and keeps its folder: the catalog's server going
    away under running daemons. `restart_postgres` brings it back."""
    _end(server)


def restart_postgres(server: PostgresServer, durable: bool = False) -> None:
    """Starts a stopped server again on the same port and data dir (`server.process` becomes
    the new process); returns once it accepts connections."""
    if server.process.poll() is None:
        raise AssertionError("the server is still running; stop it first")
    again = _start(server_binaries(), server.root, _server_user(), server.port, {} if durable else NOT_DURABLE)
    server.process, server.log = again.process, again.log
    wait_for(lambda: _accepts(server), f"postgres on port {server.port} again", timeout=STARTUP_TIMEOUT)


def prepare_template(server: PostgresServer) -> str:
    """Creates the template database with the catalog's schema, migrated once for the session,
    that each test's database is copied from; returns its name."""
    from studbook.daemon.store.postgres.migrate import migrate

    with server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE}" TEMPLATE template0')
    # Closed before anyone copies it: CREATE DATABASE ... TEMPLATE refuses a template in use.
    with server.connect(TEMPLATE) as conn:
        migrate(conn)
    return TEMPLATE


def open_catalog(url: str) -> PostgresCatalog:
    """The daemon's PostgreSQL catalog at `url`, its read pool's first connection made now rather
    than on the pool's own thread while a test runs: psycopg's pool draws from `random` as it
    connects, which Hypothesis takes for a strategy using `random` when it happens during a draw."""
    from studbook.daemon.store.postgres.catalog import PostgresCatalog

    opened = PostgresCatalog(url)
    opened.query("SELECT 1")
    return opened


def _start(
    binaries: Path, root: Path, as_user: pwd.struct_passwd | None, port: int, extra: dict[str, str]
) -> PostgresServer:
    log = root / f"postgres-{port}.log"
    settings = {**SETTINGS, **extra, "unix_socket_directories": str(root), "port": str(port)}
    options = [part for name, value in settings.items() for part in ("-c", f"{name}={value}")]
    with open(log, "wb") as output:
        process = subprocess.Popen([str(binaries / "postgres"), "-D", str(root / "data"), *options],
                                   stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=_environment(), preexec_fn=_die_with_parent,
                                   **_drop_privileges(as_user))  # fmt: skip
    return PostgresServer(process, port, root, log)


def _end(server: PostgresServer) -> None:
    # SIGINT is PostgreSQL's fast shutdown (sessions rolled back, a clean stop); SIGQUIT its
    # immediate one; SIGKILL only when both were ignored.
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGQUIT, 5), (signal.SIGKILL, 10)):
        if server.process.poll() is not None:
            return
        os.kill(server.process.pid, sig)
        try:
            server.process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _accepts(server: PostgresServer) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"postgres exited with {server.process.returncode}")
    try:
        with psycopg.connect(server.url(), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _server_user() -> pwd.struct_passwd | None:
    """Whom the server runs as: None for the current user, unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise AssertionError("running as root and neither a `postgres` nor a `nobody` user exists to run the server as")


def _drop_privileges(as_user: pwd.struct_passwd | None) -> dict[str, Any]:
    if as_user is None:
        return {}
    return {"user": as_user.pw_uid, "group": as_user.pw_gid, "extra_groups": []}


def _environment() -> dict[str, str]:
    # Only what the server needs: no PG* variable of the caller's may redirect it, and LC_ALL=C
    # keeps initdb from judging the machine's locale.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}


# Looked up in the parent: the child between fork and exec should do as little as it can.
_prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec (after it became the server user, which would clear it): the
    kernel shuts the server down fast if the test process dies without running its finalizers
    (killed by a timeout, say), so no cluster outlives its tests."""
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGINT))
