"""The audit chain: each event's hash covers the one before, so an edited or deleted record shows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from studbook.daemon.domain.model import Event

GENESIS = "0" * 64
_SEPARATOR = "\x1f"


def chain_hash(previous: str, event: Event) -> str:
    """sha256 over the previous hash and every field of the event, payload by its own hash."""
    fields = (
        previous,
        str(event.revision),
        event.time.isoformat(),
        event.type,
        event.subject,
        event.model,
        event.actor,
        hashlib.sha256(event.payload or b"").hexdigest(),
        # Appended only when set, so events chained before roles existed keep their hashes.
        *((event.role,) if event.role else ()),
    )
    return hashlib.sha256(_SEPARATOR.join(fields).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking the chain: intact, or the first record that breaks it and how."""

    checked: int
    head: str
    broken_revision: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_revision is None


class ChainCheck:
    """Walks events in revision order, fed in batches, and stops at the first break."""

    def __init__(self, start_revision: int = 0, start_hash: str = GENESIS) -> None:
        self.expected_revision = start_revision + 1
        self.head = start_hash
        self.checked = 0
        self.broken: tuple[int, str] | None = None

    def feed(self, records: Iterable[tuple[Event, str]]) -> bool:
        """Checks (event, stored hash) pairs; False once a break is found."""
        for event, stored in records:
            if event.revision != self.expected_revision:
                self.broken = (
                    self.expected_revision,
                    f"revision {self.expected_revision} is missing (the next record is {event.revision})",
                )
                return False
            if stored != chain_hash(self.head, event):
                self.broken = (event.revision, f"revision {event.revision} does not match its hash: edited")
                return False
            self.head = stored
            self.expected_revision += 1
            self.checked += 1
        return True

    def verdict(self) -> Verdict:
        if self.broken is None:
            return Verdict(self.checked, self.head)
        return Verdict(self.checked, self.head, self.broken[0], self.broken[1])
