"""In-memory state: what the writer checks against, and the read cache readers are served from."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from studbook.daemon.app.writer_models import MAX_MODEL_RECORDS, WriterModels
from studbook.daemon.domain.audit import GENESIS
from studbook.daemon.domain.model import Event, Model, ModelVersion, VersionStatus
from studbook.daemon.domain.names import version_name
from studbook.daemon.domain.semver import ChangeBasis, SemVer
from studbook.daemon.store.interface import Store, StoreTransaction

# How many versions' facts the writer keeps loaded, summed over models. Past it the models
# used least recently are dropped (and read again when next used): memory stays bounded
# however large the catalog grows. A model in use is kept whatever its size.
MAX_FACT_VERSIONS = 50_000
# Events that change a model's row only in its version figures: what registering a version
# writes. Another daemon's commits made of these alone are taken without reading the models
# again (see `WriterState.refresh`).
VERSION_ONLY_EVENTS = frozenset({"version.created", "version.unsafe_allowed", "version.source_time"})
# Another daemon's events after which the writer's state is loaded again rather than brought up
# to date (which costs a few small reads): what is held of a renamed model moves, what is held
# of a deleted one goes.
RELOADING_EVENTS = frozenset({"model.renamed", "model.deleted"})


def count_registration(model: Model, event: Event) -> None:
    """Adds the version a version.created event registered to its model's figures, as the
    writer added it to the model's row (`version_figures_update`); other events change none."""
    if event.type == "version.created":
        model.version_count += 1
        model.latest_version = max(model.latest_version, int(event.subject.rsplit("/", 1)[1]))


@dataclass
class ModelFacts:
    """What the writer decides on about one model's versions: which exist and their status,
    the semvers taken, and what makes a registration idempotent (request ids, digests)."""

    status: dict[int, VersionStatus] = field(default_factory=dict)
    semvers: set[SemVer] = field(default_factory=set)
    highest_semver: SemVer | None = None
    request_ids: dict[str, int] = field(default_factory=dict)
    # The first version registered with a digest keeps it: a later one with the same
    # content (registered under an explicit number) does not take the dedup over.
    digests: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, tx: StoreTransaction, model_id: str) -> ModelFacts:
        facts = cls()
        for number, status, semver, request_id, digest in tx.version_facts(model_id):
            facts.add(number, VersionStatus(status), SemVer.parse(semver), request_id, digest)
        return facts

    def add(self, number: int, status: VersionStatus, semver: SemVer, request_id: str, digest: str) -> None:
        self.status[number] = status
        self.semvers.add(semver)
        if self.highest_semver is None or semver > self.highest_semver:
            self.highest_semver = semver
        if request_id:
            self.request_ids[request_id] = number
        if digest:
            self.digests.setdefault(digest, number)


@dataclass
class WriterState:
    """Authoritative facts the writer thread decides on, updated as each operation runs.

    Only the writer thread touches it. What it holds whatever the catalog's size is small (the
    revision, the chain head, the highest promotion id); model records and facts about versions
    are read per model on first use, and request ids looked up per call, through the writer's
    open transaction, so they include what earlier operations of the same uncommitted group
    wrote. Start-up therefore costs the same for ten versions as for a million, in one model or
    in 100,000. When a transaction is rolled back the state is loaded again, holding none of
    them: nothing uncommitted survives.
    """

    revision: int = 0
    models: WriterModels = field(default_factory=WriterModels)
    # The newest version record of some models: a registration's retry or a status change may
    # want it again before the read cache has it.
    latest: dict[str, ModelVersion] = field(default_factory=dict)
    # What each model's next version is judged against (its latest version's signature, data
    # and semver), for the models this daemon registers into.
    bases: dict[str, ChangeBasis] = field(default_factory=dict)
    # The highest promotion id given: the next promotion takes the one after.
    promotion_id: int = 0
    # Hash of the newest event: the next one chains to it.
    chain_head: str = GENESIS
    max_fact_versions: int = MAX_FACT_VERSIONS
    # Per model, least recently used first; see `facts`.
    _facts: OrderedDict[str, ModelFacts] = field(default_factory=OrderedDict)
    _fact_versions: int = 0
    _sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, catalog: Store, max_models: int = MAX_MODEL_RECORDS) -> WriterState:
        state = cls(revision=catalog.max_revision(), models=WriterModels(max_models))
        state.promotion_id = catalog.max_promotion_id()
        state.chain_head = catalog.chain_head() or GENESIS
        return state

    def refresh(self, catalog: Store, events: Sequence[Event], head: str | None = None,
                basis_of: Callable[[bytes], ChangeBasis] | None = None,
                facts: Sequence[tuple[str, int, str, str, str, str]] | None = None) -> bool:  # fmt: skip
        """Takes the commits another daemon made after this state's revision (`events`, all of
        them, read while the write lock is held) by dropping or reading again only what they
        touched: the records of the models they changed (read again through the transaction
        when next used), the version facts they add to, the highest promotion id, the chain
        head and the revision. A record held of a model the events only registered
        versions into is counted from the events: two daemons registering side by side would
        otherwise read each other's models at every turn, under the write lock. `head`, when
        given, is the chain hash of the last of `events` (then neither head nor revision is read
        again). `basis_of`, when given, reads a version.created event's payload (see
        `_bases_created`). `facts`, when given, are `version_facts_after`'s rows of every model
        after this state's revision, read already (with the write lock). False, changing
        nothing, when a full `load` is needed instead (see `RELOADING_EVENTS`)."""
        if any(event.type in RELOADING_EVENTS for event in events):
            return False
        touched = sorted({event.model for event in events if event.model})
        changed = sorted({event.model for event in events if event.model and event.type not in VERSION_ONLY_EVENTS})
        counted = {name for name in touched if name not in changed and self.models.held(name) is not None}
        for event in events:
            if event.model in counted:
                count_registration(self.models[event.model], event)
        purged = {event.model for event in events if event.type == "version.purged"}
        # Models this daemon registers into: what their next version is judged against is
        # brought up to date here, all in one go, rather than one model at a time by the
        # registrations that need it next (two daemons registering into the same models would
        # otherwise read each of them at every turn, while holding the write lock).
        registering = [name for name in touched if name in self.bases]
        for name in touched:
            if name not in counted:
                self.models.forget(name)
            self.latest.pop(name, None)
            self.bases.pop(name, None)
        tops = {name: self.models[name].latest_version for name in registering
                if name in counted and self.models[name].latest_version}  # fmt: skip
        self.bases.update(self._bases_created(events, tops, basis_of))
        wanted = [(name, top) for name, top in tops.items() if name not in self.bases]
        for record in catalog.get_versions(wanted):
            self.latest[record.model] = record
            self.bases[record.model] = ChangeBasis.of(record)
        # Facts held are brought up to date with the versions written since (read again whole
        # on every wake-up, a busy model's facts would cost two daemons more than their writes);
        # a purge removes versions, which only a whole read shows.
        self.drop_facts(purged)
        held = [name for name in touched if name in self._facts]
        if held:
            rows: dict[str, list[tuple[int, str, str, str, str]]] = {name: [] for name in held}
            if facts is None:
                facts = catalog.version_facts_after(held, self.revision)
            for model, number, status, semver, request_id, digest in facts:
                if model in rows:
                    rows[model].append((number, status, semver, request_id, digest))
            for name, found in rows.items():
                self._take_facts(name, found)
        if any(event.type not in VERSION_ONLY_EVENTS for event in events):
            self.promotion_id = catalog.max_promotion_id()
        if head is not None and events:
            self.chain_head, self.revision = head, events[-1].revision
        else:
            self.chain_head = catalog.chain_head() or GENESIS
            self.revision = catalog.max_revision()
        return True

    @staticmethod
    def _bases_created(events: Sequence[Event], tops: dict[str, int],
                       basis_of: Callable[[bytes], ChangeBasis] | None) -> dict[str, ChangeBasis]:  # fmt: skip
        """The bases of the models in `tops` whose latest version (`tops[model]`) one of `events`
        created: its payload holds the version as registered, and what a basis holds never
        changes after that. Read from the payload rather than from the catalog, this costs no
        read under the write lock (2.4 of the 4.6 ms two daemons spent taking each other's
        registrations, measured)."""
        if basis_of is None:
            return {}
        found: dict[str, ChangeBasis] = {}
        for event in events:
            if event.type == "version.created" and event.model in tops and event.payload:
                if event.subject == version_name(event.model, tops[event.model]):
                    found[event.model] = basis_of(event.payload)
        return found

    def facts(self, tx: StoreTransaction, model_id: str) -> ModelFacts:
        """The facts about a model's versions, read through `tx` when not held already.

        For deciding only: an operation records what it wrote with `add_version` and
        `set_status`, which keep the count of versions held right.
        """
        found = self._facts.get(model_id)
        if found is not None:
            self._facts.move_to_end(model_id)
            return found
        found = self._facts[model_id] = ModelFacts.read(tx, model_id)
        self._sizes[model_id] = len(found.status)
        self._fact_versions += len(found.status)
        self._trim()
        return found

    def add_version(self, model_id: str, number: int, status: VersionStatus, semver: SemVer, request_id: str,
                    digest: str) -> None:  # fmt: skip
        """Records a version the current operation wrote (facts not held need nothing: they are
        read from the transaction, which has the write)."""
        found = self._facts.get(model_id)
        if found is not None and number not in found.status:
            found.add(number, status, semver, request_id, digest)
            self._facts.move_to_end(model_id)
            self._sizes[model_id] += 1
            self._fact_versions += 1
            self._trim()

    def facts_of_new_model(self, model_id: str) -> ModelFacts:
        """Empty facts for a model the current operation created: it has no versions to read."""
        self.drop_facts([model_id])
        created = self._facts[model_id] = ModelFacts()
        self._sizes[model_id] = 0
        return created

    def status_of(self, tx: StoreTransaction, model_id: str, number: int) -> VersionStatus | None:
        """A version's status as the writer's transaction sees it; None when it does not exist."""
        if model_id not in self.models:
            return None
        return self.facts(tx, model_id).status.get(number)

    def set_status(self, model_id: str, number: int, status: VersionStatus) -> None:
        """Records a status the current operation wrote (facts not held need nothing: they are
        read from the transaction, which has the write)."""
        found = self._facts.get(model_id)
        if found is not None and number in found.status:
            found.status[number] = status

    def _take_facts(self, model_id: str, rows: Sequence[tuple[int, str, str, str, str]]) -> None:
        held = self._facts[model_id]
        for number, status, semver, request_id, digest in rows:
            if number not in held.status:
                self._sizes[model_id] += 1
                self._fact_versions += 1
            held.add(number, VersionStatus(status), SemVer.parse(semver), request_id, digest)
        self._trim()

    def drop_facts(self, model_ids: Iterable[str]) -> None:
        """Forgets the facts of models whose versions changed in bulk (a purge): they are read
        again, through the transaction that made the change, when next needed."""
        for model_id in model_ids:
            if self._facts.pop(model_id, None) is not None:
                self._fact_versions -= self._sizes.pop(model_id, 0)

    def forget_model(self, model_id: str) -> None:
        """Drops everything known about a deleted model and its versions."""
        self.models.forget(model_id)
        self.latest.pop(model_id, None)
        self.bases.pop(model_id, None)
        self.drop_facts([model_id])

    def rename_model(self, old: str, model: Model) -> None:
        """Moves what is known about model `old` to its new name (`model.name`). Its latest record
        and version facts are dropped, to be read again under the new name when next used."""
        self.models.forget(old)
        self.models[model.name] = model
        self.latest.pop(old, None)
        for name in (old, model.name):
            self.bases.pop(name, None)
        self.drop_facts([old, model.name])

    def trim_models(self) -> None:
        """Between groups: bounds the model records held (see `WriterModels.trim`), with the
        latest records and bases of the models dropped."""
        for name in self.models.trim():
            self.latest.pop(name, None)
            self.bases.pop(name, None)

    def held_models(self) -> list[str]:
        """The models whose version facts are in memory, least recently used first."""
        return list(self._facts)

    def _trim(self) -> None:
        # The most recently used model stays whatever its size: an operation may hold it. A
        # version added to another model moves that one up too (see `add_version`).
        while self._fact_versions > self.max_fact_versions and len(self._facts) > 1:
            model_id, _ = self._facts.popitem(last=False)
            self._fact_versions -= self._sizes.pop(model_id, 0)

    def next_revision(self) -> int:
        self.revision += 1
        return self.revision


class ReadCache:
    """Bounded LRUs of committed model and version records, written through by the writer after
    each commit and read through by readers on a miss (`put_model`, `put_version`). On a catalog
    that other daemons write too (PostgreSQL), the follower invalidates what their commits
    changed (`forget_versions`, `replace_models`). It holds no list of every model: what it does
    not hold is read from the catalog, so a start costs the same for ten models as for a million."""

    def __init__(self, max_versions: int, max_models: int = MAX_MODEL_RECORDS) -> None:
        self._lock = threading.Lock()
        self._models: OrderedDict[str, Model] = OrderedDict()
        self._max_models = max_models
        self._versions: OrderedDict[tuple[str, int], ModelVersion] = OrderedDict()
        self._max_versions = max_versions
        # Per model, a revision its record is exactly as of (every change to it up to there, none
        # after), where that is known: a record this daemon's writer published, and events
        # counted onto it since. A record read from the catalog may hold commits the follower has
        # yet to take, and has none.
        self._as_of: dict[str, int] = {}
        self.revision = 0
        # Moves whenever a record leaves the cache (deleted, invalidated, or pushed out by newer
        # ones): a record read from the catalog before must not be put back after it (it may be
        # what left, or older than what left).
        self.generation = 0

    def model(self, name: str) -> Model | None:
        """The record of a model, when held (None does not mean it does not exist)."""
        with self._lock:
            found = self._models.get(name)
            if found is not None:
                self._models.move_to_end(name)
            return found

    def put_model(self, model: Model, generation: int) -> None:
        """A record read from the catalog after `generation` was seen: dropped when a record left
        the cache since (a deletion is one), or when a newer record is held."""
        with self._lock:
            if generation != self.generation:
                return
            current = self._models.get(model.name)
            if current is not None and current.revision >= model.revision:
                return
            self._hold(model)
            self._as_of.pop(model.name, None)

    def _hold(self, model: Model) -> None:
        """Under the lock: holds a current record, pushing out those used least recently."""
        self._models[model.name] = model
        self._models.move_to_end(model.name)
        while len(self._models) > self._max_models:
            name, _ = self._models.popitem(last=False)
            self._as_of.pop(name, None)
            self.generation += 1

    def version(self, model: str, number: int) -> ModelVersion | None:
        with self._lock:
            found = self._versions.get((model, number))
            if found is not None:
                self._versions.move_to_end((model, number))
            return found

    def put_version(self, version: ModelVersion, generation: int | None = None) -> None:
        """Keeps the newer record: a read that raced a commit must not put back stale data.
        A record read from the catalog passes the `generation` seen before the read: it is
        dropped when an invalidation came in between."""
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            key = (version.model, version.number)
            current = self._versions.get(key)
            if current is not None and current.revision > version.revision:
                return
            self._versions[key] = version
            self._versions.move_to_end(key)
            while len(self._versions) > self._max_versions:
                self._versions.popitem(last=False)

    def publish(self, models: dict[str, Model | None], versions: list[ModelVersion], revision: int,
                purged: list[tuple[str, int]] | None = None, as_of: int | None = None) -> None:  # fmt: skip
        """Makes a commit's effects visible. `None` for a model means it was deleted; `purged`
        names versions removed from the catalog. `as_of`, when known, is the revision the
        models' records are exactly as of (see `count_registrations`)."""
        with self._lock:
            if purged:
                self.generation += 1  # a read of a purged version must not put it back
            for key in purged or ():
                self._versions.pop(key, None)
            for name, model in models.items():
                if model is None:
                    self._models.pop(name, None)
                    self._as_of.pop(name, None)
                    self.generation += 1
                    for key in [k for k in self._versions if k[0] == name]:
                        del self._versions[key]
                else:
                    self._hold(model)
                    if as_of is None:
                        self._as_of.pop(name, None)
                    else:
                        self._as_of[name] = as_of
            self.revision = max(self.revision, revision)
        for version in versions:
            self.put_version(version)

    def published_revision(self) -> int:
        """The newest revision published, read under the lock its records are published under:
        every record read from here on is at least that new."""
        with self._lock:
            return self.revision

    def version_keys(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._versions)

    def forget_versions(self, models: Iterable[str]) -> None:
        """Drops every cached version of these models: another daemon changed some of them."""
        names = set(models)
        with self._lock:
            self.generation += 1
            for key in [k for k in self._versions if k[0] in names]:
                del self._versions[key]

    def replace_models(self, names: Iterable[str], loaded: dict[str, Model], revision: int) -> None:
        """Puts the catalog's records of these models in place (absent from `loaded`: deleted)."""
        with self._lock:
            self.generation += 1
            for name in names:
                found = loaded.get(name)
                self._as_of.pop(name, None)
                if found is None:
                    self._models.pop(name, None)
                else:
                    self._hold(found)
            self.revision = max(self.revision, revision)

    def count_registrations(self, events: Sequence[Event]) -> set[str]:
        """Takes other daemons' commits (`events`, in revision order) into the records of the
        models they only registered versions into, where a record is as of a known revision:
        counted from the events as the writer counted them into the models' rows, each event
        once (one after that revision). The models it took; the others are to be read again.
        Two daemons registering side by side read each other's models at every commit otherwise
        (~9% of a daemon's time holding the interpreter, measured)."""
        touched: dict[str, list[Event]] = {}
        for event in events:
            if event.model:
                touched.setdefault(event.model, []).append(event)
        taken: set[str] = set()
        with self._lock:
            for name, changes in touched.items():
                model, as_of = self._models.get(name), self._as_of.get(name)
                if model is None or as_of is None or any(e.type not in VERSION_ONLY_EVENTS for e in changes):
                    continue
                new = [event for event in changes if event.revision > as_of]
                if new:
                    model = model.copy()  # readers hold the record they were given: never edited
                    for event in new:
                        count_registration(model, event)
                    self._models[name] = model
                self._as_of[name] = max(as_of, events[-1].revision)
                taken.add(name)
        return taken
