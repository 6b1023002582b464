"""Sending events to one hook: a task per hook reads the event log after the hook's cursor, in
revision order, and POSTs each event the hook takes until the receiver accepts it.

Each hook has its own task and its own HTTP client, so a slow or dead receiver delays nobody
else; the HTTP work is asyncio on the event loop (aiohttp), never the writer's thread, which
only records what each attempt got. The cursor is stored with each delivery, so a restart
resumes after the last event a receiver accepted: at-least-once, never lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from studbook.daemon.domain.hooks import Delivery, Hook, HookSettings, backoff, signature, takes
from studbook.daemon.domain.model import Event

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

# Events read from the log at a time.
READ_BATCH = 500
# Error texts kept per attempt.
MAX_ERROR = 300
USER_AGENT = "studbook-webhooks/1"
# Seconds before a hook's task goes on after the catalog failed it.
AFTER_ERROR = 5.0


def encode(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(hook: Hook, event_type: str, revision: int, body: bytes, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Studbook-Hook": hook.name,
        "X-Studbook-Event": event_type,
        "X-Studbook-Revision": str(revision),
        "X-Studbook-Timestamp": timestamp,
        "X-Studbook-Signature": signature(hook.secret, timestamp, body),
    }


class Sender:
    """One hook's HTTP client; aiohttp is imported only once a hook exists."""

    def __init__(self, settings: HookSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def post(self, hook: Hook, event_type: str, revision: int, body: bytes,
                   attempt: int) -> Delivery:  # fmt: skip
        import aiohttp  # here, not at the top: a daemon without hooks never loads it

        if self._session is None:
            # Redirects are not followed: a hook reaches the URL its admin gave, nowhere else.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds))
        headers = signed_headers(hook, event_type, revision, body, time.time())
        started = time.perf_counter()
        status, error = 0, ""
        try:
            async with self._session.post(hook.url, data=body, headers=headers, allow_redirects=False) as response:
                status = response.status
                if not 200 <= status < 300:
                    error = f"HTTP {status} {response.reason or ''}".strip()[:MAX_ERROR]
        except TimeoutError:
            error = f"no answer within {self.settings.timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            error = (str(exc) or type(exc).__name__)[:MAX_ERROR]
        latency = (time.perf_counter() - started) * 1000
        return Delivery(hook.id, revision, event_type, attempt, status, latency, error, datetime.now(UTC))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HookRunner:
    """Delivers one hook's events in revision order; ends when the hook is paused or stopped."""

    def __init__(
        self,
        hook: Hook,
        settings: HookSettings,
        read_events: Callable[[int, int], Awaitable[list[Event]]],
        render: Callable[[Event], bytes],
        record: Callable[[Hook, Delivery | None], Awaitable[Hook]],
        pause: Callable[[Hook, str], Awaitable[Hook]],
    ) -> None:
        self.hook = hook
        self.settings = settings
        self._read_events = read_events
        self._render = render
        self._record = record
        self._pause = pause
        self.sender = Sender(settings)
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        # The cursor may run ahead of the stored one over events the hook does not take: stored
        # with the next delivery only (a restart reads those events again, and passes them again).
        self.passed = hook.cursor

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"hook {self.hook.name}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            self.task = None
        await self.sender.close()

    async def _run(self) -> None:
        try:
            await self._deliver_all()
        finally:
            await self.sender.close()  # paused or stopped: its connections go with it

    async def _deliver_all(self) -> None:
        while not self.hook.paused:
            try:
                self.wake.clear()  # before reading: a commit during the read wakes the next wait
                events = await self._read_events(self.passed, READ_BATCH)
                for event in events:
                    if any(takes(self.hook, event.type, model) for model in _models_of(event)):
                        if not await self._deliver(event):
                            return
                    self.passed = event.revision
                if len(events) < READ_BATCH:
                    await self.wake.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The catalog could not be read or written (a full disk, a lost database): the
                # stored cursor still holds, so going on from it later loses nothing.
                log.exception("deliveries to hook %s stopped; trying again in %g s", self.hook.name, AFTER_ERROR)
                self.passed = self.hook.cursor
                await asyncio.sleep(AFTER_ERROR)

    async def _deliver(self, event: Event) -> bool:
        """Tries `event` until the receiver accepts it (True) or the hook is paused (False)."""
        body = self._render(event)
        while True:
            delivery = await self.sender.post(self.hook, event.type, event.revision, body, self.hook.failures + 1)
            if delivery.ok:
                self.hook = await self._record(replace(self.hook, cursor=event.revision, failures=0), delivery)
                self.passed = event.revision
                return True
            # Every event before this one is delivered or passed over.
            failed = replace(self.hook, cursor=event.revision - 1, failures=self.hook.failures + 1)
            self.hook = await self._record(failed, delivery)
            log.warning("hook %s: revision %d not delivered (attempt %d): %s", self.hook.name, event.revision,
                        delivery.attempt, delivery.error)  # fmt: skip
            if self.hook.failures >= self.settings.max_failures:
                reason = (f"{self.hook.failures} failed attempts in a row at revision {event.revision}, the last: "
                          f"{delivery.error}")  # fmt: skip
                self.hook = await self._pause(self.hook, reason)
                return False
            delay = backoff(self.hook.failures, self.settings.backoff_base_seconds,
                            self.settings.backoff_max_seconds, random.random())  # fmt: skip
            await asyncio.sleep(delay)


def render(event: Event, resource: Callable[[Event], dict[str, Any] | None]) -> bytes:
    from studbook.daemon.domain.hooks import body

    return encode(body(event.type, event.revision, _rfc3339(event.time), event.model, event.subject, event.actor,
                       event.role, resource(event)))  # fmt: skip


def _rfc3339(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _models_of(event: Event) -> tuple[str, ...]:
    """The models an event is on: a rename is on its old name too, so a hook on that name hears it."""
    if event.type == "model.renamed":
        return event.model, event.subject.removeprefix("models/")
    return (event.model,)
