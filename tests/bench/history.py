"""The event history a seeded catalog carries: one version.created event a version, chained as
the daemon chains them, as a registry that registered those versions one by one would hold.

What reads the events table (a daemon following another's commits, a writer catching up under
the write lock) is planned against that table's size. A seed of a single event left
PostgreSQL's statistics saying the table was tiny, and each read of the newest events scanned
it whole while the registration bench grew it: 1 ms a read against 0.03 ms through its key
(measured), a quarter of the server's CPU with two daemons registering.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from studbook.daemon.domain.audit import GENESIS, chain_hash
from studbook.daemon.domain.model import Event

SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def seeded_events(models: int, versions_per_model: int) -> Iterator[tuple[Event, str]]:
    """Each seeded version's version.created event (revisions from 1, model by model, no
    payload) and the chain hash the audit trail holds for it."""
    head, revision = GENESIS, 0
    for m in range(models):
        for n in range(1, versions_per_model + 1):
            revision += 1
            event = Event(revision, SEEDED_AT + timedelta(minutes=n), "version.created",
                          f"models/model-{m}/versions/{n}", f"model-{m}", "bench")  # fmt: skip
            head = chain_hash(head, event)
            yield event, head
