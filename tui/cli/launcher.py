"""Run the daemon as its own process (`python -m studbook.daemon`), never by importing it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from studbook.client.errors import StudbookError

DAEMON_MODULE = "studbook.daemon"
RESTORE_MODULE = "studbook.daemon.restore"
POLICY_CHECK_MODULE = "studbook.daemon.policy_check"
CATALOG_COPY_MODULE = "studbook.daemon.catalog_copy"
START_TIMEOUT = 20.0
POLL_INTERVAL = 0.1
LOG_NAME = "daemon.log"


def daemon_argv(
    *,
    data_dir: str | None = None,
    socket: str | None = None,
    listen: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of a daemon with the given settings; unset ones keep its defaults."""
    argv = [sys.executable, "-m", DAEMON_MODULE]
    for flag, value in (("--data-dir", data_dir), ("--socket", socket), ("--listen", listen)):
        if value:
            argv += [flag, value]
    return argv + list(extra)


def restore_argv(src: str, data_dir: str, *, artifact_store: str = "", as_json: bool = False) -> list[str]:
    """The command line of an offline restore of the backup `src` into `data_dir`."""
    argv = [sys.executable, "-m", RESTORE_MODULE, src, "--data-dir", data_dir]
    return argv + (["--artifact-store", artifact_store] if artifact_store else []) + (["--json"] if as_json else [])


def policy_check_argv(file: str, *, as_json: bool = False) -> list[str]:
    """`studbook policy check`: the daemon's own policy loading, in a process of its own."""
    return [sys.executable, "-m", POLICY_CHECK_MODULE, os.path.abspath(file), *(["--json"] if as_json else [])]


def catalog_copy_argv(source: str, destination: str, *, as_json: bool = False) -> list[str]:
    """The command line of an offline copy of the catalog at `source` into `destination`."""
    argv = [sys.executable, "-m", CATALOG_COPY_MODULE, "--from", source, "--to", destination]
    return argv + (["--json"] if as_json else [])


def socket_path(address: str) -> str | None:
    """The socket file of a `unix:` address, None for TCP addresses."""
    if address.startswith("unix://"):
        return address[len("unix://") :]
    if address.startswith("unix:"):
        return address[len("unix:") :]
    return address if address.startswith("/") else None


def accepts_connections(address: str) -> bool:
    """Something listens on the unix socket of `address`: a plain connect, no grpc to load.

    Enough for the terminal UI to start painting: it checks the daemon itself, and shows
    what it finds. False for TCP addresses, whose TLS must be checked by `is_serving`.
    """
    path = socket_path(address)
    if path is None:
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def is_serving(
    address: str, timeout: float = 1.0, *, token: str | None = None, tls_ca: str | Path | None = None
) -> bool:
    """A daemon answers the health check at `address` (over TLS trusting `tls_ca` for TCP).

    A CA file that cannot be read, or a handshake that fails, raises StudbookError: that is
    no absent daemon.
    """
    from studbook.client.clients import Client  # grpc only once a daemon is really needed

    with Client(address, timeout=timeout, retries=False, token=token, tls_ca=tls_ca) as client:
        try:
            return client.health() == "SERVING"
        except StudbookError as error:
            if error.reason.startswith("TLS_"):
                raise  # a daemon is there, but this client cannot trust it: say so, do not start one
            return False


def start_daemon(
    address: str, *, data_dir: str | None = None, extra: Sequence[str] = (), timeout: float = START_TIMEOUT
) -> int:
    """Start a background daemon on the unix socket of `address`, wait until it serves, return its pid.

    Its output goes to `daemon.log` beside the socket. A daemon that exits or stays
    silent past `timeout` is reported (and, when still running, stopped) with the tail
    of that log, so the user sees why.
    """
    path = socket_path(address)
    if path is None:
        message = f"no studbook daemon answers at {address}; start one there with `studbook serve`"
        raise StudbookError("UNAVAILABLE", "NO_DAEMON", message)
    folder = Path(path).parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = folder / LOG_NAME
    with open(log_path, "ab") as log:
        # A new session: the daemon outlives this command and ignores its Ctrl-C.
        process = subprocess.Popen(
            daemon_argv(data_dir=data_dir, socket=path, extra=extra),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _start_failed(f"the daemon exited with code {process.returncode}", log_path)
        if is_serving(address):
            return process.pid
        time.sleep(POLL_INTERVAL)
    process.terminate()
    raise _start_failed(f"the daemon did not answer within {timeout:g} s", log_path)


def _start_failed(what: str, log_path: Path) -> StudbookError:
    tail = _tail(log_path)
    detail = f"; its log {log_path} ends with: {tail}" if tail else f"; see {log_path}"
    return StudbookError("UNAVAILABLE", "DAEMON_START_FAILED", what + detail, {"log": str(log_path)})


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def exec_daemon(argv: Sequence[str]) -> None:
    """Replace this process with the daemon (or its restore), so signals and the exit code are its own."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], list(argv))
