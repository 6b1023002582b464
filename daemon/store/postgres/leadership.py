"""One daemon at a time does a job for a shared PostgreSQL catalog (delivering webhooks): the one
holding a session-level advisory lock on a connection of its own.

The lock is PostgreSQL's, so it goes with its holder: a daemon that stops, crashes or loses its
connection frees it, and the next daemon to ask takes the job over. Blocking: call `try_lead`
from a worker thread, never from the event loop.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import psycopg

log = logging.getLogger(__name__)


class AdvisoryLeadership:
    def __init__(self, dsn: str, role: str, connect_options: dict[str, Any]) -> None:
        self._dsn = dsn
        self._role = role
        # The lock's key: the role's name hashed into the signed 64 bits PostgreSQL takes.
        self._key = int.from_bytes(hashlib.sha256(f"studbook:{role}".encode()).digest()[:8], "big", signed=True)
        self._options = connect_options
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False

    def try_lead(self) -> bool:
        """Whether this daemon holds the role now: it takes it when free, and proves its hold
        by asking its connection (a lost connection lost the lock with it)."""
        try:
            if self._conn is None or self._conn.closed:
                self._held = False
                self._conn = psycopg.connect(self._dsn, autocommit=True, **self._options)
            if self._held:
                self._conn.execute("SELECT 1")
            else:
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", [self._key]).fetchone()
                self._held = bool(row and row[0])
                if self._held:
                    log.info("this daemon now does %s for the shared catalog", self._role)
        except psycopg.Error as exc:
            if self._held:
                log.warning("lost the %s role with the catalog connection (%s)", self._role,
                            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)  # fmt: skip
            self._drop()
        return self._held

    def release(self) -> None:
        self._drop()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.close()  # the session's advisory lock ends with it
            except psycopg.Error:
                pass
            self._conn = None
