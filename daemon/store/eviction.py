"""Handing DuckDB's cache of table blocks back once the catalog has been idle for a moment.

DuckDB keeps every block a query read in its buffer pool until the pool reaches its memory
limit (by default most of the machine's memory), so an idle daemon holds what its last searches
read: at 1M versions a metric search reads the key and value columns of every metric row (~40
MiB of blocks) and the page's rows another ~13 MiB; the daemon stayed at ~172 MiB after
searches, against ~99 MiB after start. DuckDB offers no call to drop that cache, but lowering
its memory limit evicts unpinned blocks down to the new limit; raising it back at once leaves
the pool empty and every later query as it was.

A query running while the limit is low could fail for want of memory, so the limit is lowered
only while no query, transaction or copy is in flight, and each of them waits for the few
milliseconds the eviction takes (`busy`). The cost is the first search after an idle spell: it
reads its blocks from the file (the page cache) again, ~25% more CPU at 1M versions; searches in
a row keep their blocks, since nothing is evicted until the catalog has been idle `after_s`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb

log = logging.getLogger(__name__)

# Idle seconds before the cache is handed back: the pause between one search and the next when
# a person pages through results is shorter, and the allocator returns what a query freed about
# a second after it (catalog.ENGINE_SETTINGS), so an idle daemon settles within ~2 s.
EVICT_AFTER_S = 1.0
# Lowered to this, DuckDB evicts every unpinned block; it refuses (and keeps what it could not
# evict, such as loaded indexes, which are never evicted) when more is pinned, which is fine.
_EVICTING_LIMIT = "1MB"


class IdleEviction:
    """Counts what uses the catalog's connection and, after `after_s` without any, evicts
    DuckDB's buffer pool on a thread of its own."""

    def __init__(self, connection: Callable[[], duckdb.DuckDBPyConnection], after_s: float = EVICT_AFTER_S) -> None:
        self._connection = connection
        self._after_s = after_s
        self._changed = threading.Condition()
        self._in_flight = 0
        self._last_use = time.monotonic()
        # Whether anything ran since the last eviction: an idle daemon is not woken for nothing.
        self._used = False
        self._stopped = False
        self.evictions = 0
        self._limit = str(connection().execute("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[index]
        self._thread = threading.Thread(target=self._run, name="catalog-eviction", daemon=True)
        self._thread.start()

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Around any use of the connection: no eviction runs while it lasts."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def enter(self) -> None:
        # Holding the condition's lock during an eviction makes a new use wait for its end.
        with self._changed:
            self._in_flight += 1
            self._used = True

    def leave(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._last_use = time.monotonic()
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        with self._changed:
            while not self._stopped:
                if not self._used or self._in_flight:
                    self._changed.wait()
                    continue
                idle = time.monotonic() - self._last_use
                if idle < self._after_s:
                    self._changed.wait(self._after_s - idle)
                    continue
                # Still under the lock: nothing enters until the limit is back.
                self._evict()
                self._used = False

    def _evict(self) -> None:
        try:
            cursor = self._connection().cursor()
        except duckdb.Error:
            return  # the connection is closing or being reopened: the next idle spell will do
        try:
            try:
                cursor.execute(f"SET memory_limit = '{_EVICTING_LIMIT}'")
            except duckdb.OutOfMemoryException:
                pass  # evicted what it could; the rest is pinned or never evictable
            finally:
                cursor.execute(f"SET memory_limit = '{self._limit}'")
            self.evictions += 1
        except duckdb.Error as exc:
            log.warning("could not hand back the catalog's cached blocks: %s", exc)
        finally:
            cursor.close()
