"""`studbook stop`: ends the local daemon gracefully, says when none runs, and never stops anything else."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from support.cli import runner

# `studbook stop` reads a daemon's command line before it signals it.
pytestmark = pytest.mark.daemon_processes


def test_stop_ends_the_daemon_gracefully_then_says_none_runs(daemon: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = runner(daemon.address, capsys)

    stopped = run("stop")

    assert stopped.code == cli.EXIT_OK, stopped.err
    assert f"pid {daemon.process.pid}" in stopped.out
    # SIGTERM, not SIGKILL: the daemon shut down on its own terms and removed its socket.
    assert daemon.process.wait(timeout=30) == 0
    assert not daemon.socket.exists()
    assert "shutting down" in daemon.output()

    again = run("stop")

    assert again.code == cli.EXIT_UNAVAILABLE
    assert "no studbook daemon is running" in again.err


def test_stop_reports_the_stopped_daemon_as_json(daemon: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = runner(daemon.address, capsys)("stop", "--json")

    assert result.code == cli.EXIT_OK
    assert result.json() == {"address": daemon.address, "pid": daemon.process.pid, "stopped": True}
    daemon.process.wait(timeout=30)


def test_stop_leaves_a_process_that_is_not_a_studbook_daemon_alone(
    short_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = short_dir / "other.sock"
    # This test process listens there: a program that is not studbook.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    try:
        result = runner(f"unix://{path}", capsys)("stop")
    finally:
        listener.close()

    assert result.code == cli.EXIT_PRECONDITION
    assert f"pid {os.getpid()}" in result.err and "not a studbook daemon" in result.err


def test_stop_refuses_a_remote_address(capsys: pytest.CaptureFixture[str]) -> None:
    result = runner("registry.example:7443", capsys)("stop")

    assert result.code == cli.EXIT_INVALID
    assert "unix socket" in result.err


def test_stop_without_a_socket_file_says_none_runs(short_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = runner(f"unix://{short_dir / 'nothing.sock'}", capsys)("stop")

    assert result.code == cli.EXIT_UNAVAILABLE
    assert "no studbook daemon is running" in result.err


def test_a_daemon_that_outlives_the_timeout_is_reported_not_killed(daemon: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    # A stopped (SIGSTOP) daemon cannot act on SIGTERM until it is continued.
    os.kill(daemon.process.pid, signal.SIGSTOP)
    try:
        result = runner(daemon.address, capsys)("stop", "--timeout", "0.5")
    finally:
        os.kill(daemon.process.pid, signal.SIGCONT)

    assert result.code == cli.EXIT_ERROR
    assert "still running" in result.err and f"kill -9 {daemon.process.pid}" in result.err
    # Never killed: once continued, it ends on the SIGTERM it was sent, gracefully.
    assert daemon.process.wait(timeout=30) == 0


# A stand-in for a daemon at the end of its shutdown, run as `python -c ... -m studbook.daemon`
# so that its command line is a daemon's: it holds a lock as the daemon holds its data dir's,
# and on SIGTERM closes its socket, leaves a thread running a second longer, and ends its main
# thread first (the GIL released by ctypes on the way out), as a daemon's main thread may end
# before the last of its other threads (DuckDB's, gRPC's). The kernel lists such a main thread as
# a zombie, but the process keeps its files, the lock among them, until its last thread ends.
ENDS_ITS_MAIN_THREAD_FIRST = """
import ctypes, fcntl, signal, socket, sys, threading, time
lock = open(sys.argv[1], "a+")
fcntl.flock(lock, fcntl.LOCK_EX)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[2])
listener.listen(8)
asked = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: asked.set())
print("ready", flush=True)
asked.wait()
listener.close()
threading.Thread(target=time.sleep, args=(1.0,)).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def test_stop_returns_once_the_daemons_last_thread_has_ended_and_its_lock_is_free(
    short_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock, path = short_dir / "daemon.lock", short_dir / "d.sock"
    stand_in = subprocess.Popen([sys.executable, "-c", ENDS_ITS_MAIN_THREAD_FIRST, str(lock), str(path),
                                 "-m", "studbook.daemon"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert stand_in.stdout is not None and stand_in.stdout.readline() == "ready\n"

        result = runner(f"unix://{path}", capsys)("stop")

        assert result.code == cli.EXIT_OK, result.err
        # What `studbook stop && studbook serve` needs: the data dir's lock is free to take.
        with open(lock, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        stand_in.kill()
        stand_in.wait(timeout=30)
