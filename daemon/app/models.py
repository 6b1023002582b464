"""Use cases on models: create, read, list, update, archive, restore, rename, delete."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from studbook.daemon.app.core import Core, Effects, renamed_from
from studbook.daemon.app.paging import KeysetToken, page_limit
from studbook.daemon.domain.access import Caller, Role, authorize
from studbook.daemon.domain.errors import AlreadyExists, Conflict, FailedPrecondition, InvalidArgument
from studbook.daemon.domain.fields import MODEL_FIELDS
from studbook.daemon.domain.filter import parse_filter
from studbook.daemon.domain.model import DEFAULT_STAGES, Event, Model, ModelRename, ModelState
from studbook.daemon.domain.names import (
    MAX_DESCRIPTION,
    model_name,
    validate_label,
    validate_model_id,
    validate_tags,
    validate_text,
)
from studbook.daemon.domain.ordering import parse_order_by
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.records import Page

EDITABLE_FIELDS = ("description", "tags", "owner", "stages")
MAX_RENAME_REASON = 4096


@dataclass
class ModelPage:
    models: list[Model]
    next_page_token: str
    total: int
    # Every change up to this revision is in the page (see Core.read_revision).
    revision: int = 0


def check_etag(model: Model, etag: str) -> None:
    if etag and etag != str(model.revision):
        raise Conflict(
            f"model {model.name!r} changed since you read it (etag {etag}, now {model.revision}); "
            "read it again and retry",
            reason="STALE_ETAG",
            model=model.name,
            etag=etag,
            current_etag=model.revision,
        )


def validate_stages(stages: list[str]) -> tuple[str, ...]:
    if not stages:
        return DEFAULT_STAGES
    if len(stages) > 16:
        raise InvalidArgument("a model has at most 16 stages", reason="TOO_MANY_STAGES", field="stages")
    for stage in stages:
        validate_label(stage, "stages")
    if len(set(stages)) != len(stages):
        raise InvalidArgument("stage names must be unique", reason="DUPLICATE_STAGE", field="stages")
    return tuple(stages)


class ModelUseCases:
    def __init__(self, core: Core) -> None:
        self.core = core
        # Old id -> new id of every rename recorded, whichever daemon made it: what a drop into
        # the folder of a name given up is told (see `renamed_to`).
        self._renames_lock = threading.Lock()
        self._renames: dict[str, str] = dict(core.catalog.model_renames())
        # Called on the event loop with (old, new) after each rename, this daemon's or another's.
        self.rename_listeners: list[Callable[[str, str], None]] = []
        core.remote_hooks.append(self._renamed_elsewhere)

    async def create(
        self, model_id: str, *, caller: Caller, description: str = "", tags: dict[str, str] | None = None,
        owner: str = "", stages: list[str] | None = None, request_id: str = "",
        source_create_time: datetime | None = None,
    ) -> Model:  # fmt: skip
        """`source_create_time`: when the model was created in the registry it is imported from,
        kept as its create_time (admin only; recorded as `model.source_time`)."""
        validate_model_id(model_id, "model_id")
        if source_create_time is not None:
            authorize(caller, Role.ADMIN, "recording a model's create time from its source",
                      field="source_create_time")  # fmt: skip
        validate_text(description, MAX_DESCRIPTION, "description")
        validate_text(owner, 256, "owner")
        tags = validate_tags(dict(tags or {}))
        stage_list = validate_stages(list(stages or []))

        def operation(tx: Transaction) -> Effects:
            state = self.core.state
            existing = tx.model_created_by(request_id) if request_id else None
            if existing is not None:
                return Effects(value=self.core.snapshot(state.models[existing]))
            if model_id in state.models:
                raise AlreadyExists(f"model {model_id!r} already exists", reason="MODEL_EXISTS", model=model_id)
            effects = Effects()
            model = self.create_in(tx, effects, model_id, description=description, tags=tags, owner=owner,
                                   stages=stage_list, caller=caller, request_id=request_id,
                                   source_create_time=source_create_time)  # fmt: skip
            effects.value = self.core.snapshot(model)
            return effects

        return await self.core.write(operation)

    def create_in(
        self, tx: Transaction, effects: Effects, model_id: str, *, caller: Caller, description: str = "",
        tags: dict[str, str] | None = None, owner: str = "", stages: tuple[str, ...] = DEFAULT_STAGES,
        request_id: str = "", source_create_time: datetime | None = None,
    ) -> Model:  # fmt: skip
        """Writer thread: adds a model inside an open transaction (also used by registration)."""
        now = self.core.clock()
        model = Model(name=model_id, description=description, tags=dict(tags or {}), owner=owner,
                      stages=stages, create_time=source_create_time or now, update_time=now)  # fmt: skip
        model.revision = self.core.event(tx, effects, "model.created", model_name(model_id), model_id, caller,
                                         model)  # fmt: skip
        if source_create_time is not None:
            # Said apart, so the trail tells a time taken from the source from one the daemon kept.
            model.revision = self.core.event(tx, effects, "model.source_time", model_name(model_id), model_id,
                                             caller, model)  # fmt: skip
        tx.insert_model(model, request_id)
        self.core.state.models[model_id] = model
        self.core.state.facts_of_new_model(model_id)
        effects.models[model_id] = self.core.snapshot(model)
        return model

    async def get(self, model_id: str) -> Model:
        return await self.core.read_model(validate_model_id(model_id))

    async def list_models(
        self, *, page_size: int, page_token: str, filter_text: str, order_by: str, show_archived: bool
    ) -> ModelPage:
        expr = parse_filter(filter_text, MODEL_FIELDS)
        order = parse_order_by(order_by, MODEL_FIELDS)
        query = (filter_text, order_by, show_archived)
        token = KeysetToken.decode(page_token, *query)
        limit = page_limit(page_size)

        def listing() -> tuple[int, Page]:
            # The revision first: the names read next, and the records taken from the cache after
            # them, are at least that new.
            revision = self.core.read_revision()
            found = self.core.catalog.list_models(
                expr, order, show_archived=show_archived, limit=limit, offset=token.offset, after=token.after
            )
            return revision, found

        revision, page = await self.core.read(listing)
        found = await self.core.read_models(page.items)
        models = [found[name] for name in page.items if name in found]
        next_token = KeysetToken(page.next_after).encode(*query) if page.next_after is not None else ""
        return ModelPage(models, next_token, page.total, revision)

    async def update(self, model_id: str, changes: Model, fields: list[str], etag: str, caller: Caller) -> Model:
        validate_model_id(model_id)
        unknown = [f for f in fields if f not in EDITABLE_FIELDS]
        if unknown:
            raise InvalidArgument(
                f"cannot update {', '.join(unknown)}; updatable fields: {', '.join(EDITABLE_FIELDS)}",
                reason="INVALID_UPDATE_MASK",
                field="update_mask",
            )
        fields = fields or list(EDITABLE_FIELDS)
        validate_text(changes.description, MAX_DESCRIPTION, "description")
        validate_text(changes.owner, 256, "owner")
        validate_tags(changes.tags)
        stages = validate_stages(list(changes.stages)) if "stages" in fields else ()

        def operation(tx: Transaction) -> Effects:
            current = self.core.writer_model(model_id)
            check_etag(current, etag)
            if "stages" in fields:
                held = [s for s in current.stage_holders if s not in stages]
                if held:
                    raise FailedPrecondition(
                        f"stage {held[0]!r} still holds a version; roll it back or move it before removing the stage",
                        reason="STAGE_IN_USE",
                        stage=held[0],
                    )
            updated = current.copy()
            if "description" in fields:
                updated.description = changes.description
            if "tags" in fields:
                updated.tags = dict(changes.tags)
            if "owner" in fields:
                updated.owner = changes.owner
            if "stages" in fields:
                updated.stages = stages
            return self._save(tx, updated, "model.updated", caller)

        return await self.core.write(operation)

    async def set_state(self, model_id: str, state: ModelState, etag: str, caller: Caller) -> Model:
        validate_model_id(model_id)

        def operation(tx: Transaction) -> Effects:
            current = self.core.writer_model(model_id)
            check_etag(current, etag)
            if current.state == state:
                return Effects(value=self.core.snapshot(current))
            updated = current.copy()
            updated.state = state
            kind = "model.archived" if state == ModelState.ARCHIVED else "model.restored"
            return self._save(tx, updated, kind, caller)

        return await self.core.write(operation)

    def _save(self, tx: Transaction, model: Model, event_type: str, caller: Caller) -> Effects:
        effects = Effects()
        model.update_time = self.core.clock()
        model.revision = self.core.event(tx, effects, event_type, model_name(model.name), model.name, caller, model)
        tx.update_model(model)
        self.core.state.models[model.name] = model
        effects.models[model.name] = self.core.snapshot(model)
        effects.value = self.core.snapshot(model)
        return effects

    async def rename(self, model_id: str, new_id: str, etag: str, reason: str, caller: Caller) -> Model:
        """Renames a model with all it holds, in one transaction (see store.rename). Refused while
        a promotion of it is unsettled: its approval would apply under a name that is gone."""
        validate_model_id(model_id)
        validate_model_id(new_id, "new_model_id")
        validate_text(reason, MAX_RENAME_REASON, "reason")
        if new_id == model_id:
            raise InvalidArgument(f"model {model_id!r} already has that name; give a new one", reason="SAME_NAME",
                                  field="new_model_id")  # fmt: skip

        def operation(tx: Transaction) -> Effects:
            state = self.core.state
            current = self.core.writer_model(model_id)
            check_etag(current, etag)
            if new_id in state.models:
                raise AlreadyExists(f"model {new_id!r} already exists; choose another name, or rename or delete "
                                    "that model first", reason="MODEL_EXISTS", model=new_id)  # fmt: skip
            pending = tx.pending_promotions(model_id)
            if pending:
                raise FailedPrecondition(
                    f"model {model_id!r} has {len(pending)} promotion(s) waiting (first: "
                    f"models/{model_id}/promotions/{pending[0]}); approve, reject or cancel them before renaming",
                    reason="PROMOTION_PENDING",
                    model=model_id,
                    promotion=f"models/{model_id}/promotions/{pending[0]}",
                )
            effects = Effects()
            renamed = current.copy()
            renamed.name = new_id
            renamed.update_time = self.core.clock()
            revision = self.core.event(tx, effects, "model.renamed", model_name(model_id), new_id, caller,
                                       ModelRename(model_id, renamed, reason))  # fmt: skip
            children = tx.rename_model(model_id, new_id, revision)
            tx.update_model(renamed)
            state.rename_model(model_id, renamed)
            # Known at once to the writer's next operations (registrations to the old name).
            self._remember_rename(model_id, new_id)
            # Versions of other models whose parents named it: their cached records are stale.
            effects.purged.extend(children)
            effects.models[model_id] = None
            effects.models[new_id] = self.core.snapshot(renamed)
            effects.value = self.core.snapshot(renamed)
            return effects

        model: Model = await self.core.write(operation)
        self._take_rename(model_id, new_id)
        return model

    def renamed_to(self, model_id: str, exists: Callable[[str], bool]) -> str | None:
        """The name a model that was called `model_id` has now, when none is called so any more
        (None otherwise, or when it was deleted since). `exists` says whether a model of a name
        exists: the writer passes its own state's, `committed_rename` the catalog's."""
        return _renamed_along(model_id, self._rename_chain(model_id), exists)

    async def committed_rename(self, model_id: str) -> str | None:
        """`renamed_to` as committed models say; read from the catalog only for a renamed name."""
        chain = self._rename_chain(model_id)
        if not chain:
            return None
        return await self.core.read(_renamed_along, model_id, chain, self._committed)

    def _committed(self, name: str) -> bool:
        """Off the event loop and the writer: whether a committed model is called `name`."""
        return self.core.cache.model(name) is not None or bool(self.core.catalog.load_models([name]))

    def _rename_chain(self, model_id: str) -> list[str]:
        """The names `model_id` was renamed to, one after the other, each once (a name taken back
        ends the chain). Read under the lock, asked about outside it: on a reader's thread, a read
        may wait for the writer's open transaction, whose operation may want the lock."""
        chain: list[str] = []
        with self._renames_lock:
            current = self._renames.get(model_id)
            while current is not None and current != model_id and current not in chain:
                chain.append(current)
                current = self._renames.get(current)
        return chain

    def refuse_renamed(self, model_id: str, exists: Callable[[str], bool]) -> None:
        """Writer thread: refuses to make a model of a name given up by a rename on the fly (a
        registration to it, as a script that was not told would send): it would split the history."""
        renamed = self.renamed_to(model_id, exists)
        if renamed is not None:
            raise FailedPrecondition(
                f"model {model_id!r} was renamed to {renamed!r}; register into {renamed!r}, or create a model "
                f"named {model_id!r} first to use the old name again",
                reason="MODEL_RENAMED",
                model=model_id,
                renamed_to=renamed,
            )

    def _remember_rename(self, old: str, new: str) -> None:
        with self._renames_lock:
            self._renames[old] = new

    def _take_rename(self, old: str, new: str) -> None:
        self._remember_rename(old, new)
        for listener in self.rename_listeners:
            listener(old, new)

    def _renamed_elsewhere(self, events: list[Event]) -> None:
        """Follower thread: another daemon's renames, handed to the event loop."""
        for event in events:
            if event.type == "model.renamed":
                self._remember_rename(renamed_from(event), event.model)  # for this daemon's writer, at once
                self.core.on_loop(self._take_rename, renamed_from(event), event.model)

    async def delete(self, model_id: str, force: bool, etag: str, caller: Caller) -> int:
        validate_model_id(model_id)

        def operation(tx: Transaction) -> Effects:
            state = self.core.state
            current = self.core.writer_model(model_id)
            check_etag(current, etag)
            count = len(state.facts(tx, model_id).status)
            if count and not force:
                raise FailedPrecondition(
                    f"model {model_id!r} has {count} versions; archive it instead, or delete with "
                    "force to remove its versions and history too (artifact files are kept)",
                    reason="MODEL_NOT_EMPTY",
                    model=model_id,
                    versions=count,
                )
            effects = Effects(value=count)
            self.core.event(tx, effects, "model.deleted", model_name(model_id), model_id, caller, current)
            tx.delete_model(model_id)
            state.forget_model(model_id)
            effects.models[model_id] = None
            return effects

        return await self.core.write(operation)


def _renamed_along(model_id: str, chain: list[str], exists: Callable[[str], bool]) -> str | None:
    """The first of `chain` (the names `model_id` was renamed to, in order) a model has now; None
    when one is called `model_id` again."""
    if not chain or exists(model_id):
        return None
    return next((name for name in chain if exists(name)), None)
