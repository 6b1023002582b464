"""Daemons forked from a process that has imported the daemon already, for the test suite.

A test that starts a daemon would otherwise pay for starting Python and importing studbook, grpc
and the rest each time: more than half of the CPU a daemon takes to reach SERVING, and the suite
starts some 550 of them on two cores. A fork server (`python forks.py FD`, one per test process)
imports the daemon once, and for each request forks a child that runs `python -m studbook.daemon
ARGS` exactly as the command line would, from `runpy` on: same arguments, environment, working
folder, and output to the test's log file. DuckDB is not imported beforehand (its import starts a thread, which a
fork would not carry into the child), nor anything a daemon imports only for some settings.

The child is the fork server's, not the test's: the server reaps it and writes its exit code to a
pipe the test reads, so `ForkedProcess` answers as `subprocess.Popen` does (poll, wait, signals).
The benchmarks do not use it: they measure a daemon's start as a user meets it.
"""

from __future__ import annotations

import json
import os
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# What a daemon imports whatever its settings (`serve` checks that no thread runs after it).
WARM = ("studbook.daemon.config", "studbook.daemon.server")


class ForkedProcess:
    """A forked daemon, answering the part of `subprocess.Popen` the tests use."""

    def __init__(self, pid: int, status: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None
        self._status = status  # reads the exit code, written when the child has been reaped
        os.set_blocking(status, False)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                written = os.read(self._status, 64)
            except BlockingIOError:
                return None
            self._take(written)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            with selectors.DefaultSelector() as waiting:
                waiting.register(self._status, selectors.EVENT_READ)
                waiting.select(left)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _take(self, written: bytes) -> None:
        os.close(self._status)
        # Nothing written: the fork server ended before the child did (it cannot say how it ended).
        self.returncode = int(written) if written else -signal.SIGKILL


class Forks:
    """The test process's end: starts the fork server, asks it for daemons, stops it by pid."""

    def __init__(self) -> None:
        # Each request and each reply one packet, whole: no framing to get wrong.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = ours
        self.server = subprocess.Popen([sys.executable, __file__, str(theirs.fileno())], pass_fds=[theirs.fileno()])
        theirs.close()
        self._lock = threading.Lock()  # one request and its reply at a time, whichever thread asks

    def spawn(self, args: list[str], log: Path) -> ForkedProcess:
        """`python -m studbook.daemon ARGS`, its output appended to `log`."""
        status_read, status_write = os.pipe()
        with open(log, "ab") as handle:
            request = json.dumps({"args": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
            with self._lock:
                socket.send_fds(self._control, [request], [status_write, handle.fileno()])
                reply = self._control.recv(64)
        os.close(status_write)
        if not reply:
            os.close(status_read)
            raise RuntimeError(f"the fork server ended (exit code {self.server.poll()})")
        return ForkedProcess(int(reply), status_read, [sys.executable, "-m", "studbook.daemon", *args])

    def close(self) -> None:
        self._control.close()  # the server ends when its end of the socket reads nothing more
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


# -- the fork server -----------------------------------------------------------------------------


def serve(control: socket.socket) -> dict[str, Any] | None:
    """Forks a child for each request until the test process closes its end; returns the
    request in the child (which then runs the daemon), None in the server when it is done."""
    for name in WARM:
        __import__(name)
    if (threads := len(os.listdir("/proc/self/task"))) != 1:
        # A thread would not be in the children (only the forking one is), and one holding a lock
        # at the fork would hang them: an import that starts one does not belong in WARM.
        raise RuntimeError(f"{threads} threads run after importing {WARM}; a fork would leave all but one behind")
    children: dict[int, int] = {}  # pid -> the write end of its status pipe
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wake-up fd is written
    waiting = selectors.DefaultSelector()
    waiting.register(control, selectors.EVENT_READ)
    waiting.register(wake_read, selectors.EVENT_READ)
    while True:
        for key, _ in waiting.select():
            if key.fileobj == wake_read:
                os.read(wake_read, 512)
                _reap(children)
                continue
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
            if not message:
                return None  # the test process is done
            status, log = fds
            pid = os.fork()
            if pid == 0:
                waiting.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in (wake_read, wake_write, status, *children.values()):
                    os.close(fd)
                control.close()
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.close(log)
                request: dict[str, Any] = json.loads(message)
                return request
            os.close(log)
            children[pid] = status
            control.send(b"%d" % pid)


def _reap(children: dict[int, int]) -> None:
    while children:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        status = children.pop(pid, None)
        if status is not None:
            try:
                os.write(status, b"%d" % os.waitstatus_to_exitcode(wait_status))
            except BrokenPipeError:
                pass  # the test no longer waits for it
            os.close(status)


def run_daemon(request: dict[str, Any]) -> None:
    """In the child: becomes `python -m studbook.daemon ARGS` as a shell would start it."""
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    os.chdir(request["cwd"])
    sys.argv = ["studbook.daemon", *request["args"]]
    runpy.run_module("studbook.daemon", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    job = serve(socket.socket(fileno=int(sys.argv[1])))
    if job is not None:
        run_daemon(job)
