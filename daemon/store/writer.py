"""Group commit: one thread owns every write and commits concurrent requests together."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.store.catalog import Catalog, Transaction, wrap_store_errors

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
    """

    def __init__(
        self,
        catalog: Catalog,
        on_commit: Callable[[list[Any]], None],
        on_abort: Callable[[], None],
    ) -> None:
        self._catalog = catalog
        self._on_commit = on_commit
        self._on_abort = on_abort
        self._queue: queue.Queue[_Job[Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="studbook-writer", daemon=True)
        self._stopped = False
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

    def _commit_group(self, batch: list[_Job[Any]]) -> None:
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
        except Exception as exc:  # noqa: BLE001 - any failure: undo the group, retry alone
            tx.rollback()
            self._on_abort()
            if len(batch) == 1:
                _settle(batch[0].future, error=wrap_store_errors(exc))
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


def _settle(future: Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    """Resolves a job's future unless its caller gave up on it (a cancelled RPC): the write
    itself stands either way, and a cancelled future must not take the writer down."""
    if future.cancelled():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
