"""Drop-in watching when the machinery fails: watch limits, lost events, a dead observer.

These faults cannot be provoked from outside a daemon without root privileges, so the
watcher runs in-process here, over a real catalog, real observers and real folders; the
fault is injected at the observer it is given.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from studbook.daemon.app.drops import DropRecord, DropState
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.errors import NotFound
from studbook.daemon.domain.model import ModelVersion
from studbook.daemon.service.convert import encode_payload
from studbook.daemon.watch.observers import native_observer
from studbook.daemon.watch.status import WatchStatus
from studbook.daemon.watch.watcher import DropWatcher, WatchSettings
from watchdog.observers.api import BaseObserver, EventEmitter

QUIET = 0.3
DEADLINE = 20.0


class Watching:
    def __init__(self, root: Path, registry: Registry, watcher: DropWatcher, health: list[bool]) -> None:
        self.root = root
        self.registry = registry
        self.watcher = watcher
        self.health = health

    async def version(self, model: str, number: int) -> ModelVersion | None:
        try:
            return await self.registry.versions.get(f"models/{model}/versions/{number}")
        except NotFound:
            return None

    async def wait_for(self, check: Callable[[], Any], what: str) -> Any:
        deadline = asyncio.get_running_loop().time() + DEADLINE
        while asyncio.get_running_loop().time() < deadline:
            found = check()
            if asyncio.iscoroutine(found):
                found = await found
            if found:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def watching(tmp_path: Path, native: Callable[[], BaseObserver] = native_observer,
                   **settings: Any) -> AsyncIterator[Watching]:  # fmt: skip
    root = tmp_path / "drops"
    (root / "m").mkdir(parents=True)
    registry = Registry(tmp_path / "catalog.duckdb", encode_payload)
    registry.start()
    health: list[bool] = []

    async def report(healthy: bool) -> None:
        health.append(healthy)

    watcher = DropWatcher(registry, WatchSettings([root], quiet_seconds=QUIET, supervise_seconds=0.1, **settings),
                          on_health=report, native_factory=native)  # fmt: skip
    await watcher.start()
    try:
        yield Watching(root, registry, watcher, health)
    finally:
        await watcher.stop()
        registry.close()


def drop(root: Path, unit: str, data: bytes) -> None:
    staging = root / ".staging" / unit.replace("/", "-")
    staging.mkdir(parents=True)
    (staging / "model.bin").write_bytes(data)
    os.rename(staging, root / unit)


async def status_once_polled(w: Watching, data: bytes) -> WatchStatus:
    """The watcher's status once a drop made now is registered (by polling, in these tests)."""
    drop(w.root, "m/1", data)
    await w.wait_for(lambda: w.version("m", 1), "version 1")
    return w.watcher.status()


def test_a_watch_limit_falls_back_to_polling_reports_it_and_loses_no_drop(tmp_path):
    def limited() -> BaseObserver:
        observer = native_observer()

        def refuse(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

        observer.schedule = refuse  # type: ignore[method-assign]
        return observer

    async def scenario() -> None:
        async with watching(tmp_path, limited) as w:
            drop(w.root, "m/1", b"limited")
            found = await w.wait_for(lambda: w.version("m", 1), "version 1")
            status = w.watcher.status()

            assert found.files[0].size == len(b"limited")
            assert [r.observer for r in status.roots] == ["polling"]
            assert status.degraded and [p.reason for p in status.problems] == ["WATCH_LIMIT"]
            assert w.health == [False]

    asyncio.run(scenario())


def renames_seen() -> tuple[list[str], Callable[[], BaseObserver]]:
    """Native observers whose handlers, once they have taken an event in, note where each
    rename went; and the list they note it in."""
    seen: list[str] = []

    def observer() -> BaseObserver:
        native = native_observer()
        schedule = native.schedule

        def noting(handler: Any, *args: Any, **kwargs: Any) -> Any:
            dispatch = handler.dispatch

            def dispatch_and_note(event: Any) -> None:
                dispatch(event)
                if event.event_type == "moved":
                    seen.append(os.fsdecode(event.dest_path))

            handler.dispatch = dispatch_and_note
            return schedule(handler, *args, **kwargs)

        native.schedule = noting  # type: ignore[method-assign]
        return native

    return seen, observer


def test_a_queue_overflow_reconciles_and_registers_every_drop(tmp_path):
    seen, native = renames_seen()

    async def scenario() -> None:
        async with watching(tmp_path, native, queue_capacity=2) as w:
            units = [str(w.root / "m" / str(number)) for number in range(1, 11)]
            for number in range(1, 11):
                drop(w.root, f"m/{number}", f"weights {number}".encode())
            # The event loop, which drains the queue, is held until the observer has queued
            # all ten: ten units cannot fit in two places however fast the loop would drain.
            deadline = time.monotonic() + DEADLINE
            while not set(units) <= set(seen) and time.monotonic() < deadline:
                time.sleep(0.01)

            for number in range(1, 11):
                await w.wait_for(lambda n=number: w.version("m", n), f"version {number}")
            status = w.watcher.status()

            assert "QUEUE_OVERFLOW" in [i.reason for i in status.incidents]
            assert not status.degraded  # the reconcile after it caught up
            assert w.health[0] is True and False in w.health and w.health[-1] is True

    asyncio.run(scenario())


def test_a_dead_observer_thread_is_replaced_by_polling(tmp_path):
    observers: list[BaseObserver] = []

    def remembered() -> BaseObserver:
        observers.append(native_observer())
        return observers[-1]

    async def scenario() -> None:
        async with watching(tmp_path, remembered) as w:
            observers[0].stop()
            await asyncio.to_thread(observers[0].join)
            await w.wait_for(lambda: w.watcher.status().degraded, "degraded watching")

            status = await status_once_polled(w, b"after the death")

            assert [r.observer for r in status.roots] == ["polling"]
            assert [p.reason for p in status.problems] == ["OBSERVER_DIED"]
            assert w.health == [True, False]

    asyncio.run(scenario())


def too_deep_after(watches: int) -> tuple[list[BaseObserver], Callable[[], BaseObserver]]:
    """Native observers that take `watches` watches, then fail as watching a very deep folder
    does; and the list they are remembered in."""
    observers: list[BaseObserver] = []

    def observer() -> BaseObserver:
        observers.append(native_observer())
        schedule, scheduled = observers[-1].schedule, []

        def too_deep(*args: Any, **kwargs: Any) -> Any:
            scheduled.append(args)
            if len(scheduled) > watches:
                raise RecursionError("maximum recursion depth exceeded")
            return schedule(*args, **kwargs)

        observers[-1].schedule = too_deep  # type: ignore[method-assign]
        return observers[-1]

    return observers, observer


async def stop_quietly(emitter: EventEmitter) -> None:
    """As when its watches are dropped under it: the emitter ends, and no thread died of anything."""
    emitter.stop()
    await asyncio.to_thread(emitter.join)


def test_a_root_the_observer_lost_and_cannot_watch_again_is_reported_as_its_death(tmp_path):
    """watchdog's inotify reader dies of a RecursionError up to a second after the watches it
    held were dropped, so a root can be found unwatched before any thread's death shows. The
    folder is still the one watched: the observer stopped on its own, and when watching it
    again fails the same way, that is the observer's death, said as such (OBSERVER_DIED), not
    a folder it could never watch (OBSERVER_FAILED)."""
    observers, native = too_deep_after(1)

    async def scenario() -> None:
        async with watching(tmp_path, native) as w:
            (emitter,) = observers[0].emitters
            await stop_quietly(emitter)
            await w.wait_for(lambda: w.watcher.status().degraded, "degraded watching")

            status = await status_once_polled(w, b"after the loss")

            assert [r.observer for r in status.roots] == ["polling"]
            assert [p.reason for p in status.problems] == ["OBSERVER_DIED"]
            assert "RecursionError" in status.problems[0].message
            assert "OBSERVER_DIED" in [i.reason for i in status.incidents if not i.root]

    asyncio.run(scenario())


def test_a_root_polling_lost_is_no_death_of_the_native_observer(tmp_path):
    """The root is polled because the native observer could never watch it; when polling stops
    watching it, the native observer, which tries again and fails again, has not died."""
    _, native = too_deep_after(0)

    def polling_emitters(root: Path) -> list[EventEmitter]:
        return [t for t in threading.enumerate()
                if isinstance(t, EventEmitter) and t.watch.path == str(root) and t.is_alive()]  # fmt: skip

    async def scenario() -> None:
        async with watching(tmp_path, native) as w:
            (emitter,) = polling_emitters(w.root)
            await stop_quietly(emitter)
            await w.wait_for(lambda: polling_emitters(w.root), "the root polled again")

            status = await status_once_polled(w, b"after the loss")

            assert [r.observer for r in status.roots] == ["polling"]
            assert [p.reason for p in status.problems] == ["OBSERVER_FAILED"]
            assert "OBSERVER_DIED" not in [i.reason for i in status.incidents]

    asyncio.run(scenario())


def test_a_root_deleted_and_made_again_is_watched_anew(tmp_path):
    async def scenario() -> None:
        async with watching(tmp_path) as w:
            drop(w.root, "m/1", b"first")
            await w.wait_for(lambda: w.version("m", 1), "version 1")

            for path in sorted(w.root.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            w.root.rmdir()
            await w.wait_for(lambda: w.watcher.status().degraded, "the missing root")
            (w.root / "m").mkdir(parents=True)
            await w.wait_for(lambda: not w.watcher.status().degraded, "the new root")
            drop(w.root, "m/2", b"second")

            await w.wait_for(lambda: w.version("m", 2), "version 2 in the new root")
            gone = await w.wait_for(lambda: _drop_of(w, 1, DropState.MISSING), "version 1's drop missing")
            reasons = [i.reason for i in w.watcher.status().incidents]
            kept = await w.version("m", 1)

            assert "ROOT_MISSING" in reasons
            assert gone.message.startswith("its folder is gone")
            assert kept is not None and kept.kept and kept.status.value == "ready"
            assert w.health == [True, False, True]

    asyncio.run(scenario())


async def _drop_of(w: Watching, number: int, state: DropState) -> DropRecord | None:
    found = [r for r in w.registry.drops.of_version("m", number) if r.state == state]
    return found[0] if found else None
