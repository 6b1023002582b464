"""Decides when the DuckDB catalog's metric_summary is re-clustered, and does it off the event
loop and off the writer's critical path (see store/cluster.py for how)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.store.interface import StoreTransaction

if TYPE_CHECKING:  # made for DuckDB catalogs only: a daemon on PostgreSQL never imports DuckDB
    from studbook.daemon.store.catalog import Catalog

log = logging.getLogger(__name__)

# Below this many rows a scan is cheap whatever the order: no clustering.
MIN_ROWS = 100_000
# Re-cluster once rows added since the last clustering pass this share of the table; each
# re-cluster copies the table, so a smaller share costs more copies for little pruning.
TAIL_SHARE = 0.10
# Commits wake the check at most this often: counting rows is cheap but not free.
CHECK_EVERY = 5.0


class Clustering:
    """A thread that, after start-up and after commits, re-clusters metric_summary when its
    unsorted tail is large.

    `submit` runs a write operation on the writer thread; the swap it runs returns `done()`,
    whatever the writer publishes for an operation that changed nothing visible.
    """

    def __init__(
        self,
        catalog: Catalog,
        submit: Callable[[Callable[[StoreTransaction], Any]], Future[Any]],
        done: Callable[[], Any],
        *,
        min_rows: int = MIN_ROWS,
        share: float = TAIL_SHARE,
        every: float = CHECK_EVERY,
    ) -> None:
        self._catalog = catalog
        self._submit = submit
        self._done = done
        self.min_rows = min_rows
        self.share = share
        self.every = every
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="studbook-clustering", daemon=True)
        self.runs = 0
        # Commits so far; read on the writer thread, it tells whether any landed since a moment.
        self.commits = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """A build under way gives up before its next key; a swap under way is waited for (the
        writer must still be running)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join()

    def committed(self) -> None:
        """On the writer thread after a commit: a hint that the tail may have grown."""
        self.commits += 1
        self._wake.set()

    def due(self, total: int, clustered: int) -> bool:
        return total >= self.min_rows and total - clustered > self.share * total

    def _run(self) -> None:
        # Checked once a little after start-up whatever is written: a catalog can arrive with
        # its rows out of key order (a copy from PostgreSQL, a daemon stopped before its check).
        # Not at once: the first requests come first.
        self._wake.set()
        if self._stopping.wait(self.every):
            return
        while True:
            self._wake.wait()
            if self._stopping.is_set():
                return
            self._wake.clear()
            try:
                self.run_if_due()
            except RegistryError as exc:
                log.warning("metric_summary was not re-clustered: %s", exc.message)
            except Exception:  # noqa: BLE001 - the thread must outlive a failed attempt
                log.exception("metric_summary was not re-clustered")
            # Checks wait between them, however many commits come.
            if self._stopping.wait(self.every):
                return

    def run_if_due(self) -> bool:
        from studbook.daemon.store import cluster  # DuckDB's: imported only where a DuckDB catalog is

        total, clustered = self._catalog.metric_tail()
        if not self.due(total, clustered):
            return False
        log.info("re-clustering metric_summary by key (%d rows, %d added since the last time)",
                 total, total - clustered)  # fmt: skip
        began = time.monotonic()
        # Read before the copy's snapshot: a commit that lands in between counts as after it,
        # which at worst costs the swap a carry-over that finds nothing.
        seen = self.commits
        try:
            built_table = self._catalog.build_clustered_metrics(self._stopping.is_set)
        except cluster.Abandoned:
            log.info("re-clustering metric_summary given up: the daemon is stopping")
            return False
        built = time.monotonic()
        quick = False

        def swap(tx: StoreTransaction) -> Any:
            nonlocal quick
            # Nothing committed since `seen`, and nothing written by the ops before this one in
            # its group: the built table holds every row as it stands.
            quick = self.commits == seen and tx.writes == 0
            cluster.swap(tx, built_table, unchanged=quick)
            return self._done()

        self._submit(swap).result()
        self.runs += 1
        log.info("metric_summary re-clustered: built in %.2f s, swapped in by the writer in %.3f s (%s)",
                 built - began, time.monotonic() - built,
                 "nothing to carry over" if quick else "writes carried over")  # fmt: skip
        return True
