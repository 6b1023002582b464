"""Garbage collection: versions beyond the policy's retention archived, then purged, and the blobs
no remaining version refers to deleted (see domain.retention for the rule).

A run has two steps. First the catalog: the plan is read once, off the writer, in one set-wise
query; then write transactions of at most BATCH versions each check that their part of the
plan still holds (a promotion, a new lineage child or an edit made meanwhile wins) and archive
or purge it, recording each change in the audit trail (`version.archived`, `version.purged`).
Then the blobs, after those commits: a blob goes only when no version's files refer to it, it
is older than the grace (`--gc-grace`), no ingest in flight claims it (see blobs.claims), and
no other catalog keeps files in the store. A crash or a cancelled call between the two steps
leaves only blobs nothing refers to, which the next run deletes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.blobs import BlobStore
from studbook.daemon.blobs.claims import BlobClaims
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.errors import Conflict
from studbook.daemon.domain.model import ModelVersion, VersionStatus
from studbook.daemon.domain.policy import Policy, Retention
from studbook.daemon.domain.retention import BLOB_GRACE, Decision, Expiry, Fate, decide
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.retention import RetentionFacts, RetentionRule

# Versions archived or purged per write transaction: other writes wait for at most one batch.
BATCH = 2_000


@dataclass
class BlobOutcome:
    """What the blob step did (or, in a dry run, would do) with the blobs no version refers to."""

    deleted: int = 0
    deleted_bytes: int = 0
    # Of those deleted: blobs only the versions purged by this run referred to.
    freed_by_purge: int = 0
    freed_by_purge_bytes: int = 0
    # Of those deleted: blobs no version referred to before this run (orphans).
    orphans: int = 0
    orphan_bytes: int = 0
    # Not referred to, but kept: written less than the grace ago.
    recent: int = 0
    recent_bytes: int = 0
    # Not referred to, but kept: an ingest in flight claimed it.
    claimed: int = 0
    claimed_bytes: int = 0
    # Other catalogs keeping files in the store: their versions may use any blob, so none is deleted.
    other_catalogs: int = 0
    # Not referred to by this catalog, but kept because other catalogs share the store.
    shared: int = 0
    shared_bytes: int = 0


@dataclass
class Collection:
    """One garbage collection, done or planned."""

    dry_run: bool
    time: datetime
    store: str
    # Every version beyond keep_last, by fate: the archived and purged ones as applied.
    decisions: list[Decision] = field(default_factory=list)
    blobs: BlobOutcome = field(default_factory=BlobOutcome)

    def count(self, fate: Fate) -> int:
        return sum(1 for d in self.decisions if d.fate == fate)


@dataclass
class _Batch:
    """What one write transaction applied, and the decisions the catalog overruled meanwhile."""

    applied: list[Decision]
    overruled: list[Decision]
    purged_shas: set[str]


class RetentionUseCases:
    def __init__(self, core: Core, blobs: BlobStore, policy: PolicyStore, claims: BlobClaims,
                 *, batch: int = BATCH, grace: timedelta = BLOB_GRACE, catalog_id: str = "") -> None:  # fmt: skip
        self.core = core
        self.catalog_id = catalog_id
        self.blobs = blobs
        self.policy = policy
        self.claims = claims
        self.batch = batch
        # An unreferenced blob younger than this stays (see domain.retention.BLOB_GRACE).
        self.grace = grace
        self._running = asyncio.Lock()
        # Set by the registry: whether a backup is being written (it needs every blob it read).
        self.backup_running: Callable[[], bool] = lambda: False

    @property
    def running(self) -> bool:
        return self._running.locked()

    async def plan(self) -> Collection:
        """What `collect` would do now; changes nothing."""
        now = self.core.clock()
        retentions = await self._retentions(self.policy.current())
        facts = await self.core.read(self.core.catalog.retention_facts, _rules(retentions, now))
        decided = _decide(facts, retentions)
        decisions = [decision for _, decision in decided]
        purging = [(f.model, f.number) for f, d in decided if d.fate is Fate.PURGE]
        outcome = await asyncio.to_thread(self._sweep, now, purging, set(), True)
        return Collection(True, now, self.blobs.url, decisions, outcome)

    async def collect(self, caller: Caller) -> Collection:
        """Archives and purges what the policy's retention says, then deletes unreferenced blobs.

        The plan is read once, off the writer; each batch then checks in its own transaction that
        its part of the plan still holds (see store.retention.still_decided), so the writer never
        rescans the whole catalog and a change made meanwhile always wins over the plan.
        """
        if self._running.locked():
            raise Conflict("a garbage collection is running already; wait for it to end",
                           reason="GC_IN_PROGRESS")  # fmt: skip
        if self.backup_running():
            raise Conflict("a backup is being written; collect garbage once it is done",
                           reason="BACKUP_RUNNING")  # fmt: skip
        async with self._running:
            now = self.core.clock()
            retentions = await self._retentions(self.policy.current())
            rules = _rules(retentions, now)
            # Read before the plan: a version registered after it has a higher vid, surely.
            horizon = await self.core.read(self.core.catalog.max_vid)
            decided = _decide(await self.core.read(self.core.catalog.retention_facts, rules), retentions)
            # Newest first: a lineage child is registered after its parent, so a parent's due
            # descendants are purged in its batch or an earlier one, never after it.
            purges = [d for f, d in sorted(decided, key=lambda pair: pair[0].vid, reverse=True) if d.fate == Fate.PURGE]
            actions = purges + [d for _, d in decided if d.fate == Fate.ARCHIVE]
            applied: list[Decision] = []
            overruled: list[Decision] = []
            purged_shas: set[str] = set()
            for start in range(0, len(actions), self.batch):
                chunk = actions[start : start + self.batch]
                batch: _Batch = await self.core.write(
                    partial(self._apply, chunk=chunk, rules=rules, horizon=horizon, caller=caller)
                )
                applied.extend(batch.applied)
                overruled.extend(batch.overruled)
                purged_shas |= batch.purged_shas
            outcome = await asyncio.to_thread(self._sweep, now, [], purged_shas, False)
            untouched = [d for _, d in decided if d.fate in (Fate.KEEP, Fate.WAIT)]
            decisions = sorted([*applied, *(d.kept_instead() for d in overruled), *untouched],
                               key=lambda d: (d.model, d.number))  # fmt: skip
            return Collection(False, now, self.blobs.url, decisions, outcome)

    async def _retentions(self, policy: Policy) -> dict[str, Retention]:
        """The retention of every model the policy gives one; the others keep every version."""
        found = {}
        for name in await self.core.read(self.core.catalog.model_names):
            retention = policy.for_model(name).retention
            if retention is not None:
                found[name] = retention
        return found

    # -- the catalog step, on the writer thread ----------------------------------------------

    def _apply(self, tx: Transaction, chunk: list[Decision], rules: list[RetentionRule], horizon: int,
               caller: Caller) -> Effects:  # fmt: skip
        purges = [(d.model, d.number) for d in chunk if d.fate == Fate.PURGE]
        archives = [(d.model, d.number) for d in chunk if d.fate == Fate.ARCHIVE]
        holds = tx.still_decided(purges, archives, rules, horizon)
        chosen = [d for d in chunk if (d.model, d.number) in holds]
        records = {(v.model, v.number): v for v in tx.get_versions([(d.model, d.number) for d in chosen])}
        effects = Effects()
        purged_shas = self._purge(tx, effects, [d for d in chosen if d.fate == Fate.PURGE], records, caller)
        self._archive(tx, effects, [d for d in chosen if d.fate == Fate.ARCHIVE], records, caller)
        effects.value = _Batch(chosen, [d for d in chunk if (d.model, d.number) not in holds], set(purged_shas))
        return effects

    def _purge(self, tx: Transaction, effects: Effects, decisions: list[Decision],
               records: dict[tuple[str, int], ModelVersion], caller: Caller) -> list[str]:  # fmt: skip
        if not decisions:
            return []
        core = self.core
        keys = [(d.model, d.number) for d in decisions]
        # Their records before the rows go: one read after would hold the catalog's recount
        # already, and be counted down twice below.
        models = {model_id: core.writer_model(model_id) for model_id in sorted({model for model, _ in keys})}
        purged = []
        for decision in decisions:
            version = records[(decision.model, decision.number)]
            # The record as it was, with why it went: the audit trail's last word on it.
            version.status_reason = f"purged by retention: {decision.why}"
            core.event(tx, effects, "version.purged", decision.name, decision.model, caller, version)
            purged.append(version)
        shas = tx.purge_versions(keys)
        core.state.drop_facts({model for model, _ in keys})
        for model_id, count in Counter(model for model, _ in keys).items():
            model = models[model_id]
            model.version_count -= count
            effects.models[model_id] = core.snapshot(model)
        effects.purged.extend(keys)
        return shas

    def _archive(self, tx: Transaction, effects: Effects, decisions: list[Decision],
                 records: dict[tuple[str, int], ModelVersion], caller: Caller) -> None:  # fmt: skip
        if not decisions:
            return
        core = self.core
        now = core.clock()
        revisions, reasons = [], []
        for decision in decisions:
            version = records[(decision.model, decision.number)]
            version.status = VersionStatus.ARCHIVED
            version.status_reason = f"archived by retention: {decision.why}"
            version.update_time = now
            revisions.append(
                core.event(tx, effects, "version.archived", decision.name, decision.model, caller, version)
            )
            reasons.append(version.status_reason)
            core.state.set_status(version.model, version.number, VersionStatus.ARCHIVED)
            effects.versions.append(version)
        tx.archive_versions([(d.model, d.number) for d in decisions], revisions, reasons, now)

    # -- the blob step, in a worker thread --------------------------------------------------

    def _sweep(
        self, now: datetime, purging: list[tuple[str, int]], purged_shas: set[str], dry_run: bool
    ) -> BlobOutcome:
        """Deletes (or counts) the stored blobs no version refers to, `purging` left out.

        The sweep starts recording claims before the catalog is read, so that a blob an ingest
        takes up meanwhile is seen as claimed (see blobs.claims).
        """
        outcome = BlobOutcome()
        written_before = (now - self.grace).timestamp()
        # Another catalog's versions may use any blob here, and this catalog cannot see them.
        outcome.other_catalogs = len(self.blobs.catalogs() - {self.catalog_id})
        with self.claims.sweep() as sweep:
            stored = [(b.sha256, b.size, b.modified) for b in self.blobs.list_entries()]
            for blob in self.core.catalog.unreferenced_blobs(stored, purging):
                if outcome.other_catalogs:
                    outcome.shared += 1
                    outcome.shared_bytes += blob.size
                    continue
                if blob.modified > written_before:
                    outcome.recent += 1
                    outcome.recent_bytes += blob.size
                    continue
                if not dry_run and not self.claims.delete_unclaimed(sweep, blob.sha256, self.blobs.delete):
                    outcome.claimed += 1
                    outcome.claimed_bytes += blob.size
                    continue
                outcome.deleted += 1
                outcome.deleted_bytes += blob.size
                if blob.by_purged or blob.sha256 in purged_shas:
                    outcome.freed_by_purge += 1
                    outcome.freed_by_purge_bytes += blob.size
                else:
                    outcome.orphans += 1
                    outcome.orphan_bytes += blob.size
        return outcome


def _rules(retentions: dict[str, Retention], now: datetime) -> list[RetentionRule]:
    return [RetentionRule(model, r.keep_last, now - r.purge_after, not r.purge_after)
            for model, r in sorted(retentions.items())]  # fmt: skip


def _decide(facts: list[RetentionFacts], retentions: dict[str, Retention]) -> list[tuple[RetentionFacts, Decision]]:
    archived = VersionStatus.ARCHIVED.value
    purge_after = {model: retention.purge_after for model, retention in retentions.items()}
    return [
        (fact, decide(Expiry(
            fact.model, fact.number, fact.status == archived, fact.update_time, fact.keep_last, fact.due,
            tuple(fact.held.split(",")) if fact.held else (),
            tuple(int(i) for i in fact.pending.split(",")) if fact.pending else (),
            fact.parent_of_kept, fact.parent_of_remaining,
        ), purge_after[fact.model], fact.total_size))
        for fact in facts
    ]  # fmt: skip
