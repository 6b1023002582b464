"""DropWatcher: observers feed hints, a debounced worker settles units, reconciles keep it true.

Three tasks run on the event loop:
- the worker drains hints, debounces them per unit and settles due units, a few at once;
- the reconciler lists every root at start-up and every `reconcile_seconds`, because
  events are only hints and the disk is the truth;
- the supervisor checks each second that every root is still the folder being watched
  and that its observer still runs, re-watching (polling if it must) and reporting
  degraded health when something could have cost a drop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import stat
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from studbook.daemon.app.drops import DropRecord, DropState
from studbook.daemon.app.registry import Registry
from studbook.daemon.app.waiting import wait_for_event
from studbook.daemon.artifacts import ScanLimits
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument
from studbook.daemon.watch.deaths import Death, short
from studbook.daemon.watch.hints import DEFAULT_CAPACITY, HintHandler, HintQueue, OverflowLogHandler
from studbook.daemon.watch.judge import JudgeSettings, UnitJudge
from studbook.daemon.watch.layout import UnitKey, is_ignored_name, is_sidecar_name, is_speakable, is_speakable_name
from studbook.daemon.watch.observers import ObserverPool, native_observer
from studbook.daemon.watch.status import Counters, Incident, IncidentLog, RootStatus, WatchStatus
from watchdog.observers.api import BaseObserver

log = logging.getLogger(__name__)

# A settle that failed unexpectedly is looked at again after this long, not in a tight loop.
ERROR_RETRY_SECONDS = 5.0
# How long stopping waits for units being settled (hashing can take a while).
STOP_GRACE_SECONDS = 10.0
# watchdog logs kernel queue overflows here and nowhere else.
WATCHDOG_LOGGER = "watchdog.observers"

# Called with True when watching is healthy, False when degraded.
HealthCallback = Callable[[bool], Awaitable[None]]


@dataclass
class WatchSettings:
    roots: list[Path]
    poll: bool = False
    """Use the polling observer from the start (network file systems)."""
    quiet_seconds: float = 2.0
    reconcile_seconds: float = 60.0
    queue_capacity: int = DEFAULT_CAPACITY
    workers: int = 4
    """Units settled at once; hashing runs in threads, so a few overlap well."""
    supervise_seconds: float = 1.0
    scan_limits: ScanLimits = ScanLimits()
    in_place_roots: list[Path] = field(default_factory=list)
    """Roots (also in `roots`) whose drops stay where they are: referenced, not kept."""

    @property
    def poll_interval(self) -> float:
        return min(1.0, max(0.1, self.quiet_seconds / 2))


def normalise_roots(roots: list[Path]) -> list[str]:
    """Absolute, symlink-free root paths; refuses roots inside one another."""
    normalised = []
    for root in roots:
        path = os.path.realpath(os.path.abspath(os.path.expanduser(root)))
        if path not in normalised:
            normalised.append(path)
    for outer in normalised:
        for inner in normalised:
            if inner != outer and inner.startswith(outer.rstrip("/") + "/"):
                raise InvalidArgument(
                    f"watch root {inner} lies inside watch root {outer}; watch only the outer one",
                    reason="OVERLAPPING_WATCH_ROOTS", root=inner, outer=outer,
                )  # fmt: skip
    return normalised


class DropWatcher:
    def __init__(
        self,
        registry: Registry,
        settings: WatchSettings,
        *,
        on_health: HealthCallback | None = None,
        native_factory: Callable[[], BaseObserver] = native_observer,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.roots = normalise_roots(settings.roots)
        self.counters = Counters()
        self.incidents = IncidentLog()
        self.judge = UnitJudge(
            registry,
            JudgeSettings(
                settings.quiet_seconds, settings.scan_limits, frozenset(normalise_roots(settings.in_place_roots))
            ),
            self.counters,
        )
        self.on_health = on_health
        self._native_factory = native_factory
        self._root_status = {root: RootStatus(root) for root in self.roots}
        self._identities: dict[str, tuple[int, int] | None] = {root: None for root in self.roots}
        self._overflow: Incident | None = None
        self._healthy: bool | None = None
        self._last_reconcile: datetime | None = None
        # Scheduling: when each unit is due, a heap over those times, what runs.
        self._due: dict[UnitKey, float] = {}
        self._heap: list[tuple[float, int, UnitKey]] = []
        self._sequence = itertools.count()
        self._complete: set[UnitKey] = set()
        self._retry: set[UnitKey] = set()
        self._running: dict[UnitKey, asyncio.Task[None]] = {}
        # Units a reconcile wants looked at; they wait behind anything an event made due.
        self._sweep: deque[UnitKey] = deque()
        self._swept_since_overflow = False
        self._tasks: list[asyncio.Task[None]] = []
        self._reconcile_now = asyncio.Event()
        self._wake = asyncio.Event()
        self.hints: HintQueue | None = None
        self.pool: ObserverPool | None = None
        self._log_handler: OverflowLogHandler | None = None

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.hints = HintQueue(loop, self._wake.set, self.settings.queue_capacity)
        self._log_handler = OverflowLogHandler(self.hints.overflow)
        logging.getLogger(WATCHDOG_LOGGER).addHandler(self._log_handler)
        await asyncio.to_thread(self.registry.drops.load)
        hints = self.hints
        self.pool = ObserverPool(
            lambda root: HintHandler(root, hints),
            polling=self.settings.poll,
            poll_interval=self.settings.poll_interval,
            native_factory=self._native_factory,
        )
        for root in self.roots:
            await self._attach(root)
        await self._report_health()
        self._tasks = [asyncio.create_task(self._work_loop(), name="drops-worker"),
                       asyncio.create_task(self._reconcile_loop(), name="drops-reconcile"),
                       asyncio.create_task(self._supervise_loop(), name="drops-supervise")]  # fmt: skip

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Let looks in progress finish: a write abandoned half-way helps nobody.
        running = list(self._running.values())
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if self.pool is not None:
            await asyncio.to_thread(self.pool.stop)
        if self._log_handler is not None:
            logging.getLogger(WATCHDOG_LOGGER).removeHandler(self._log_handler)

    # -- what the API shows ----------------------------------------------------------------

    def problems(self) -> list[Incident]:
        """What degrades watching right now: roots not watched natively, events lost."""
        problems = [s.problem for s in self._root_status.values() if s.problem is not None]
        if self._overflow is not None:
            problems.append(self._overflow)
        return problems

    def status(self) -> WatchStatus:
        problems = self.problems()
        drops = self.registry.drops
        return WatchStatus(
            roots=[
                RootStatus(s.path, s.observer, s.problem, s.path in self.judge.settings.in_place_roots)
                for s in self._root_status.values()
            ],  # fmt: skip
            degraded=bool(problems),
            problems=problems,
            incidents=list(self.incidents),
            queue_depth=(len(self.hints) if self.hints else 0) + len(self._due) + len(self._sweep) + len(self._running),
            pending=drops.count(DropState.PENDING),
            quarantined=drops.count(DropState.QUARANTINED),
            quiet_seconds=self.settings.quiet_seconds,
            reconcile_seconds=self.settings.reconcile_seconds,
            counters=self.counters,
            last_reconcile=self._last_reconcile,
            kept_sources_changed=sum(
                drops.count(state, kept_roots_only=self.judge.settings.in_place_roots)
                for state in (DropState.MODIFIED, DropState.MISSING)
            ),
        )

    async def retry(self, record: DropRecord, unsafe_allowed_by: Caller | None = None) -> DropRecord:
        """Looks at a drop again now, even if nothing changed on disk since its verdict;
        `unsafe_allowed_by` lets it register although it runs code when loaded."""
        if record.root not in self._root_status:
            raise FailedPrecondition(f"{record.root} is not watched any more", reason="ROOT_NOT_WATCHED",
                                     root=record.root)  # fmt: skip
        key = UnitKey(record.root, record.path)
        if unsafe_allowed_by is not None:
            self.judge.allow_unsafe(key, unsafe_allowed_by)
        self._retry.add(key)
        self._schedule(key, time.monotonic())
        self._wake.set()
        return record

    # -- the worker ------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        assert self.hints is not None
        while True:
            self._wake.clear()
            keys, overflowed = self.hints.drain()
            now = time.monotonic()
            for key, renamed in keys.items():
                self._hint(key, renamed, now)
            if overflowed:
                await self._lost_events("QUEUE_OVERFLOW", "file-system events were dropped (the event queue "
                                        "overflowed); re-reading every root")  # fmt: skip
            self._start_due(now)
            if self._overflow is not None and self._swept_since_overflow and not self._sweep:
                self._overflow = None  # the reconcile it asked for has looked at everything
                await self._report_health()
            await wait_for_event(self._wake, self._next_delay(now))

    def _hint(self, key: UnitKey, renamed: bool, now: float) -> None:
        """Debounce: a changed unit is looked at within the quiet interval (a burst of events
        costs one look, a long copy one look per interval); a unit renamed into place is
        complete and looked at at once."""
        if renamed:
            self._complete.add(key)
        soon = now if key in self._complete else now + self.settings.quiet_seconds
        self._schedule(key, min(soon, self._due.get(key, soon)))

    def _schedule(self, key: UnitKey, at: float) -> None:
        self._due[key] = at
        heapq.heappush(self._heap, (at, next(self._sequence), key))

    def _start_due(self, now: float) -> None:
        while self._heap and len(self._running) < self.settings.workers:
            at, _, key = self._heap[0]
            if at > now:
                break
            heapq.heappop(self._heap)
            if self._due.get(key) != at or key in self._running:
                continue  # superseded, or re-queued by _settle when the current look ends
            del self._due[key]
            complete, retry = key in self._complete, key in self._retry
            self._complete.discard(key)
            self._retry.discard(key)
            self._running[key] = asyncio.create_task(self._settle(key, complete, retry))
        while self._sweep and len(self._running) < self.settings.workers:
            key = self._sweep.popleft()
            if key not in self._running and key not in self._due:
                self._running[key] = asyncio.create_task(self._settle(key, False, False))

    def _next_delay(self, now: float) -> float | None:
        if len(self._running) >= self.settings.workers:
            return None  # a finishing settle wakes the loop
        if self._sweep:
            return 0.0
        while self._heap and (self._due.get(self._heap[0][2]) != self._heap[0][0] or self._heap[0][2] in self._running):
            heapq.heappop(self._heap)
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - now)

    async def _settle(self, key: UnitKey, complete: bool, retry: bool) -> None:
        delay: float | None
        try:
            if not is_speakable(key.rel):
                delay = await self._settle_unnamable(key)
            elif key.is_model_level:
                delay = await self._settle_model(key, complete)
            else:
                delay = await self.judge.settle(key, complete_hint=complete, retry=retry)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one bad unit must not stop the watcher
            log.exception("could not settle %s", key.path)
            delay = ERROR_RETRY_SECONDS
        finally:
            self._running.pop(key, None)
            self._wake.set()
        # Hinted while it ran, or wants another look itself: whichever is sooner.
        wanted = [
            at for at in (self._due.get(key), None if delay is None else time.monotonic() + delay) if at is not None
        ]
        if wanted:
            self._schedule(key, min(wanted))

    async def _settle_model(self, key: UnitKey, renamed: bool) -> float | None:
        """A model folder changed (or a stray file in the root): look at its units."""
        kind, children = await asyncio.to_thread(_listing, key.path)
        if kind == "unreadable":
            return None  # logged; judged again once it can be read (events or the next reconcile)
        if kind != "folder":
            for unit in self._known_below(key):
                self._schedule(unit, time.monotonic())
            return await self.judge.settle(key, complete_hint=renamed)
        stray = self.registry.drops.get(key.root, key.rel)
        if stray is not None:
            await self.registry.drops.delete(stray)  # was a file, is a model folder now
        now = time.monotonic()
        units = {UnitKey(key.root, f"{key.rel}/{name}") for name in children if not is_sidecar_name(name)}
        for unit in units:
            self._hint(unit, renamed, now)
        for unit in self._known_below(key) - units:
            self._schedule(unit, now)
        return None

    async def _settle_unnamable(self, key: UnitKey) -> float | None:
        """A unit (or a whole model folder) whose name cannot be recorded: listed as
        quarantined while it is there, so its owner sees it and renames it."""
        if await asyncio.to_thread(os.path.lexists, key.path):
            self.registry.drops.note_unnamable(key.root, key.rel, key.model)
        else:
            self.registry.drops.forget_unnamable(key.root, key.rel)
        return None  # looked at again when it changes, and at every reconcile

    def _known_below(self, key: UnitKey) -> set[UnitKey]:
        drops = self.registry.drops
        prefix = key.rel + "/"
        return {UnitKey(root, path) for root, path in [*drops.records, *drops.pending, *drops.unnamable]
                if root == key.root and path.startswith(prefix)}  # fmt: skip

    # -- reconciling ---------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:  # noqa: BLE001 - the next round tries again; never stop reconciling
                log.exception("reconciling the watched roots failed")
            await wait_for_event(self._reconcile_now, self.settings.reconcile_seconds)
            self._reconcile_now.clear()

    async def reconcile(self) -> None:
        """Looks at every unit on disk and every unit on record, in every watched root."""
        overflowed = self._overflow is not None
        for root in self.roots:
            listed = set(await asyncio.to_thread(_units_of, root))
            drops = self.registry.drops
            on_record = {UnitKey(r, p) for r, p in [*drops.records, *drops.pending, *drops.unnamable] if r == root}
            queued = set(self._sweep)
            self._sweep.extend(sorted(key for key in listed | on_record if key not in queued))
        self.counters.reconciles += 1
        self._last_reconcile = datetime.now(UTC)
        self._swept_since_overflow = overflowed
        self._wake.set()

    async def _lost_events(self, reason: str, message: str) -> None:
        self._overflow = self._incident(reason, message)
        self._swept_since_overflow = False
        await self._report_health()
        self._reconcile_now.set()

    # -- supervising -----------------------------------------------------------------------

    async def _supervise_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.supervise_seconds)
            try:
                await self.supervise()
            except Exception:  # noqa: BLE001 - the next round tries again; never stop supervising
                log.exception("supervising the watched roots failed")

    def _note_observer_death(self) -> None:
        assert self.pool is not None
        died = self.pool.native_died()  # truthy once
        if died:
            why = f" ({died.describe()})" if isinstance(died, Death) else ""
            self._incident("OBSERVER_DIED", f"the file-system observer stopped{why}; polling instead")

    async def supervise(self) -> None:
        """Re-watch roots that were deleted, replaced or lost their observer."""
        assert self.pool is not None
        self._note_observer_death()
        for root in self.roots:
            identity = await asyncio.to_thread(_identity, root)
            known = self._identities[root]
            if identity == known and (identity is None or self.pool.is_watching(root)):
                continue  # still watched, or still missing (already reported)
            # The observer may have died since this round began (that is why the root is no
            # longer watched): noted first, the root is polled at once rather than handed to it.
            self._note_observer_death()
            if identity is not None and known is not None and identity != known:
                self._incident("ROOT_REPLACED", f"{root} was deleted and made again; watching the new folder",
                               root)  # fmt: skip
            await self._attach(root)
            self._reconcile_now.set()
        await self._report_health()

    async def _attach(self, root: str) -> None:
        """Watch `root` as it is now; record why not, or why only by polling."""
        assert self.pool is not None
        status = self._root_status[root]
        identity = await asyncio.to_thread(_identity, root)
        # Still the folder watched before (see ObserverPool.watch); never at the first watch.
        same_folder = identity is not None and identity == self._identities[root]
        self._identities[root] = identity
        if identity is None:
            await asyncio.to_thread(self.pool.unwatch, root)
            status.observer = ""
            self._problem(status, "ROOT_MISSING",
                          f"{root} does not exist or is not a folder; watching resumes when it is back")  # fmt: skip
            return
        try:
            fallback = await asyncio.to_thread(self.pool.watch, root, same_folder)
        except OSError as exc:
            self._identities[root] = None  # try again at the next supervision
            status.observer = ""
            self._problem(status, "WATCH_FAILED", f"cannot watch {root}: {exc.strerror}")
            return
        except Exception as exc:  # noqa: BLE001 - polling failed too; say why instead of pretending
            self._identities[root] = None
            status.observer = ""
            self._problem(status, "WATCH_FAILED",
                          f"cannot watch {root}: {type(exc).__name__}: {short(str(exc))}")  # fmt: skip
            return
        status.observer = self.pool.kind(root)
        if fallback is None:
            status.problem = None
        else:
            self._problem(status, fallback.reason, fallback.message)

    def _problem(self, status: RootStatus, reason: str, message: str) -> None:
        """Marks a root degraded; an incident is logged only when the reason is new."""
        if status.problem is None or status.problem.reason != reason:
            status.problem = self._incident(reason, message, status.path)

    def _incident(self, reason: str, message: str, root: str = "") -> Incident:
        incident = Incident(datetime.now(UTC), reason, message, root)
        log.warning("drop-in watching: %s", message)
        self.incidents.add(incident)
        return incident

    async def _report_health(self) -> None:
        healthy = not self.problems()
        if healthy != self._healthy:
            self._healthy = healthy
            if self.on_health is not None:
                await self.on_health(healthy)


# -- blocking helpers, run in threads ---------------------------------------------------


def _identity(root: str) -> tuple[int, int] | None:
    try:
        st = os.stat(root)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _listing(path: str) -> tuple[str, list[str]]:
    """("folder", names not ignored), ("missing", []), ("other", []) or ("unreadable", [])."""
    try:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            return "other", []
        names = [name for name in os.listdir(path) if not is_ignored_name(name)]
    except (FileNotFoundError, NotADirectoryError):
        return "missing", []
    except OSError as exc:
        # Unreadable (permissions): what lies below cannot be judged, and must not be
        # called missing either; its units are looked at again when it can be read.
        log.warning("cannot list %s: %s", path, exc.strerror)
        return "unreadable", []
    return "folder", sorted(names)


def _units_of(root: str) -> list[UnitKey]:
    """Every unit key on disk: root/model/entry, and stray root-level entries."""
    kind, models = _listing(root)
    units: list[UnitKey] = []
    for model in models if kind == "folder" else []:
        if not is_speakable_name(model):
            units.append(UnitKey(root, model))  # reported whole; what lies below has no name either
            continue
        model_kind, entries = _listing(os.path.join(root, model))
        if model_kind == "folder":
            units.extend(UnitKey(root, f"{model}/{entry}") for entry in entries if not is_sidecar_name(entry))
        elif model_kind == "other":
            units.append(UnitKey(root, model))
    return units
