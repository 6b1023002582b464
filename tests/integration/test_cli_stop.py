"""`studbook stop`: ends the local daemon gracefully, says when none runs, and never stops anything else."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from support.cli import runner


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
