"""Group commit: one thread owns every write and commits concurrent requests together."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.store.interface import Store
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.records import CatalogMovedOn, DurableCommit, StoreFull, wrap_store_errors

log = logging.getLogger(__name__)

T = TypeVar("T")

# A write operation runs on the writer thread inside an open transaction. It should check
# everything before it writes: a RegistryError raised by an op means "refused, wrote nothing".
# The writer holds it to that: a refusal raised after the op wrote (Transaction.writes moved)
# rolls the whole group back and runs each op alone, so the refused one leaves nothing.
Operation = Callable[[Transaction], T]

MAX_BATCH = 256
# Group commit waits a little for writers it expects: a group costs about the same whatever
# its size (on DuckDB, each table's insert and the commit are a statement of 1-3 ms of CPU),
# so with 16 concurrent clients, groups that alternate between 15 and 1 pay twice for what
# one group of 16 pays once. The writers it expects are those the last group answered plus
# those that queued while it committed (a client waits for its answer before it writes again,
# so these are distinct); it waits while fewer are here, and at most as long as the CPU a
# group costs whatever its size: a writer left out of this group would cost another group
# that much. Where a group costs little CPU and mostly waits for the disk (PostgreSQL), it
# hardly waits, which would only slow a writer bound by its commits' latency. A lone client
# (groups of one) never waits. Measured with 16 clients on DuckDB, on a machine crowded by
# other work: waiting for the size of the last groups while no gap between two jobs passed
# 2 ms (6 ms in all) made groups of 8.6 to 9.5; this makes groups of 12 to 15, and the CPU
# a version costs fell by a fifth.
LINGER_CAP = 0.030
# How quickly the CPU a group costs, as the writer reckons it, follows the latest groups.
_SMOOTHING = 0.2


class _Job(Generic[T]):
    __slots__ = ("operation", "future")

    def __init__(self, operation: Operation[T]) -> None:
        self.operation = operation
        self.future: Future[T] = Future()


class _RefusedAfterWriting(Exception):
    """An operation refused after it had written: its group cannot be committed as it is."""

    def __init__(self, refusal: RegistryError) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


class Writer:
    """Runs write operations one at a time on a single thread and commits them in groups.

    Whatever is queued while a commit is in flight goes into the next transaction, so N
    concurrent writers pay for about one commit instead of N, and every future resolves only
    after its transaction is durable. If a group fails, each operation is retried alone so one
    bad write cannot take its neighbours down; so too when an operation refuses after it has
    written, which would otherwise commit half of a refused operation with its group.

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
        on_moved_on: Callable[[], None] | None = None,
    ) -> None:
        self._catalog = catalog
        self._on_commit = on_commit
        self._on_abort = on_abort
        # Brings in-memory state up to another daemon's commits; unlike `on_abort` it may rely
        # on that state holding nothing uncommitted (no operation ran since the last commit).
        self._on_moved_on = on_moved_on or on_abort
        self._queue: queue.Queue[_Job[Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="studbook-writer", daemon=True)
        self._stopped = False
        # Why the catalog cannot be written until it is reopened; None while it can.
        self._broken: RegistryError | None = None
        self.commits = 0
        self.operations = 0
        # The writers there were at the last commit, and the CPU a group costs lately whatever
        # its size (seconds): what group commit waits for, and how long at most (see LINGER_CAP).
        self._expected = 0
        self._group_cpu = 0.0
        # The stop sentinel, when `_gather` took it from the queue.
        self._stop_gathered = False

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
        if self.commits:
            # How well group commit grouped: each group costs about the same whatever its size.
            log.info("the writer committed %d operations in %d groups (%.1f a group)", self.operations,
                     self.commits, self.operations / self.commits)  # fmt: skip

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + min(self._group_cpu, LINGER_CAP)
            while len(batch) < MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    wait = deadline - time.monotonic()
                    if len(batch) >= self._expected or wait <= 0:
                        break
                    try:
                        job = self._queue.get(timeout=wait)
                    except queue.Empty:
                        break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            self._commit_group(batch, gather=True)
            if stop or self._stop_gathered:
                return

    def _gather(self, batch: list[_Job[Any]]) -> None:
        """Adds to `batch` the jobs queued while its transaction began: on a catalog shared with
        other daemons, beginning waits for the write lock while another daemon commits, and
        whoever came meanwhile can share this commit rather than wait for the next."""
        while len(batch) < MAX_BATCH and not self._stop_gathered:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is None:
                self._stop_gathered = True
            else:
                batch.append(job)

    def _commit_group(self, batch: list[_Job[Any]], moved_on: bool = False, gather: bool = False) -> None:
        """Runs and commits `batch` in one transaction (see the class); with `gather`, jobs
        queued by the time the transaction has begun join it (see `_gather`)."""
        if self._broken is not None and not self._recover():
            for job in batch:
                _settle(job.future, error=self._broken)
            return
        tx = self._catalog.transaction()
        results: list[tuple[_Job[Any], Any, BaseException | None]] = []
        try:
            # The CPU this thread spends beginning (with catching up on other daemons' commits),
            # and in the buffered inserts and the commit, rather than in the operations: what a
            # group costs whatever its size, and so how long group commit may wait for writers.
            spent = time.thread_time()
            try:
                tx.begin()
            except CatalogMovedOn as moved:
                # Another daemon committed since this one last looked. The transaction is open
                # and holds the catalog's write lock, so nobody can commit until it ends: every
                # decision input (models, facts, promotion ids, chain head, revision) reloaded
                # now is current when the group runs, and the group needs no second try.
                log.debug("%s; reloading before the group runs", moved)
                self._on_moved_on()
            spent = time.thread_time() - spent
            if gather:
                self._gather(batch)
            for job in batch:
                written = tx.writes
                try:
                    results.append((job, job.operation(tx), None))
                except RegistryError as refused:
                    if tx.writes != written:
                        raise _RefusedAfterWriting(refused) from refused
                    results.append((job, None, refused))
            committing = time.thread_time()
            tx.commit()
            spent += time.thread_time() - committing
        except DurableCommit as landed:
            # The group is committed and in-memory state already holds it: answer as usual.
            log.warning("%s; reopening the catalog", landed)
            self._recover(reload=False)
        except _RefusedAfterWriting as late:
            # Without savepoints the refused op's writes cannot be undone alone: undo the group,
            # reload what the ops changed in memory, and run each op in a transaction of its own.
            tx.rollback()
            if not self._recover():
                for job in batch:
                    _settle(job.future, error=self._broken)
                return
            if len(batch) == 1:
                log.warning("a write was refused after it had written (rolled back; it should check "
                            "first): %s", late.refusal.message)  # fmt: skip
                _settle(batch[0].future, error=late.refusal)
                return
            for job in batch:
                self._commit_group([job])
            return
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
        # Counted before any answer goes out, so no writer of this group has come back yet.
        self._expected = len(batch) + self._queue.qsize()
        try:
            self._on_commit([value for _, value, error in results if error is None])
        finally:
            self._group_cpu += _SMOOTHING * (spent - self._group_cpu)
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
