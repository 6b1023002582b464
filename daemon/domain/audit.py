"""The audit chain: each event's hash covers the one before, so an edited or deleted record shows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
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
class HighWaterMark:
    """The newest revision acknowledged to a caller, and the chain's hash at that revision.

    Kept apart from the catalog, it shows a catalog that lost acknowledged records (a torn
    or deleted write-ahead log, an older copy put back) or had its trail rewritten.
    """

    revision: int
    chain_hash: str


def short_of_mark(mark: HighWaterMark, catalog_revision: int, hash_at_mark: str | None) -> str:
    """What is wrong when the catalog holds less than, or other than, the mark says was
    acknowledged; empty when it holds at least that. A catalog ahead of the mark is fine:
    the mark is written just after each commit."""
    if catalog_revision < mark.revision:
        return f"the catalog ends at revision {catalog_revision} but revision {mark.revision} was acknowledged"
    if mark.revision == 0 or hash_at_mark == "":
        return ""  # nothing acknowledged yet, or a trail from before the chain: revisions alone are compared
    if hash_at_mark is None:
        return (f"the catalog holds revisions up to {catalog_revision} but revision {mark.revision}, "
                "which was acknowledged, is missing from it")  # fmt: skip
    if hash_at_mark != mark.chain_hash:
        return (f"the catalog holds revisions up to {catalog_revision} but its revision {mark.revision} "
                "is not the one acknowledged (its chain hash differs)")  # fmt: skip
    return ""


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

    def __init__(self, start_revision: int = 0, start_hash: str = GENESIS, mark: HighWaterMark | None = None) -> None:
        self.expected_revision = start_revision + 1
        self.head = start_hash
        self.checked = 0
        self.broken: tuple[int, str] | None = None
        # Also checked: the trail reaches the mark's revision and holds the acknowledged hash there.
        self.mark = mark

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
            if self.mark is not None and event.revision == self.mark.revision and stored != self.mark.chain_hash:
                self.broken = (event.revision, f"revision {event.revision} is not the one acknowledged: its hash "
                                               "differs from the high-water mark's, so the trail was rewritten")  # fmt: skip
                return False
            self.head = stored
            self.expected_revision += 1
            self.checked += 1
        return True

    def run(self, records_after: Callable[[int, int], Sequence[tuple[Event, str]]], batch: int = 10_000) -> Verdict:
        """Feeds everything `records_after(revision, limit)` returns, batch by batch, and gives the verdict."""
        while found := records_after(self.expected_revision - 1, batch):
            if not self.feed(found):
                break
        return self.verdict()

    def verdict(self) -> Verdict:
        """Call once every record was fed (or `feed` returned False)."""
        last = self.expected_revision - 1
        if self.broken is None and self.mark is not None and last < self.mark.revision:
            self.broken = (last + 1, f"the trail ends at revision {last} but the high-water mark says revision "
                                     f"{self.mark.revision} was acknowledged: the records after {last} are lost")  # fmt: skip
        if self.broken is None:
            return Verdict(self.checked, self.head)
        return Verdict(self.checked, self.head, self.broken[0], self.broken[1])
