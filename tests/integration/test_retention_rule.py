"""Garbage collection against a plain-Python model of the retention rule, over random histories.

Each example builds a registry on a real DuckDB file and a real artifact folder, then runs a random
history through the use cases: registrations with lineage parents and files shared across
versions, promotions into stages and aliases, alias removals, promotions left waiting for
approval, approved or cancelled, the clock moving on, and garbage collections (each planned as a
dry run first). After every collection the catalog, the store and the audit trail must be what
the model says, and nothing protected may be gone.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.app.registry import Registry
from studbook.daemon.app.stages import PromotionRequest
from studbook.daemon.app.versions import Registration
from studbook.daemon.blobs.store import blob_key
from studbook.daemon.domain.access import Caller, Role
from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.domain.model import ModelVersion, ParentLink, PromotionState
from studbook.daemon.domain.retention import Fate
from studbook.daemon.service.convert import encode_payload

POLICY = """
[[models]]
pattern = "quick"
[models.gates.review]
approvals = 1
[models.retention]
keep_last = 2
purge_after = "0s"

[[models]]
pattern = "slow"
[models.gates.review]
approvals = 1
[models.retention]
keep_last = 1
purge_after = "2d"

[[models]]
pattern = "forever"
[models.gates.review]
approvals = 1
"""
# keep_last and purge_after of each model with retention, as POLICY says.
RULES = {"quick": (2, timedelta(0)), "slow": (1, timedelta(days=2))}
MODELS = ("quick", "slow", "forever")
# Contents shared by many versions, so that a blob is often referred to by more than one.
SHARED = [b"shared weights %d" % i for i in range(3)]
ADMIN = Caller("ana", Role.ADMIN)
APPROVER = Caller("bo", Role.ADMIN)
# Files are written now, by the wall clock; the registry's clock starts a day later, so every
# blob is older than the grace and only references decide whether it goes.
START = datetime.now(UTC) + timedelta(days=1)

Key = tuple[str, int]


@dataclass
class Known:
    parents: set[Key]
    archived_at: datetime | None = None
    made: int = 0


@dataclass
class RuleModel:
    """The rule, written plainly: what should remain after a collection at `now`."""

    versions: dict[Key, Known] = field(default_factory=dict)
    held: set[Key] = field(default_factory=set)
    pending: dict[str, Key] = field(default_factory=dict)

    def fates(self, now: datetime) -> dict[Key, Fate]:
        children: dict[Key, set[Key]] = defaultdict(set)
        for key, known in self.versions.items():
            for parent in known.parents:
                children[parent].add(key)
        beyond = set()
        for model, (keep_last, _) in RULES.items():
            numbers = sorted((n for m, n in self.versions if m == model), reverse=True)
            beyond |= {(model, n) for n in numbers[keep_last:]}
        candidates = beyond - self.held - set(self.pending.values())
        kept_parents = closure(candidates, children)
        due = {k for k in candidates - kept_parents if self._due(k, now)}
        waiting_parents = closure(due, children)
        fates = {key: Fate.KEEP for key in beyond - candidates}
        for key in candidates:
            archived = self.versions[key].archived_at is not None
            if key in kept_parents:
                fates[key] = Fate.KEEP
            elif key in due and key not in waiting_parents:
                fates[key] = Fate.PURGE
            else:
                fates[key] = Fate.WAIT if archived else Fate.ARCHIVE
        return fates

    def _due(self, key: Key, now: datetime) -> bool:
        purge_after = RULES[key[0]][1]
        archived_at = self.versions[key].archived_at
        return not purge_after or (archived_at is not None and archived_at <= now - purge_after)

    def apply(self, fates: dict[Key, Fate], now: datetime) -> None:
        for key, fate in fates.items():
            if fate == Fate.PURGE:
                del self.versions[key]
            elif fate == Fate.ARCHIVE:
                self.versions[key].archived_at = now


def closure(members: set[Key], children: dict[Key, set[Key]]) -> set[Key]:
    """The members a version outside `members` descends from, through members only."""
    found: set[Key] = set()
    grown = True
    while grown:
        grown = False
        for key in members - found:
            if any(child not in members or child in found for child in children[key]):
                found.add(key)
                grown = True
    return found


def name(key: Key) -> str:
    return f"models/{key[0]}/versions/{key[1]}"


# -- the history ----------------------------------------------------------------------------

pick = st.integers(0, 10_000)
register = st.tuples(st.just("register"), st.sampled_from(MODELS), st.integers(0, len(SHARED)),
                     st.lists(pick, max_size=2))  # fmt: skip
steps = st.lists(
    st.one_of(
        # Registrations weigh most: a collection only has work once models outgrow keep_last.
        register,
        register,
        register,
        register,
        st.tuples(st.just("promote"), pick, st.sampled_from(["production", "champion"])),
        st.tuples(st.just("promote"), pick, st.sampled_from(["production", "champion"])),
        st.tuples(st.just("unalias"), st.sampled_from(MODELS)),
        st.tuples(st.just("ask"), pick),
        st.tuples(st.just("settle"), pick, st.booleans()),
        st.tuples(st.just("tick"), st.integers(1, 72)),
        st.tuples(st.just("tick"), st.integers(1, 72)),
        st.tuples(
            st.just("gc"),
        ),
        st.tuples(
            st.just("gc"),
        ),
    ),
    min_size=12,
    max_size=50,
)
# Histories about time: versions archived, the clock moving past purge_after or not, purges
# held back by a lineage child that is archived but not due yet.
over_time = st.lists(
    st.one_of(
        st.tuples(
            st.just("register"),
            st.sampled_from(["slow", "quick"]),
            st.integers(0, len(SHARED)),
            st.lists(pick, max_size=1),
        ),  # fmt: skip
        st.tuples(st.just("tick"), st.integers(12, 60)),
        st.tuples(
            st.just("gc"),
        ),
        st.tuples(st.just("ask"), pick),
        st.tuples(st.just("settle"), pick, st.booleans()),
    ),
    min_size=8,
    max_size=40,
)


class Run:
    def __init__(self, registry: Registry, folder: Path) -> None:
        self.registry = registry
        self.folder = folder
        self.model = RuleModel()
        self.now = START
        self.made = 0

    def live(self) -> list[Key]:
        return sorted(k for k, v in self.model.versions.items() if v.archived_at is None)

    async def step(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind == "register":
            await self.register(step[1], step[2], step[3])
        elif kind == "promote" and self.live():
            await self.promote(self.live()[step[1] % len(self.live())], step[2])
        elif kind == "unalias":
            await self.unalias(step[1])
        elif kind == "ask" and self.live():
            await self.ask(self.live()[step[1] % len(self.live())])
        elif kind == "settle" and self.model.pending:
            await self.settle(sorted(self.model.pending)[step[1] % len(self.model.pending)], step[2])
        elif kind == "tick":
            self.now += timedelta(hours=step[1])
        elif kind == "gc":
            await self.collect()

    async def register(self, model: str, shared: int, picks: list[int], parents: set[Key] | None = None) -> None:
        if parents is None:
            # Parents among the newest versions, so that chains of lineage form often.
            newest = sorted(self.model.versions, key=lambda k: self.model.versions[k].made)[-4:]
            parents = {newest[p % len(newest)] for p in picks} if newest else set()
        self.made += 1
        source = self.folder / f"v{self.made}"
        source.mkdir()
        (source / "unique.txt").write_text(f"version {self.made}")
        if shared < len(SHARED):
            (source / "weights.bin").write_bytes(SHARED[shared])
        draft = ModelVersion(
            model=model, number=0, parents=[ParentLink(m, n, "fine_tuned_from") for m, n in sorted(parents)]
        )
        registered = await self.registry.versions.register(Registration(draft, ADMIN, source_path=str(source)))
        self.model.versions[(model, registered.version.number)] = Known(parents, made=self.made)

    async def promote(self, key: Key, target: str) -> None:
        try:
            promotion = await self.registry.stages.promote(PromotionRequest(name(key), target, ADMIN))
        except RegistryError as refused:
            assert refused.reason == "ALREADY_HOLDS_TARGET", refused.message
            return
        assert promotion.state == PromotionState.APPLIED
        self.model.held.add(key)

    async def unalias(self, model: str) -> None:
        record = await self.registry.core.model_if_any(model)
        if record is not None and "champion" in record.aliases:
            await self.registry.stages.delete_alias(f"models/{model}", "champion", "", ADMIN)

    async def ask(self, key: Key) -> None:
        try:
            promotion = await self.registry.stages.promote(PromotionRequest(name(key), "review", ADMIN))
        except RegistryError as refused:
            assert refused.reason == "ALREADY_HOLDS_TARGET", refused.message
            return
        assert promotion.state == PromotionState.PENDING_APPROVAL
        self.model.pending[f"models/{key[0]}/promotions/{promotion.id}"] = key

    async def settle(self, name: str, approve: bool) -> None:
        key = self.model.pending.pop(name)
        try:
            decided = await self.registry.stages.decide(
                name, PromotionState.APPROVED if approve else PromotionState.CANCELLED, "", APPROVER
            )
        except RegistryError:  # approved, but the version is archived by now: the promotion failed
            return
        if decided.state == PromotionState.APPLIED:
            self.model.held.add(key)

    async def collect(self) -> None:
        expected = self.model.fates(self.now)
        before = self.catalog_rows()
        planned = await self.registry.retention.plan()
        assert self.catalog_rows() == before, "a dry run changed the catalog"
        assert {(d.model, d.number): d.fate for d in planned.decisions} == expected
        events_before = self.purge_events()

        done = await self.registry.retention.collect(ADMIN)

        purged = {k for k, fate in expected.items() if fate == Fate.PURGE}
        self.model.apply(expected, self.now)
        assert {(d.model, d.number): d.fate for d in done.decisions} == expected
        assert self.catalog_rows() == {(m, n, "archived" if v.archived_at else "ready")
                                       for (m, n), v in self.model.versions.items()}  # fmt: skip
        assert self.purge_events() - events_before == {f"models/{m}/versions/{n}" for m, n in purged}
        assert self.stored_blobs() == self.referenced_blobs()
        self.assert_nothing_protected_is_gone()

    def assert_nothing_protected_is_gone(self) -> None:
        remaining = set(self.model.versions)
        assert self.model.held <= remaining, "a version that held a stage or alias was purged"
        assert set(self.model.pending.values()) <= remaining, "a version with a pending promotion was purged"
        for known in self.model.versions.values():
            assert known.parents <= remaining, "a lineage parent of a remaining version was purged"

    def catalog_rows(self) -> set[tuple[str, int, str]]:
        return set(self.registry.catalog.query("SELECT model, number, status FROM versions"))

    def purge_events(self) -> set[str]:
        return {r[0] for r in self.registry.catalog.query("SELECT subject FROM events WHERE type = 'version.purged'")}

    def referenced_blobs(self) -> set[str]:
        return {r[0] for r in self.registry.catalog.query("SELECT DISTINCT sha256 FROM files")}

    def stored_blobs(self) -> set[str]:
        return {sha for sha, _ in self.registry.blobs.list()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.one_of(steps, over_time), batch=st.sampled_from([1, 2, 3, 2_000]))
def test_a_collection_removes_exactly_what_the_rule_says_and_never_anything_protected(history: list[Any],
                                                                                     batch: int) -> None:  # fmt: skip

    async def steps(run: Run) -> None:
        run.registry.retention.batch = batch
        for step in [*history, ("gc",)]:
            await run.step(step)

    scenario(steps)


def opened(folder: Path) -> Run:
    """A registry on `folder` under POLICY, whose clock the run it returns sets."""
    (folder / "policy.toml").write_text(POLICY)
    registry = Registry(folder / "catalog.duckdb", encode_payload, policy=PolicyStore(folder / "policy.toml"))
    run = Run(registry, folder)
    registry.core.clock = lambda: run.now
    return run


async def started(run: Run, body: Any) -> Any:
    """`body(run)`'s outcome, with the run's registry started around it."""
    run.registry.start()
    try:
        return await body(run)
    finally:
        run.registry.close()


# -- cases random histories rarely reach ------------------------------------------------------


def scenario(body: Any) -> None:
    """Runs `body(run)` against a fresh registry whose clock the run sets."""
    with tempfile.TemporaryDirectory(prefix="sb-rule-") as temp:
        asyncio.run(started(opened(Path(temp)), body))


def test_a_due_parent_waits_for_its_archived_child_and_both_go_together_newest_first():
    async def body(run: Run) -> None:
        run.registry.retention.batch = 1
        for _ in range(3):
            await run.register("quick", len(SHARED), [])
        await run.register("slow", len(SHARED), [], parents={("quick", 1)})
        await run.register("slow", len(SHARED), [])

        first = await run.registry.retention.collect(ADMIN)
        run.now += timedelta(days=2)
        second = await run.registry.retention.collect(ADMIN)

        fates = {d.name: d.fate for d in first.decisions}
        assert fates == {"models/quick/versions/1": Fate.ARCHIVE, "models/slow/versions/1": Fate.ARCHIVE}
        held_back = next(d for d in first.decisions if d.name == "models/quick/versions/1")
        assert "models/slow/versions/1 descends from it" in held_back.why
        assert [d.name for d in second.decisions if d.fate == Fate.PURGE] == ["models/quick/versions/1",
                                                                              "models/slow/versions/1"]  # fmt: skip
        order = [r[0] for r in run.registry.catalog.query(
            "SELECT subject FROM events WHERE type = 'version.purged' ORDER BY revision")]  # fmt: skip
        assert order == ["models/slow/versions/1", "models/quick/versions/1"]

    scenario(body)


def test_a_purge_right_after_start_up_counts_the_models_versions_down_once():
    """A daemon reads a model's record on first use: here the purge's own, once the rows are gone
    would be after the catalog recounted them."""
    with tempfile.TemporaryDirectory(prefix="sb-rule-") as temp:

        async def register_four(run: Run) -> None:
            for _ in range(4):
                await run.register("quick", len(SHARED), [])

        async def collect(run: Run) -> tuple[list[str], int, int]:
            report = await run.registry.retention.collect(ADMIN)
            (row,) = run.registry.catalog.query("SELECT version_count FROM models WHERE name = 'quick'")
            purged = sorted(d.name for d in report.decisions if d.fate == Fate.PURGE)
            return purged, (await run.registry.core.read_model("quick")).version_count, row[0]

        for body in (register_four, collect):
            outcome = asyncio.run(started(opened(Path(temp)), body))

    assert outcome == (["models/quick/versions/1", "models/quick/versions/2"], 2, 2)


def test_a_blob_an_ingest_claims_outlives_the_purge_of_its_last_version_until_the_claim_ends():
    async def body(run: Run) -> None:
        for _ in range(3):
            await run.register("quick", len(SHARED), [])
        doomed = run.registry.catalog.query("SELECT sha256 FROM files WHERE model = 'quick' AND number = 1")[0][0]

        with run.registry.claims.hold() as ingest:
            ingest.claim(doomed)  # an ingest found these bytes stored and is about to commit its version
            during = await run.registry.retention.collect(ADMIN)
            assert run.registry.blobs.has(doomed)
        after = await run.registry.retention.collect(ADMIN)

        assert [d.name for d in during.decisions if d.fate == Fate.PURGE] == ["models/quick/versions/1"]
        assert (during.blobs.deleted, during.blobs.claimed) == (0, 1)
        assert (after.blobs.deleted, after.blobs.orphans, after.blobs.claimed) == (1, 1, 0)
        assert not run.registry.blobs.has(doomed)

    scenario(body)


def test_an_unreferenced_blob_written_within_the_grace_stays_and_an_older_one_goes():
    async def body(run: Run) -> None:
        store = run.registry.blobs
        young, old = (hashlib.sha256(data).hexdigest() for data in (b"young orphan", b"old orphan"))
        for sha, data, age in (
            (young, b"young orphan", timedelta(minutes=59)),
            (old, b"old orphan", timedelta(hours=2)),
        ):
            staged = store.staging / f"{sha}.part"
            staged.write_bytes(data)
            store.put(sha, staged)
            written = (run.now - age).timestamp()
            os.utime(store.root / blob_key(sha), (written, written))

        planned = await run.registry.retention.plan()
        done = await run.registry.retention.collect(ADMIN)

        assert (planned.blobs.deleted, planned.blobs.recent) == (1, 1)
        assert store.has(young) and store.has(old) is False
        assert (done.blobs.orphans, done.blobs.orphan_bytes, done.blobs.recent) == (1, len(b"old orphan"), 1)

    scenario(body)


def meanwhile(run: Run, change: Any) -> None:
    """Makes `change(run)` (a coroutine) happen right after a collection has read its plan."""
    catalog = run.registry.catalog
    read_plan = catalog.retention_facts
    loop = asyncio.get_running_loop()

    def plan_then_change(*args: Any) -> Any:
        facts = read_plan(*args)
        asyncio.run_coroutine_threadsafe(change(run), loop).result()
        return facts

    catalog.retention_facts = plan_then_change  # type: ignore[method-assign]


def test_a_version_promoted_after_the_plan_was_read_is_not_purged():
    async def body(run: Run) -> None:
        for _ in range(3):
            await run.register("quick", len(SHARED), [])
        meanwhile(run, lambda r: r.promote(("quick", 1), "champion"))

        done = await run.registry.retention.collect(ADMIN)

        assert run.catalog_rows() == {("quick", 1, "ready"), ("quick", 2, "ready"), ("quick", 3, "ready")}
        decision = next(d for d in done.decisions if d.name == "models/quick/versions/1")
        assert decision.fate == Fate.KEEP and "changed while garbage was being collected" in decision.why
        assert run.purge_events() == set()

    scenario(body)


def test_a_version_that_became_a_lineage_parent_after_the_plan_was_read_is_neither_purged_nor_archived():
    async def body(run: Run) -> None:
        for _ in range(3):
            await run.register("quick", len(SHARED), [])
        await run.register("slow", len(SHARED), [])
        await run.register("slow", len(SHARED), [])
        meanwhile(run, lambda r: r.register("forever", len(SHARED), [], parents={("quick", 1), ("slow", 1)}))

        done = await run.registry.retention.collect(ADMIN)

        fates = {d.name: d.fate for d in done.decisions}
        assert fates == {"models/quick/versions/1": Fate.KEEP, "models/slow/versions/1": Fate.KEEP}
        assert ("quick", 1, "ready") in run.catalog_rows() and ("slow", 1, "ready") in run.catalog_rows()

    scenario(body)
