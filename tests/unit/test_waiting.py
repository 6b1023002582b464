"""Waiting for an event with a time limit: set, timed out, and cancelled, whichever comes first."""

from __future__ import annotations

import asyncio

import pytest
import uvloop
from studbook.daemon.app.waiting import wait_for_event


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_cancellation_that_arrives_as_the_event_is_set_ends_the_wait(run) -> None:  # type: ignore[no-untyped-def]
    # What hung a daemon's shutdown: asyncio.wait_for returned normally here, the cancellation lost.
    async def main() -> str:
        event = asyncio.Event()
        waiting = asyncio.create_task(wait_for_event(event, 60))
        await asyncio.sleep(0)  # now waiting
        event.set()
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            return "cancelled"
        return "went on"

    assert run(main()) == "cancelled"


def test_the_wait_says_whether_the_event_was_set_in_time() -> None:
    async def main() -> tuple[bool, bool, bool]:
        event = asyncio.Event()
        timed_out = await wait_for_event(event, 0.01)
        asyncio.get_running_loop().call_later(0.01, event.set)
        set_in_time = await wait_for_event(event, 30)
        already_set = await wait_for_event(event, None)
        return timed_out, set_in_time, already_set

    assert asyncio.run(main()) == (False, True, True)
