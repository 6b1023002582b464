"""Group commit: one thread owns every write and commits concurrent requests together."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.store.catalog import DurableCommit, StoreFull, wrap_store_errors
from studbook.daemon.store.interface import Store
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.records import CatalogMovedOn

log = logging.getLogger(__name__)

T = TypeVar("T")

# A write operation runs on the writer thread inside an open transaction. It must check
# everything before it writes: a RegistryError raised by an op means "refused, wrote nothing".
Operation = Callable[[Transaction], T]

MAX_BATCH = 256


class _Job(Generic[T]):
    __slots__ = ("operation", "future")

    def __init__(self, operation: Operation[T]) -> None:
        self.operation = operation
        self.future: Future[T] = Future()


class Writer:
    """Runs write operations one at a time on a single thread and commits them in groups.

    Whatever is queued while a commit is in flight goes into the next transaction, so N
    concurrent writers pay for about one commit instead of N, and every future resolves only
    after its transaction is durable. If a group fails, each operation is retried alone so one
    bad write cannot take its neighbours down.

    `on_commit` runs on the writer thread after each durable commit with the values the ops
    returned; `on_abort` runs after a rollback so in-memory state can be reloaded.

    A failure that invalidates DuckDB's connection (a checkpoint that meets a full disk) is
    not the end: the writer reopens the catalog and reloads, so reads go on and writes take
    again once there is room. Until a reopen succeeds, each group is refused with its error.
    """

    def __init__(
        self,
        catalog: Store,
        on_commit: Callable[[list[Any]], None],
        on_abort: Callable[[], None],
    ) -> None:
        self._catalog = catalog
        self._on_commit = on_commit
        self._on_abort = on_abort
        self._queue: queue.Queue[_Job[Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="studbook-writer", daemon=True)
        self._stopped = False
        # Why the catalog cannot be written until it is reopened; None while it can.
        self._broken: RegistryError | None = None
        self.commits = 0
        self.operations = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, operation: Operation[T]) -> Future[T]:
        job = _Job(operation)
        if self._stopped:
            _settle(job.future, error=RegistryError("the daemon is shutting down", reason="SHUTTING_DOWN"))
            return job.future
        self._queue.put(job)
        return job.future

    def stop(self) -> None:
        """Finishes what is queued, then stops the thread."""
        self._stopped = True
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            self._commit_group(batch)
            if stop:
                return

    def _commit_group(self, batch: list[_Job[Any]], moved_on: bool = False) -> None:
        if self._broken is not None and not self._recover():
            for job in batch:
                _settle(job.future, error=self._broken)
            return
        tx = self._catalog.transaction()
        results: list[tuple[_Job[Any], Any, BaseException | None]] = []
        try:
            tx.begin()
            for job in batch:
                try:
                    results.append((job, job.operation(tx), None))
                except RegistryError as refused:
                    results.append((job, None, refused))
            tx.commit()
        except DurableCommit as landed:
            # The group is committed and in-memory state already holds it: answer as usual.
            log.warning("%s; reopening the catalog", landed)
            self._recover(reload=False)
        except Exception as exc:  # noqa: BLE001 - any failure: undo the group, retry alone
            tx.rollback()
            if not self._recover():
                for job in batch:
                    _settle(job.future, error=wrap_store_errors(exc))
                return
            if isinstance(exc, CatalogMovedOn) and not moved_on:
                # Another daemon wrote first; the state is reloaded now: run the group again, once.
                self._commit_group(batch, moved_on=True)
                return
            if len(batch) == 1:
                refusal = wrap_store_errors(exc)
                _settle(batch[0].future, error=refusal)
                if isinstance(refusal, StoreFull):
                    log.warning("write refused: %s", refusal.message)
                else:
                    log.exception("write failed")
                return
            for job in batch:
                self._commit_group([job])
            return
        self.commits += 1
        self.operations += len(batch)
        try:
            self._on_commit([value for _, value, error in results if error is None])
        finally:
            for job, value, error in results:
                _settle(job.future, value, error)

    def _recover(self, reload: bool = True) -> bool:
        """Reopens the catalog if DuckDB invalidated it, then reloads in-memory state; False
        (and the reason kept for the next groups) while that fails."""
        try:
            if self._catalog.reopen_if_invalidated():
                log.warning("the catalog %s was reopened after a fatal error", self._catalog.location)
            if reload:
                self._on_abort()
        except Exception as exc:  # noqa: BLE001 - the writer thread must outlive a bad disk
            self._broken = wrap_store_errors(exc)
            log.error("the catalog cannot be reopened (%s); writes are refused until it can", exc)
            return False
        self._broken = None
        return True


def _settle(future: Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    """Resolves a job's future unless its caller gave up on it (a cancelled RPC): the write
    itself stands either way, and a cancelled future must not take the writer down."""
    if future.cancelled():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
