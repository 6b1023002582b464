"""`studbook stop`: end the local daemon serving a unix socket, gracefully, and only a studbook daemon.

The process to stop is the one that listens on the socket, as the kernel reports it
(SO_PEERCRED), never a pid read from a file that may be stale: a recycled pid could name any
program. It must also belong to this user and run the studbook daemon module, so `stop` can
never end a process that only happens to sit at that path.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from studbook.client.errors import StudbookError

# The daemon's own shutdown grace is 5 s, then it closes the catalog: a little more than that.
DEFAULT_TIMEOUT = 15.0
POLL_INTERVAL = 0.05
# What the daemon's command line holds, however it was started (`studbook serve`, the
# launcher, `python -m studbook.daemon`): serve execs the daemon module in place.
DAEMON_MODULES = ("studbook.daemon", "studbook.daemon.__main__")


@dataclass(frozen=True)
class Stopped:
    pid: int
    socket: str


def stop_daemon(socket_path: str, timeout: float = DEFAULT_TIMEOUT) -> Stopped:
    """SIGTERM the studbook daemon listening on `socket_path`, then wait until it is gone.

    Raises StudbookError: UNAVAILABLE/NO_DAEMON when nothing listens there,
    FAILED_PRECONDITION/NOT_A_STUDBOOK_DAEMON for another user's or another program's
    process, DEADLINE_EXCEEDED/DAEMON_STILL_RUNNING when it outlives `timeout`.
    """
    pid, uid = _listener(socket_path)
    if uid != os.getuid():
        raise StudbookError("FAILED_PRECONDITION", "NOT_A_STUDBOOK_DAEMON",
                            f"the process (pid {pid}) listening on {socket_path} belongs to user id {uid}, not to "
                            "you; only its owner may stop it")  # fmt: skip
    if not _is_studbook_daemon(pid):
        raise StudbookError("FAILED_PRECONDITION", "NOT_A_STUDBOOK_DAEMON",
                            f"the process (pid {pid}) listening on {socket_path} is not a studbook daemon; "
                            "left running: stop it yourself if it should not be there")  # fmt: skip
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return Stopped(pid, socket_path)  # it ended on its own meanwhile
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid) and not _answers(socket_path):
            return Stopped(pid, socket_path)
        time.sleep(POLL_INTERVAL)
    raise StudbookError("DEADLINE_EXCEEDED", "DAEMON_STILL_RUNNING",
                        f"the daemon (pid {pid}) is still running {timeout:g} s after it was asked to stop; it may "
                        f"be finishing writes: wait, run `studbook stop --timeout 60`, or as a last resort "
                        f"`kill -9 {pid}`", {"pid": str(pid)})  # fmt: skip


def _listener(socket_path: str) -> tuple[int, int]:
    """The pid and uid of the process listening on the socket, from the kernel."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        try:
            probe.connect(socket_path)
        except PermissionError:
            raise StudbookError("PERMISSION_DENIED", "NOT_A_STUDBOOK_DAEMON",
                                f"{socket_path} is not yours to reach (permission denied); only its owner may stop "
                                "the daemon there") from None  # fmt: skip
        except OSError:
            raise StudbookError("UNAVAILABLE", "NO_DAEMON", f"no studbook daemon is running on unix://{socket_path}",
                                {"socket": socket_path}) from None  # fmt: skip
        if not hasattr(socket, "SO_PEERCRED"):
            raise StudbookError("FAILED_PRECONDITION", "NOT_A_STUDBOOK_DAEMON",
                                f"this system cannot say which process listens on {socket_path}; stop the daemon "
                                "with Ctrl-C where it runs, or kill its process")  # fmt: skip
        creds = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    finally:
        probe.close()
    pid, uid, _gid = struct.unpack("3i", creds)
    return pid, uid


def _is_studbook_daemon(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [arg.decode(errors="replace") for arg in argv]
    # `python -m studbook.daemon ...`: the module follows -m.
    return any(word == "-m" and following in DAEMON_MODULES for word, following in zip(words, words[1:]))


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for its parent (which serves nothing).

    Every thread counts, not only the main one: a daemon's main thread may end before its last
    other thread, and the kernel then lists the process as a zombie while it still holds its
    files, the data dir's lock among them (a `serve` right after would be refused)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    return any(_thread_running(f"/proc/{pid}/task/{thread}/stat") for thread in threads)


def _thread_running(stat_path: str) -> bool:
    try:
        stat = Path(stat_path).read_text()
    except OSError:
        return False  # ended since it was listed
    # The state follows the command name in parentheses, which may itself hold spaces.
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def is_listening(socket_path: str) -> bool:
    """Something accepts connections on the socket."""
    return _answers(socket_path)


def _answers(socket_path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(socket_path)
    except OSError:
        return False
    finally:
        probe.close()
    return True
