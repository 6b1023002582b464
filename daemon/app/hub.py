"""Fan-out of committed events to live Watch streams, on the event loop."""

from __future__ import annotations

import asyncio

from studbook.daemon.domain.model import Event

# A subscriber that falls this far behind is cut off and resumes from the log.
SUBSCRIBER_BUFFER = 10_000


class Subscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self.overflowed = False


class EventHub:
    """Subscribers get every event committed after they subscribed, in revision order."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def publish(self, events: list[Event]) -> None:
        for subscription in list(self._subscribers):
            for event in events:
                try:
                    subscription.queue.put_nowait(event)
                except asyncio.QueueFull:
                    subscription.overflowed = True
                    self._subscribers.discard(subscription)
                    break

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
