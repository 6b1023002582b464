"""Group commit: one thread owns every write and commits concurrent requests together."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
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
# so these are distinct); it waits while fewer are here, and at most as long as a group takes
# to begin and commit whatever its size: a writer left out of this group would cost another
# group that much. That time is CPU on DuckDB, and mostly round trips and the server's disk
# flush on PostgreSQL. A lone client (groups of one) never waits. Measured with 16 clients on
# DuckDB, on a machine crowded by other work: waiting for the size of the last groups while no
# gap between two jobs passed 2 ms (6 ms in all) made groups of 8.6 to 9.5; this makes groups
# of 12 to 15, and the CPU a version costs fell by a fifth. On PostgreSQL, bounding the wait by
# the CPU a group costs (as this did first) waited too little for the groups to fill: bounded
# by its time, one daemon registered 984 versions/s against 920, alternating runs in one script.
LINGER_CAP = 0.030
# ... and at least this long. A group journaled on DuckDB (store/journal.py) costs about 1.5 ms
# to make durable, less than the 16 clients take to come back (their requests reach the writer
# over ~7 ms here): bounded by that cost alone, groups of 16 came as groups of about 13 and the
# rest, and journaling gained little. With this floor they came whole: 1,053-1,068 versions/s
# against 942-979 committing each group into DuckDB (the same floor; alternating runs). A lone
# client never waits, and a client that stops costs one group this wait before the writer
# expects fewer.
LINGER_FLOOR = 0.010
# How quickly the time a group costs, as the writer reckons it, follows the latest groups.
_SMOOTHING = 0.2


class _Job(Generic[T]):
    """An operation and where its outcome goes: a thread's Future, or a future on an event loop."""

    __slots__ = ("operation", "future", "loop")

    def __init__(self, operation: Operation[T], loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.operation = operation
        self.loop = loop
        self.future: Future[T] | asyncio.Future[T] = Future() if loop is None else loop.create_future()


class _Inbox:
    """The writer's queue. Unlike queue.Queue it wakes the writer only once as many jobs as it
    waits for are in: a group of 16 gathered through Queue.get woke the writer thread 16 times,
    and each time it took the GIL from the event loop that was reading the next requests."""

    def __init__(self) -> None:
        self._jobs: deque[_Job[Any] | None] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._wanted = 1

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, job: _Job[Any] | None) -> None:
        with self._ready:
            self._jobs.append(job)
            # None is the stop sentinel: always worth waking for.
            if job is None or len(self._jobs) >= self._wanted:
                self._ready.notify()

    def take(self, most: int, wanted: int = 0, deadline: float | None = None) -> list[_Job[Any] | None]:
        """Up to `most` queued jobs, in order, once `wanted` are in (or the stop sentinel is, or
        `deadline` on the monotonic clock has passed; with no deadline, waits as long as it takes)."""
        with self._ready:
            while len(self._jobs) < wanted and None not in self._jobs:
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    break
                self._wanted = wanted
                try:
                    self._ready.wait(timeout)
                finally:
                    self._wanted = 1
            return [self._jobs.popleft() for _ in range(min(most, len(self._jobs)))]


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
        on_moved_on: Callable[[CatalogMovedOn], None] | None = None,
    ) -> None:
        self._catalog = catalog
        self._on_commit = on_commit
        self._on_abort = on_abort
        # Brings in-memory state up to another daemon's commits; unlike `on_abort` it may rely
        # on that state holding nothing uncommitted (no operation ran since the last commit),
        # and may take what was committed meanwhile from the exception that says so.
        self._on_moved_on = on_moved_on or (lambda _: on_abort())
        self._inbox = _Inbox()
        self._thread = threading.Thread(target=self._run, name="studbook-writer", daemon=True)
        self._stopped = False
        # Why the catalog cannot be written until it is reopened; None while it can.
        self._broken: RegistryError | None = None
        self.commits = 0
        self.operations = 0
        # The writers there were at the last commit, and the time a group costs lately whatever
        # its size (seconds): what group commit waits for, and how long at most (see LINGER_CAP).
        self._expected = 0
        self._group_time = 0.0
        # The stop sentinel, when `_gather` took it from the queue.
        self._stop_gathered = False
        # Outcomes of the group being committed, resolved together by `_deliver`.
        self._answers: list[tuple[_Job[Any], Any, BaseException | None]] = []

    def start(self) -> None:
        self._thread.start()

    def submit(self, operation: Operation[T]) -> Future[T]:
        """Queues `operation`; the Future resolves once it is durable (or refused)."""
        job: _Job[T] = _Job(operation)
        self._enqueue(job)
        return job.future  # type: ignore[return-value]

    def submit_async(self, operation: Operation[T]) -> asyncio.Future[T]:
        """`submit` for a caller on the running event loop: the loop is woken once per group to
        resolve all of its futures, rather than once per operation. Waking it per operation let
        it take the GIL back after each answer, and a group of 16 took 2-6 ms to answer
        (measured) instead of well under one."""
        job: _Job[T] = _Job(operation, asyncio.get_running_loop())
        self._enqueue(job)
        return job.future  # type: ignore[return-value]

    def _enqueue(self, job: _Job[Any]) -> None:
        if self._stopped:
            _settle(job.future, error=_shutting_down())
        else:
            self._inbox.put(job)

    def stop(self) -> None:
        """Finishes what is queued, then stops the thread."""
        self._stopped = True
        self._inbox.put(None)
        self._thread.join()
        if self.commits:
            # How well group commit grouped: each group costs about the same whatever its size.
            log.info("the writer committed %d operations in %d groups (%.1f a group)", self.operations,
                     self.commits, self.operations / self.commits)  # fmt: skip

    def _run(self) -> None:
        while True:
            batch = self._inbox.take(MAX_BATCH, wanted=1)
            deadline = time.monotonic() + min(max(self._group_time, LINGER_FLOOR), LINGER_CAP)
            if None not in batch and len(batch) < min(self._expected, MAX_BATCH):
                batch += self._inbox.take(MAX_BATCH - len(batch), wanted=self._expected - len(batch), deadline=deadline)
            jobs, stop = self._until_stop(batch)
            try:
                if jobs:
                    self._commit_group(jobs, gather=not stop)
            finally:
                self._deliver()
            if stop or self._stop_gathered:
                return

    def _gather(self, batch: list[_Job[Any]]) -> None:
        """Adds to `batch` the jobs queued while its transaction began: on a catalog shared with
        other daemons, beginning waits for the write lock while another daemon commits, and
        whoever came meanwhile can share this commit rather than wait for the next."""
        if self._stop_gathered or len(batch) >= MAX_BATCH:
            return
        jobs, self._stop_gathered = self._until_stop(self._inbox.take(MAX_BATCH - len(batch)))
        batch += jobs

    def _commit_group(self, batch: list[_Job[Any]], moved_on: bool = False, gather: bool = False) -> None:
        """Runs and commits `batch` in one transaction (see the class); with `gather`, jobs
        queued by the time the transaction has begun join it (see `_gather`)."""
        if self._broken is not None and not self._recover():
            for job in batch:
                self._answer(job, error=self._broken)
            return
        tx = self._catalog.transaction()
        results: list[tuple[_Job[Any], Any, BaseException | None]] = []
        try:
            # The time spent beginning (with catching up on other daemons' commits), and in the
            # buffered inserts and the commit, rather than in the operations: what a group costs
            # whatever its size, and so how long group commit may wait for writers.
            spent = time.perf_counter()
            try:
                tx.begin()
            except CatalogMovedOn as moved:
                # Another daemon committed since this one last looked. The transaction is open
                # and holds the catalog's write lock, so nobody can commit until it ends: every
                # decision input (models, facts, promotion ids, chain head, revision) reloaded
                # now is current when the group runs, and the group needs no second try.
                log.debug("%s; reloading before the group runs", moved)
                self._on_moved_on(moved)
            spent = time.perf_counter() - spent
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
            committing = time.perf_counter()
            tx.commit()
            spent += time.perf_counter() - committing
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
                    self._answer(job, error=self._broken)
                return
            if len(batch) == 1:
                log.warning("a write was refused after it had written (rolled back; it should check "
                            "first): %s", late.refusal.message)  # fmt: skip
                self._answer(batch[0], error=late.refusal)
                return
            for job in batch:
                self._commit_group([job])
            return
        except Exception as exc:  # noqa: BLE001 - any failure: undo the group, retry alone
            tx.rollback()
            if not self._recover():
                for job in batch:
                    self._answer(job, error=wrap_store_errors(exc))
                return
            if isinstance(exc, CatalogMovedOn) and not moved_on:
                # Another daemon wrote first; the state is reloaded now: run the group again, once.
                self._commit_group(batch, moved_on=True)
                return
            if len(batch) == 1:
                refusal = wrap_store_errors(exc)
                self._answer(batch[0], error=refusal)
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
        self._expected = len(batch) + len(self._inbox)
        try:
            self._on_commit([value for _, value, error in results if error is None])
        finally:
            self._group_time += _SMOOTHING * (spent - self._group_time)
            for job, value, error in results:
                self._answer(job, value, error)

    def _until_stop(self, taken: list[_Job[Any] | None]) -> tuple[list[_Job[Any]], bool]:
        """The jobs taken before the stop sentinel, and whether it was taken. Any after it were
        queued as the writer was stopping, and are refused as a submit after the stop is."""
        if None not in taken:
            return taken, False  # type: ignore[return-value]
        cut = taken.index(None)
        for job in taken[cut + 1 :]:
            self._answer(job, error=_shutting_down())  # type: ignore[arg-type]
        return taken[:cut], True  # type: ignore[return-value]

    def _answer(self, job: _Job[Any], value: Any = None, error: BaseException | None = None) -> None:
        """Keeps a group's outcome until `_deliver`, once the group (and any retries) is done."""
        self._answers.append((job, value, error))

    def _deliver(self) -> None:
        """Resolves the futures of what was answered: a thread's at once, a loop's in one call a loop."""
        answers, self._answers = self._answers, []
        on_loops: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, BaseException | None]]] = {}
        for job, value, error in answers:
            if job.loop is None:
                _settle(job.future, value, error)
            else:
                on_loops.setdefault(job.loop, []).append((job.future, value, error))
        for loop, outcomes in on_loops.items():
            try:
                loop.call_soon_threadsafe(_settle_all, outcomes)
            except RuntimeError:
                pass  # the loop has closed: nobody waits for these answers any more

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


def _shutting_down() -> RegistryError:
    return RegistryError("the daemon is shutting down", reason="SHUTTING_DOWN")


def _settle_all(outcomes: list[tuple[Any, Any, BaseException | None]]) -> None:
    for future, value, error in outcomes:
        _settle(future, value, error)


def _settle(future: Future[Any] | asyncio.Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    """Resolves a job's future unless its caller gave up on it (a cancelled RPC): the write
    itself stands either way, and a cancelled future must not take the writer down."""
    if future.cancelled():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
