"""Wakes a daemon when another one commits to the shared PostgreSQL catalog.

Each write transaction sends a NOTIFY on `CHANNEL` with its revision (delivered at commit, and
only then). A `Listener` holds one dedicated connection that LISTENs on it, on a thread of its
own, and calls `wake` for every notification (with the revision it names, so that a daemon
told of its own commit need not read anything) and also every `POLL_INTERVAL` without one
(with None): a notification can be lost with its connection, and the wake-up reads the events
table by revision, so a missed one only delays a follower, never skips an event. After a lost connection
it reconnects with a growing pause (up to `MAX_BACKOFF`) and wakes once connected again, to
catch up on whatever was committed meanwhile. What it last knew of its connection (`state`) is
for the daemon's status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from studbook.daemon.store.interface import ListenerState

log = logging.getLogger(__name__)

CHANNEL = "studbook_events"
# The longest a follower waits without a notification before it reads the events table anyway.
POLL_INTERVAL = 2.0
# How long the listening thread waits for a notification at a time: it looks at `stop` this often,
# so a daemon stops without waiting out a whole POLL_INTERVAL.
WAIT_SLICE = 0.1
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class Listener:
    """LISTENs for commits on its own connection and thread; `wake` runs on that thread."""

    def __init__(self, dsn: str, wake: Callable[[int | None], None], connect_options: dict[str, Any]) -> None:
        self._dsn = dsn
        self._wake = wake
        self._options = connect_options
        self._stopped = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="studbook-listener", daemon=True)
        # Whether the listening connection is up: what a health report or a test may ask.
        self.connected = threading.Event()
        self._problem = "not connected yet"
        self._since = time.time()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=POLL_INTERVAL * 2)

    def state(self) -> ListenerState:
        connected = self.connected.is_set()
        return ListenerState(connected, "" if connected else self._problem, self._since)

    def _set_state(self, connected: bool, problem: str = "") -> None:
        if connected != self.connected.is_set():
            self._since = time.time()
        self._problem = problem
        if connected:
            self.connected.set()
        else:
            self.connected.clear()

    def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, **self._options) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._set_state(True)
                    backoff = FIRST_BACKOFF
                    self._call_wake(None)  # whatever was committed while not listening
                    looked = time.monotonic()
                    while not self._stopped.is_set():
                        notices = [notice.payload for notice in conn.notifies(timeout=WAIT_SLICE, stop_after=1)]
                        if time.monotonic() - looked >= POLL_INTERVAL:
                            self._call_wake(None)
                            looked = time.monotonic()
                        elif notices:
                            self._call_wake(_revision(notices))
            except psycopg.Error as exc:
                problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self._set_state(False, problem)
                if self._stopped.is_set():
                    return
                log.warning("lost the PostgreSQL catalog's notifications (%s); reconnecting in %.1f s",
                            problem, backoff)  # fmt: skip
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        self._set_state(False, "stopped")

    def _call_wake(self, revision: int | None) -> None:
        try:
            self._wake(revision)
        except Exception:  # noqa: BLE001 - the listener must outlive a failed catch-up; it retries
            log.warning("catching up with the shared catalog failed; retrying at the next wake-up", exc_info=True)


def _revision(payloads: list[str]) -> int | None:
    """The newest revision notices name; None when one names none (then everything is read)."""
    try:
        return max(int(payload) for payload in payloads)
    except ValueError:
        return None
