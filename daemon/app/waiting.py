"""Waiting for an asyncio event with a time limit, in a way that a cancellation always ends."""

from __future__ import annotations

import asyncio


async def wait_for_event(event: asyncio.Event, seconds: float | None) -> bool:
    """Whether `event` was set within `seconds` (None: however long it takes).

    Not `asyncio.wait_for`: in Python 3.11 it swallows a cancellation that arrives while the
    event is being set, and a loop around it then never ends (a daemon waited for its drop
    watcher's loops so, for ever, in its shutdown). `asyncio.timeout` tells its own cancellation
    from anyone else's.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
