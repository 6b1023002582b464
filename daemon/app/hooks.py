"""Use cases on webhooks: hooks added, listed, removed, tested and replayed, and the task per
hook that delivers (`app/delivery.py`). Changes to hooks are audited as events, like tokens."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.delivery import HookRunner, encode, render
from studbook.daemon.domain.access import HOOKS, Caller
from studbook.daemon.domain.errors import AlreadyExists, InvalidArgument, NotFound
from studbook.daemon.domain.hooks import (
    TEST_EVENT,
    Delivery,
    Hook,
    HookSettings,
    body,
    parse_events,
    validate_model_pattern,
    validate_name,
    validate_secret,
    validate_url,
)
from studbook.daemon.domain.model import Event
from studbook.daemon.store.interface import StoreTransaction as Transaction

# The resource an event concerns, as the API's JSON (set by the service layer, which knows the
# wire form); None where the event carries none.
ResourceJson = Callable[[Event], dict[str, Any] | None]
DEFAULT_DELIVERIES = 50
MAX_DELIVERIES = 1000
# Each hook keeps its newest KEEP_DELIVERIES records, trimmed every PRUNE_EVERY records it gets,
# so a busy hook's history stays bounded while `hooks deliveries` always has enough to show.
KEEP_DELIVERIES = 10_000
PRUNE_EVERY = 1_000
# On a shared catalog one daemon delivers at a time; the others look this often whether the
# role is free (its holder stopped, crashed or lost its connection) and take it over.
LEAD_CHECK_SECONDS = 2.0


def _no_resource(event: Event) -> dict[str, Any] | None:
    return None


class HookUseCases:
    def __init__(self, core: Core, settings: HookSettings | None = None,
                 resource: ResourceJson = _no_resource) -> None:  # fmt: skip
        self.core = core
        self.settings = settings or HookSettings()
        self.resource = resource
        self.hooks: dict[str, Hook] = {h.id: h for h in core.catalog.load_hooks()}
        self.runners: dict[str, HookRunner] = {}
        self._waker: asyncio.Task[None] | None = None
        self._recorded: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        # Whether this daemon is the one delivering, and the task that keeps asking.
        self.leading = False
        self._leadership = core.catalog.leadership("webhook delivery")
        self._leader: asyncio.Task[None] | None = None
        core.remote_hooks.append(self._hooks_changed_elsewhere)

    # -- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """On the event loop: once this daemon is the one delivering for its catalog, a delivery
        task per hook not paused, woken by each commit."""
        self._loop = asyncio.get_running_loop()
        if self.settings.deliver:
            self._leader = asyncio.create_task(self._keep_leading(), name="hook delivery role")

    async def _keep_leading(self) -> None:
        """Takes the delivering role when it is free and keeps proving it holds it; losing it
        stops this daemon's deliveries (the next holder goes on from the stored cursors)."""
        while True:
            leading = await asyncio.to_thread(self._leadership.try_lead)
            if leading and not self.leading:
                self.leading = True
                # As stored: the daemon that delivered before moved the cursors without events.
                loaded = await self.core.read(self.core.catalog.load_hooks)
                self.hooks = {hook.id: hook for hook in loaded}
                for hook in loaded:
                    self._run(hook)
                if not self.core.following:
                    return  # no other daemon writes this catalog: the role is this daemon's for good
            elif not leading and self.leading:
                self.leading = False
                await self._stop_runners()
            await asyncio.sleep(LEAD_CHECK_SECONDS)

    def _hooks_changed_elsewhere(self, events: list[Event]) -> None:
        """On the follower's thread: another daemon on the shared catalog added, removed, paused
        or replayed hooks; this one takes their stored state, on the event loop."""
        if self._loop is not None and any(event.type.startswith("hook.") for event in events):
            loaded = self.core.catalog.load_hooks()
            asyncio.run_coroutine_threadsafe(self._take(loaded), self._loop)

    async def _take(self, loaded: list[Hook]) -> None:
        """Hooks as stored: new ones run, removed ones stop, changed ones start again from
        their stored cursor (at least once: an event may be sent again, never skipped)."""
        stored = {hook.id: hook for hook in loaded}
        for hook_id in [h for h in self.hooks if h not in stored]:
            await self._stop_runner(hook_id)
            self.hooks.pop(hook_id, None)
        for hook in loaded:
            known = self.hooks.get(hook.id)
            if known is not None and (known.paused, known.cursor) == (hook.paused, hook.cursor):
                continue
            await self._stop_runner(hook.id)
            self.hooks[hook.id] = hook
            self._run(hook)

    async def stop(self) -> None:
        """Before the writer stops: no delivery is sent (or recorded) after this returns."""
        if self._leader is not None:
            self._leader.cancel()
            self._leader = None
        await self._stop_runners()
        self.leading = False
        await asyncio.to_thread(self._leadership.release)

    async def _stop_runners(self) -> None:
        runners, self.runners = list(self.runners.values()), {}
        await asyncio.gather(*(runner.stop() for runner in runners))
        if self._waker is not None:
            self._waker.cancel()
            self._waker = None

    def _run(self, hook: Hook) -> None:
        if hook.paused or not self.settings.deliver or not self.leading:
            return
        runner = HookRunner(hook, self.settings, self._read_events, self._render, self._record, self._pause)
        self.runners[hook.id] = runner
        runner.start()
        if self._waker is None:
            self._waker = asyncio.create_task(self._wake_runners(), name="hook wake-ups")

    async def _wake_runners(self) -> None:
        """Wakes every runner at each batch of committed events (they read the log themselves,
        so an overflowing subscription loses nothing: it only subscribes again)."""
        while True:
            subscription = self.core.hub.subscribe()
            try:
                while True:
                    await subscription.queue.get()
                    while not subscription.queue.empty():
                        subscription.queue.get_nowait()
                    for runner in list(self.runners.values()):
                        runner.wake.set()
                    if subscription.overflowed:
                        break
            finally:
                self.core.hub.unsubscribe(subscription)

    async def _stop_runner(self, hook_id: str) -> None:
        runner = self.runners.pop(hook_id, None)
        if runner is not None:
            await runner.stop()

    async def _read_events(self, after: int, limit: int) -> list[Event]:
        return await self.core.read(self.core.catalog.events_after, after, limit)

    def _render(self, event: Event) -> bytes:
        return render(event, self.resource)

    async def _record(self, hook: Hook, delivery: Delivery | None) -> Hook:
        """Stores where a hook stands, with the attempt that moved it there."""
        recorded = self._recorded[hook.id] = self._recorded.get(hook.id, 0) + 1

        def operation(tx: Transaction) -> Effects:
            tx.set_hook_progress(hook)
            if delivery is not None:
                tx.insert_delivery(delivery)
            if recorded % PRUNE_EVERY == 0:
                tx.prune_deliveries(hook.id, KEEP_DELIVERIES)
            return Effects(value=hook)

        await self.core.write(operation)
        if hook.id in self.hooks:
            self.hooks[hook.id] = hook
        return hook

    async def _pause(self, hook: Hook, reason: str) -> Hook:
        paused = replace(hook, paused=True, pause_reason=reason)

        def operation(tx: Transaction) -> Effects:
            tx.set_hook_progress(paused)
            effects = Effects(value=paused)
            self.core.event(tx, effects, "hook.paused", paused.name, "", HOOKS, paused)
            return effects

        await self.core.write(operation)
        if hook.id in self.hooks:
            self.hooks[hook.id] = paused
        self.runners.pop(hook.id, None)
        return paused

    # -- managing ---------------------------------------------------------------------------

    async def add_hook(self, url: str, events: list[str], model_pattern: str, secret: str, name: str,
                       caller: Caller) -> tuple[Hook, str]:  # fmt: skip
        """The hook added, and the secret the daemon made for it (empty when one was given)."""
        validate_url(url)
        patterns = parse_events(events)
        validate_model_pattern(model_pattern)
        made = ""
        if secret:
            validate_secret(secret)
        else:
            secret = made = "whsec_" + secrets.token_urlsafe(32)
        name = name or self._name_for(url)
        validate_name(name)

        def operation(tx: Transaction) -> Effects:
            if tx.hook_name_taken(name):
                raise AlreadyExists(f"a hook named {name!r} exists; choose another --name, or remove it first",
                                    reason="HOOK_NAME_TAKEN", name=name)  # fmt: skip
            hook = Hook(secrets.token_hex(6), name, url, patterns, model_pattern, secret, self.core.clock(),
                        caller.actor)  # fmt: skip
            effects = Effects()
            # Delivery starts after the event that records the hook.
            revision = self.core.event(tx, effects, "hook.added", name, "", caller, hook)
            effects.value = hook = replace(hook, cursor=revision)
            tx.insert_hook(hook)
            return effects

        hook: Hook = await self.core.write(operation)
        self.hooks[hook.id] = hook
        self._run(hook)
        return hook, made

    def _name_for(self, url: str) -> str:
        """A free name from the URL's host: `ci.example.com`, then `ci.example.com-2` ..."""
        host = (urlsplit(url).hostname or "hook").lower()
        base = "".join(c if c.isalnum() or c in "._-" else "-" for c in host).strip("-.")[:56] or "hook"
        taken = {h.name for h in self.hooks.values()}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        return name

    def list_hooks(self) -> list[Hook]:
        return sorted(self.hooks.values(), key=lambda h: (h.create_time, h.id))

    async def stored_hooks(self) -> list[Hook]:
        """The hooks as stored: on a shared catalog, where the delivering daemon stands."""
        return await self.core.read(self.core.catalog.load_hooks)

    def find(self, name: str) -> Hook:
        hook = next((h for h in self.hooks.values() if h.name == name), None)
        if hook is None:
            known = ", ".join(sorted(h.name for h in self.hooks.values())[:10]) or "none"
            raise NotFound(f"no hook named {name[:80]!r} (hooks: {known}); see `studbook hooks list`",
                           reason="HOOK_NOT_FOUND", name=name[:80])  # fmt: skip
        return hook

    async def remove_hook(self, name: str, caller: Caller) -> Hook:
        hook = self.find(name)
        await self._stop_runner(hook.id)

        def operation(tx: Transaction) -> Effects:
            tx.delete_hook(hook.id)
            effects = Effects(value=hook)
            self.core.event(tx, effects, "hook.removed", hook.name, "", caller, hook)
            return effects

        await self.core.write(operation)
        self.hooks.pop(hook.id, None)
        return hook

    async def replay(self, name: str, from_revision: int, caller: Caller) -> Hook:
        """Delivers again from `from_revision` on, and resumes the hook if it was paused."""
        if from_revision < 1:
            raise InvalidArgument("--from is a revision, 1 or more (see `studbook hooks deliveries NAME`)",
                                  reason="INVALID_ARGUMENT", field="from_revision")  # fmt: skip
        hook = self.find(name)
        await self._stop_runner(hook.id)
        moved = replace(hook, cursor=min(from_revision - 1, self.core.state.revision), failures=0, paused=False,
                        pause_reason="")  # fmt: skip

        def operation(tx: Transaction) -> Effects:
            tx.set_hook_progress(moved)
            effects = Effects(value=moved)
            self.core.event(tx, effects, "hook.replayed", hook.name, "", caller, moved)
            return effects

        await self.core.write(operation)
        self.hooks[hook.id] = moved
        self._run(moved)
        return moved

    async def test(self, name: str) -> Delivery:
        """Sends one signed `hook.test` event now, whatever the hook's patterns; recorded."""
        hook = self.find(name)
        now = self.core.clock()
        payload = body(TEST_EVENT, 0, now.astimezone(UTC).isoformat().replace("+00:00", "Z"), "", hook.name,
                       "hooks", "admin", None)  # fmt: skip
        from studbook.daemon.app.delivery import Sender

        sender = Sender(self.settings)
        try:
            delivery = await sender.post(hook, TEST_EVENT, 0, encode(payload), 1)
        finally:
            await sender.close()

        def operation(tx: Transaction) -> Effects:
            tx.insert_delivery(delivery)
            return Effects()

        await self.core.write(operation)
        return delivery

    async def deliveries(self, name: str, limit: int) -> list[Delivery]:
        if not 0 <= limit <= MAX_DELIVERIES:
            raise InvalidArgument(f"limit is 0 (for {DEFAULT_DELIVERIES}) to {MAX_DELIVERIES}",
                                  reason="INVALID_ARGUMENT", field="limit")  # fmt: skip
        hook = self.find(name)
        return await self.core.read(self.core.catalog.hook_deliveries, hook.id, limit or DEFAULT_DELIVERIES)

    def status(self) -> tuple[int, list[Hook]]:
        """How many hooks there are, and the paused ones."""
        return len(self.hooks), [h for h in self.list_hooks() if h.paused]
