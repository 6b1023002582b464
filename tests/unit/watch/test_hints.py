"""Hints: coalesced per unit, a rename stays sticky, a full queue says it overflowed."""

from __future__ import annotations

import asyncio
import logging
import threading

from studbook.daemon.watch.hints import HintHandler, HintQueue, OverflowLogHandler
from studbook.daemon.watch.layout import UnitKey
from watchdog.events import DirMovedEvent, FileClosedEvent, FileCreatedEvent, FileMovedEvent

ROOT = "/r"


def run_with_queue(body, capacity=100):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        woken = asyncio.Event()
        queue = HintQueue(asyncio.get_running_loop(), woken.set, capacity)
        await asyncio.to_thread(body, queue)
        await asyncio.wait_for(woken.wait(), 5)
        return queue.drain()

    return asyncio.run(main())


def test_many_events_on_one_unit_from_many_threads_are_one_hint():
    def burst(queue: HintQueue) -> None:
        threads = [threading.Thread(target=lambda: [queue.put(UnitKey(ROOT, "m/1")) for _ in range(500)])
                   for _ in range(4)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    keys, overflowed = run_with_queue(burst)

    assert keys == {UnitKey(ROOT, "m/1"): False}
    assert not overflowed


def test_a_rename_stays_marked_whatever_follows():
    def events(queue: HintQueue) -> None:
        queue.put(UnitKey(ROOT, "m/1"), renamed=True)
        queue.put(UnitKey(ROOT, "m/1"), renamed=False)

    keys, _ = run_with_queue(events)

    assert keys == {UnitKey(ROOT, "m/1"): True}


def test_a_full_queue_drops_new_units_and_reports_it_once():
    def flood(queue: HintQueue) -> None:
        for i in range(10):
            queue.put(UnitKey(ROOT, f"m/{i}"))

    keys, overflowed = run_with_queue(flood, capacity=3)

    assert len(keys) == 3 and overflowed


def test_the_handler_marks_only_the_unit_itself_as_renamed_into_place():
    seen: list[tuple[UnitKey, bool]] = []

    class Recorder:
        def put(self, key: UnitKey, renamed: bool = False) -> None:
            seen.append((key, renamed))

    handler = HintHandler(ROOT, Recorder())  # type: ignore[arg-type]
    handler.dispatch(DirMovedEvent(f"{ROOT}/.staging/m/1", f"{ROOT}/m/1"))
    handler.dispatch(FileMovedEvent(f"{ROOT}/m/2/.w.tmp", f"{ROOT}/m/2/w.bin"))
    handler.dispatch(DirMovedEvent("", f"{ROOT}/m/3"))  # moved in from outside the root
    handler.dispatch(FileCreatedEvent(f"{ROOT}/m/4/w.bin"))
    handler.dispatch(FileClosedEvent(f"{ROOT}/m/4/w.bin"))

    assert seen == [
        (UnitKey(ROOT, "m/1"), True),
        (UnitKey(ROOT, "m/2"), False),
        (UnitKey(ROOT, "m/2"), False),
        (UnitKey(ROOT, "m/3"), True),
        (UnitKey(ROOT, "m/4"), False),
        (UnitKey(ROOT, "m/4"), False),
    ]


def test_a_logged_kernel_overflow_becomes_an_overflow():
    calls: list[bool] = []
    handler = OverflowLogHandler(lambda: calls.append(True))
    logger = logging.getLogger("watchdog.observers.inotify_c.test")
    logger.addHandler(handler)
    try:
        logger.warning("Inotify queue overflowed; filesystem events were lost")
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)

    assert calls == [True]
