"""The plumbing every use case shares: the writer, the caches, commits and events."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from studbook.daemon.app.clock import utcnow
from studbook.daemon.app.clustering import CHECK_EVERY, MIN_ROWS, Clustering
from studbook.daemon.app.hub import EventHub
from studbook.daemon.app.state import ReadCache, WriterState
from studbook.daemon.app.writer_models import MAX_MODEL_RECORDS
from studbook.daemon.domain.access import Caller, Denial, Token
from studbook.daemon.domain.audit import GENESIS, HighWaterMark, chain_hash
from studbook.daemon.domain.drift import InputsLogged
from studbook.daemon.domain.errors import NotFound, RegistryError
from studbook.daemon.domain.hooks import Hook
from studbook.daemon.domain.model import Event, Model, ModelRename, ModelVersion, Promotion
from studbook.daemon.domain.monitors import MonitorStatus
from studbook.daemon.domain.names import VersionRef
from studbook.daemon.domain.production import MetricsLogged
from studbook.daemon.domain.semver import ChangeBasis
from studbook.daemon.store.dialect import DUCKDB
from studbook.daemon.store.interface import ListenerState, Listening, Store
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.mark import MarkFile
from studbook.daemon.store.records import CatalogMovedOn
from studbook.daemon.store.writer import Writer

log = logging.getLogger(__name__)

T = TypeVar("T")

# Turns the subject of an event (a Model, ModelVersion or Promotion) into payload bytes.
PayloadEncoder = Callable[[object], bytes]
# Reads, from a version.created event's payload, what the version's successor is judged against.
BasisReader = Callable[[bytes], ChangeBasis]

# Events a follower reads from the shared catalog at a time.
FOLLOW_BATCH = 1_000
# How long a follower waits for this daemon's writer to publish a commit it already sees in the
# catalog (between COMMIT and its publication), a pause at a time.
_OWN_COMMIT_PAUSE = 0.002
_OWN_COMMIT_WAIT = 5.0
# Past this many events by other daemons, the writer loads its state whole rather than by parts.
_REFRESH_LIMIT = 10_000


def _nothing() -> None:
    pass


def model_not_found(model_id: str) -> NotFound:
    return NotFound(f"model {model_id!r} does not exist", reason="MODEL_NOT_FOUND", model=model_id)


def renamed_from(event: Event) -> str:
    """The old model id of a `model.renamed` event (its subject, `models/{old}`)."""
    return event.subject.removeprefix("models/")


@dataclass
class Effects:
    """What one write operation changed, published to the caches and Watch after commit."""

    value: Any = None
    models: dict[str, Model | None] = field(default_factory=dict)
    versions: list[ModelVersion] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    # (model, number) of versions removed from the catalog, or whose records changed without a
    # version event of their own (parents renamed): dropped from the read cache.
    purged: list[tuple[str, int]] = field(default_factory=list)


class Core:
    """Owns the catalog, the writer thread, both in-memory states and the event hub."""

    def __init__(
        self,
        catalog: Store,
        encode: PayloadEncoder,
        *,
        marks: MarkFile,
        basis_of: BasisReader | None = None,
        cache_versions: int = 10_000,
        cache_models: int = MAX_MODEL_RECORDS,
        cluster_min_rows: int = MIN_ROWS,
        cluster_check_seconds: float = CHECK_EVERY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.catalog = catalog
        self.encode = encode
        self.basis_of = basis_of
        self.clock = clock
        # A simulated clock (demos, tests) moves at each write; the real one needs no telling.
        self._advance: Callable[[], None] = getattr(clock, "advance", _nothing)
        self.marks = marks
        self._chain_unchained_events()
        self._cache_models = cache_models
        self.state = WriterState.load(catalog, cache_models)
        # A catalog from before marks gets one; one ahead of its mark (a crash between a commit
        # and its mark) moves the mark up.
        self._marked_revision = -1
        self._write_mark()
        self.cache = ReadCache(cache_versions, cache_models)
        self.cache.revision = self.state.revision
        self.hub = EventHub()
        self._loop: asyncio.AbstractEventLoop | None = None  # set by `start`
        self._init_following()
        self.writer = Writer(catalog, self._published, self._reload, self._moved_on)
        # Only the DuckDB file needs its metric rows kept in key order (store/cluster.py); asked
        # by dialect first, so that a daemon on PostgreSQL never imports DuckDB.
        self.clustering: Clustering | None = None
        if catalog.dialect is DUCKDB:
            from studbook.daemon.store.catalog import Catalog

            if isinstance(catalog, Catalog):
                self.clustering = Clustering(catalog, self.writer.submit, Effects, min_rows=cluster_min_rows,
                                             every=cluster_check_seconds)  # fmt: skip

    def _init_following(self) -> None:
        """On a catalog other daemons write too, this daemon follows their commits: see `catch_up`."""
        self._listener: Listening | None = self.catalog.listen(self._wake)
        self.following = self._listener is not None
        # Serializes catch-ups with each other and with publishing this daemon's own commits,
        # so the read cache takes changes in revision order.
        self._follow_lock = threading.Lock()
        # The newest revision the read cache and the Watch hub have taken, from any daemon, and
        # when (epoch seconds) a catch-up last found nothing more to take.
        self.followed = self.state.revision
        self.caught_up_at: float | None = None
        # This daemon's revisions: taken by an open transaction, and committed but not yet
        # passed by the follower (which must publish neither again).
        self._own_lock = threading.Lock()
        self._uncommitted: set[int] = set()
        self._own: set[int] = set()
        # Watch gets events in revision order whichever daemon made them: the next one due,
        # and those that came early (a local commit published before a remote one before it).
        self._hub_next = self.state.revision + 1
        self._hub_early: dict[int, Event] = {}
        # Called on the follower's thread with other daemons' events, after the read cache took
        # them: for use cases that keep state of their own in memory (the access tokens).
        self.remote_hooks: list[Callable[[list[Event]], None]] = []

    def _chain_unchained_events(self) -> None:
        """Events from before the audit chain existed get their hashes, once, before any write.

        Chaining started with one migration, so either every event has a hash, or none does:
        the first event answers for all (reading a batch of them would cost every start).
        """
        first = self.catalog.chained_events_after(0, 1)
        if not first or first[0][1]:
            return
        head, after = GENESIS, 0
        hashes: list[tuple[int, str]] = []
        while batch := self.catalog.chained_events_after(after, 10_000):
            if batch[0][1]:
                return
            for event, _ in batch:
                head = chain_hash(head, event)
                hashes.append((event.revision, head))
            after = batch[-1][0].revision
        if hashes:
            tx = self.catalog.transaction()
            tx.begin()
            tx.set_chain_hashes(hashes)
            tx.commit()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.writer.start()
        if self.clustering is not None:
            self.clustering.start()
        if self._listener is not None:
            self._listener.start()

    def listener_state(self) -> ListenerState | None:
        """Whether this daemon hears other daemons' commits; None where no other daemon writes."""
        return self._listener.state() if self._listener is not None else None

    def stop(self) -> None:
        if self._loop is None:
            return  # never started: a start refused after the catalog opened (no thread ran)
        if self._listener is not None:
            self._listener.stop()
        if self.clustering is not None:
            self.clustering.stop()
        self.writer.stop()

    async def write(self, operation: Callable[[Transaction], Effects]) -> Any:
        """Runs `operation` on the writer thread; returns its value once it is durable."""
        effects: Effects = await self.writer.submit_async(self._in_group(operation))
        return effects.value

    async def write_many(self, operations: Sequence[Callable[[Transaction], Effects]]) -> list[Any]:
        """Runs each operation as `write` would, all queued at once and in order, so they share
        group commits and their events keep that order; each one's value, or the RegistryError
        that refused it (the others stand)."""
        futures = [self.writer.submit_async(self._in_group(operation)) for operation in operations]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        values: list[Any] = []
        for outcome in outcomes:
            if isinstance(outcome, RegistryError):
                values.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                values.append(outcome.value)
        return values

    def _in_group(self, operation: Callable[[Transaction], Effects]) -> Callable[[Transaction], Effects]:
        """`operation` as the writer runs it, in its group's transaction `tx`."""

        def run(tx: Transaction) -> Effects:
            self._advance()  # on the writer thread, so writes and their times keep one order
            self.state.models.read_through(tx)  # the records it asks for and are not held
            return operation(tx)

        return run

    async def read(self, function: Callable[..., T], *args: Any) -> T:
        """Runs a catalog read off the event loop."""
        return await asyncio.to_thread(function, *args)

    # -- writer-thread helpers ----------------------------------------------------------

    def event(
        self, tx: Transaction, effects: Effects, type_: str, subject: str, model: str, caller: Caller,
        payload: Model | ModelVersion | ModelRename | Promotion | Token | Denial | Hook | MetricsLogged | InputsLogged
        | MonitorStatus | None,
    ) -> int:  # fmt: skip
        revision = self.state.next_revision()
        if self.following:
            with self._own_lock:
                self._uncommitted.add(revision)
        if isinstance(payload, (Model, ModelVersion)):
            # The revision of a resource's last change is its etag.
            payload.revision = revision
        elif isinstance(payload, ModelRename):
            payload.model.revision = revision
        elif isinstance(payload, MonitorStatus):
            # A monitor's state names the revision of the event that records its breach or recovery.
            payload = replace(payload, revision=revision)
        event = Event(
            revision=revision,
            time=self.clock(),
            type=type_,
            subject=subject,
            model=model,
            actor=caller.actor,
            payload=self.encode(payload) if payload is not None else b"",
            role=caller.role.label,
        )
        self.state.chain_head = chain_hash(self.state.chain_head, event)
        tx.insert_event(event, self.state.chain_head)
        effects.events.append(event)
        return revision

    def writer_model(self, model_id: str) -> Model:
        model = self.state.models.get(model_id)
        if model is None:
            raise model_not_found(model_id)
        return model

    def snapshot(self, model: Model) -> Model:
        return model.copy()

    def _write_mark(self) -> None:
        """Records the committed head as acknowledged; on the writer thread, before any answer."""
        mark = HighWaterMark(self.state.revision, self.state.chain_head)
        try:
            self.marks.write(mark)
        except OSError as exc:
            # The commit is durable either way; a mark left behind only checks less at start-up.
            log.error("cannot write the high-water mark %s (%s); it stays at an older revision until a later "
                      "commit can write it", self.marks.path, exc.strerror or exc)  # fmt: skip
            return
        self._marked_revision = mark.revision

    def _published(self, results: list[Effects]) -> None:
        self.state.trim_models()
        if self.clustering is not None:
            self.clustering.committed()
        if self.state.revision != self._marked_revision:
            self._write_mark()
        models: dict[str, Model | None] = {}
        versions: list[ModelVersion] = []
        events: list[Event] = []
        purged: list[tuple[str, int]] = []
        for effects in results:
            models.update(effects.models)
            versions.extend(effects.versions)
            events.extend(effects.events)
            purged.extend(effects.purged)
        revision = events[-1].revision if events else self.cache.revision
        if not self.following:
            self.cache.publish(models, versions, revision, purged)
            if events and self._loop is not None:
                self._loop.call_soon_threadsafe(self.hub.publish, events)
            return
        with self._follow_lock:
            with self._own_lock:
                # Right after what the follower has taken (no other daemon's commit between):
                # followed at once, so that nobody reads these events back only to skip them.
                contiguous = bool(events) and events[0].revision == self.followed + 1
                for event in events:
                    self._uncommitted.discard(event.revision)
                    if event.revision > self.followed and not contiguous:
                        self._own.add(event.revision)
                if contiguous:
                    self.followed = events[-1].revision
            # The writer's records after its group: every commit before it, none after.
            self.cache.publish(models, versions, revision, purged, as_of=self.state.revision)
            if events and self._loop is not None:
                self._loop.call_soon_threadsafe(self._deliver, events)

    def _reload(self) -> None:
        self.state = WriterState.load(self.catalog, self._cache_models)
        if self.following:
            with self._own_lock:
                self._uncommitted.clear()  # rolled back: another daemon may commit these revisions
            # The writer decides on cached records too (the latest version's): bring the cache
            # up to what the reloaded state saw.
            self.catch_up()

    def _moved_on(self, moved: CatalogMovedOn) -> None:
        """Other daemons committed since the writer's last look; its transaction holds the write
        lock. The state reads again only what their events touched, unless there are so many
        that loading it whole costs less (or a deletion needs it). What the catalog read with
        the lock (`moved.changes`) is not read again."""
        changes = moved.changes if moved.changes is not None and moved.changes.revision == self.state.revision else None
        if changes is not None:
            chained, facts = changes.events, changes.facts
        else:
            chained, facts = self.catalog.chained_events_after(self.state.revision, _REFRESH_LIMIT), None
        events = [event for event, _ in chained]
        head = chained[-1][1] if chained else None
        if len(events) >= _REFRESH_LIMIT or not self.state.refresh(self.catalog, events, head, self.basis_of, facts):
            self._reload()
            return
        if self.following:
            with self._own_lock:
                self._uncommitted.clear()
            self._follow_read(events)

    def _follow_read(self, events: list[Event]) -> None:
        """Brings the read cache up to the state the writer just refreshed, from the events it
        read (all of them after its previous revision, under the write lock) rather than reading
        them again; only a follower further behind than those reads (`catch_up`)."""
        with self._follow_lock:
            if not events or self.followed >= events[-1].revision:
                return  # the listener took them first
            if self.followed >= events[0].revision - 1:
                self._follow_events([event for event in events if event.revision > self.followed])
                self.caught_up_at = time.time()  # nobody can commit while the writer holds the lock
                return
        self.catch_up()

    # -- following other daemons' commits ------------------------------------------------

    def _wake(self, revision: int | None) -> None:
        """A commit's notice (of `revision`, None when unknown): read only if it tells of
        something not followed yet; the notices of this daemon's own commits mostly do not."""
        if revision is not None and revision <= self.followed:
            # Notices come in commit order: every commit told of before this one is followed.
            self.caught_up_at = time.time()
            return
        self.catch_up()

    def catch_up(self) -> None:
        """Takes the commits other daemons made since the last look: reads the events after the
        newest revision followed, set-wise, drops what they changed from the read cache and
        hands them to Watch, as this daemon's own commits are published.

        Runs on the listener's thread at each wake-up, and on the writer's after a reload. An
        event this daemon's writer committed but has not published yet is waited for: the
        writer publishes it, and the events after it are followed then.
        """
        waited = 0.0
        while True:
            with self._follow_lock:
                pending = self._follow_batch()
            if pending is None:
                self.caught_up_at = time.time()
                return
            if waited >= _OWN_COMMIT_WAIT:
                log.warning("revision %d is this daemon's but was not published; following past it", pending)
                with self._own_lock:
                    self._uncommitted.discard(pending)
                continue
            time.sleep(_OWN_COMMIT_PAUSE)
            waited += _OWN_COMMIT_PAUSE

    def _follow_batch(self) -> int | None:
        """Follows the events after `followed`, under the follow lock; the revision it stopped at
        (one of this daemon's, committed but not yet published), or None when caught up."""
        while events := self.catalog.events_after(self.followed, FOLLOW_BATCH):
            stopped = self._follow_events(events)
            if stopped is not None:
                return stopped
            if len(events) < FOLLOW_BATCH:
                # The end when read: a commit since then sends a notice of its own (and under
                # the write lock, nobody commits), so no second read to find nothing.
                break
        return None

    def _follow_events(self, events: list[Event]) -> int | None:
        """Follows `events`, the next ones after `followed` in revision order, under the follow
        lock: takes the other daemons' and skips this one's; the revision it stopped at (one of
        this daemon's, committed but not published yet), or None when it took them all."""
        remote: list[Event] = []
        stopped: int | None = None
        for event in events:
            with self._own_lock:
                if event.revision in self._uncommitted:
                    stopped = event.revision
                    break
                own = event.revision in self._own
                self._own.discard(event.revision)
            if not own:
                remote.append(event)
            self.followed = event.revision
        if remote:
            self._take_remote(remote)
        return stopped

    def _take_remote(self, events: list[Event]) -> None:
        """Another daemon's commits: what they changed leaves the read cache, and the models they
        touched are read again (their counts, holders and etags) unless they only registered
        versions into them, which are counted (`ReadCache.count_registrations`); Watch gets the
        events."""
        touched = {event.model for event in events if event.model}
        # A rename's event names the new model; the old one, in its subject, leaves the cache.
        renames = {renamed_from(event) for event in events if event.type == "model.renamed"}
        touched |= renames
        if renames:
            # It also changed the parents of versions of any model that descend from it: rare
            # enough that every cached version goes, read again when next asked for.
            self.cache.forget_versions({model for model, _ in self.cache.version_keys()})
        if touched:
            self.cache.forget_versions(touched)
            reread = sorted(touched - self.cache.count_registrations(events))
            loaded = {m.name: m for m in self.catalog.load_models(reread)} if reread else {}
            self.cache.replace_models(reread, loaded, events[-1].revision)
        else:
            self.cache.revision = max(self.cache.revision, events[-1].revision)
        for hook in self.remote_hooks:
            hook(events)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._deliver, events)

    def on_loop(self, function: Callable[..., None], *args: Any) -> None:
        """Runs `function` on the event loop, from any thread (now, when there is no loop yet)."""
        if self._loop is None:
            function(*args)
        else:
            self._loop.call_soon_threadsafe(function, *args)

    def _deliver(self, events: list[Event]) -> None:
        """Hands events to Watch in revision order, on the event loop (see `_hub_next`)."""
        for event in events:
            if event.revision >= self._hub_next:
                self._hub_early[event.revision] = event
        due: list[Event] = []
        while self._hub_next in self._hub_early:
            due.append(self._hub_early.pop(self._hub_next))
            self._hub_next += 1
        if due:
            self.hub.publish(due)

    # -- reader helpers ----------------------------------------------------------------

    def read_revision(self) -> int:
        """A revision that every read begun after this call reflects at least: each change up to
        it is committed (in the catalog) and published (in the read cache). A listing reports it
        so that a client can follow from it with Watch and miss nothing committed in between.

        Blocks on the follower's lock on a shared catalog: call it off the event loop.
        """
        if not self.following:
            # The writer commits, then publishes: what the cache has published the catalog holds.
            return self.cache.published_revision()
        # `followed` moves ahead of the cache within a batch of other daemons' events; the batch
        # is whole under this lock. Every revision up to it is in the cache (this daemon's own
        # commits past it are too, but a remote one before them may not be yet).
        with self._follow_lock:
            return self.followed

    async def require_model(self, model_id: str) -> None:
        """NotFound unless `model_id` names a committed model."""
        await self.read_model(model_id)

    async def read_model(self, model_id: str) -> Model:
        """A committed model's record: from the read cache, or read into it (off the event loop)."""
        found = await self.model_if_any(model_id)
        if found is None:
            raise model_not_found(model_id)
        return found

    async def model_if_any(self, model_id: str) -> Model | None:
        """A committed model's record as `read_model` reads it; None when there is none."""
        return self.cache.model(model_id) or (await self.read_models([model_id])).get(model_id)

    async def read_models(self, names: Iterable[str]) -> dict[str, Model]:
        """The records of those of `names` that are committed models, by name: the read cache's,
        and the others read in one go (off the event loop) and kept there."""
        found: dict[str, Model] = {}
        missing: list[str] = []
        for name in dict.fromkeys(names):
            held = self.cache.model(name)
            if held is not None:
                found[name] = held
            else:
                missing.append(name)
        if missing:
            generation = self.cache.generation
            for model in await self.read(self.catalog.load_models, missing):
                self.cache.put_model(model, generation)
                found[model.name] = model
        return found

    async def resolve_number(self, ref: VersionRef) -> int:
        """A version reference's number: itself, the latest, or a stage's or alias's holder."""
        if ref.number is not None:
            return ref.number
        model = await self.read_model(ref.model)
        if ref.is_latest:
            if not model.latest_version:
                raise NotFound(f"model {ref.model!r} has no versions yet", reason="VERSION_NOT_FOUND",
                               model=ref.model)  # fmt: skip
            return model.latest_version
        label = ref.label or ""
        number = model.stage_holders.get(label) or model.aliases.get(label)
        if number is None:
            if label in model.stages:
                raise NotFound(f"no version of {ref.model!r} holds stage {label!r}", reason="STAGE_EMPTY",
                               model=ref.model, stage=label)  # fmt: skip
            raise NotFound(
                f"{label!r} is neither a stage nor an alias of model {ref.model!r}; stages: "
                f"{', '.join(model.stages)}; aliases: {', '.join(sorted(model.aliases)) or 'none'}",
                reason="ALIAS_NOT_FOUND",
                model=ref.model,
                alias=label,
            )
        return number

    async def read_version(self, model_id: str, number: int) -> ModelVersion:
        version = self.cache.version(model_id, number)
        if version is None:
            generation = self.cache.generation
            version = await self.read(self.catalog.get_version, model_id, number)
            if version is None:
                await self.require_model(model_id)
                raise NotFound(f"version {number} of model {model_id!r} does not exist",
                               reason="VERSION_NOT_FOUND", model=model_id, version=number)  # fmt: skip
            self.cache.put_version(version, generation)  # not if its model was deleted while we read
        return version
