"""Use cases on the audit trail: verify the hash chain, export the records."""

from __future__ import annotations

from collections.abc import AsyncIterator

from studbook.daemon.app.core import Core
from studbook.daemon.domain.audit import ChainCheck, Verdict
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.model import Event

BATCH = 10_000


class AuditUseCases:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def verify(self) -> Verdict:
        return await self.core.read(self._verify)

    def _verify(self) -> Verdict:
        # The mark first: the trail read after it holds at least what it says was acknowledged.
        return ChainCheck(mark=self.core.marks.read()).run(self.core.catalog.chained_events_after, BATCH)

    async def export(self, start_revision: int) -> AsyncIterator[tuple[Event, str, Event | None]]:
        """Each event after `start_revision` with its chain hash and the event before it on the
        same subject (the state it changed from)."""
        if start_revision < 0:
            raise InvalidArgument("start_revision must not be negative", reason="INVALID_ARGUMENT",
                                  field="start_revision")  # fmt: skip
        after = start_revision
        while batch := await self.core.read(self.core.catalog.audit_records_after, after, BATCH):
            for record in batch:
                yield record
            after = batch[-1][0].revision
