"""Use cases on versions: register, read, search, edit, archive, metrics and diffs."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.intake import Intake, add_data, fill_from_intake, read_dvc_file, take_in, take_in_uploaded
from studbook.daemon.app.models import ModelUseCases
from studbook.daemon.app.paging import KeysetToken, page_limit
from studbook.daemon.app.state import ModelFacts
from studbook.daemon.artifacts import (
    FileSink,
    ScanLimits,
    ScannedFile,
    check_uploaded_files,
    content_digest,
    require_under_roots,
    scan_artifact,
    source_not_allowed,
)
from studbook.daemon.blobs import BlobStore
from studbook.daemon.blobs.claims import BlobClaims, ClaimHold
from studbook.daemon.blobs.ingest import Ingest
from studbook.daemon.domain.access import TCP, Caller, Role, authorize
from studbook.daemon.domain.drift import FeatureStats, validate_features
from studbook.daemon.domain.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RegistryError,
)
from studbook.daemon.domain.fields import VERSION_FIELDS
from studbook.daemon.domain.filter import parse_filter
from studbook.daemon.domain.model import (
    ArtifactFile,
    ChangeKind,
    Metric,
    ModelState,
    ModelVersion,
    ParentLink,
    VersionStatus,
    latest_per_key,
)
from studbook.daemon.domain.names import (
    MAX_DESCRIPTION,
    MAX_METRICS_PER_CALL,
    MAX_MODEL_CARD,
    VersionRef,
    parse_version_name,
    validate_environment,
    validate_metric_key,
    validate_model_id,
    validate_params,
    validate_tags,
    validate_text,
    validate_training,
    version_name,
)
from studbook.daemon.domain.ordering import parse_order_by
from studbook.daemon.domain.safety import check_may_allow, runs_code
from studbook.daemon.domain.semver import (
    ChangeBasis,
    SemVer,
    derive_change_kind,
    ensure_semver_unused,
    next_semver,
)
from studbook.daemon.formats import DEFAULT_LIMITS, Limits, huggingface
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.records import Page

if TYPE_CHECKING:
    from studbook.daemon.domain.diff import VersionDiff

EDITABLE_FIELDS = ("tags", "description")
# RegisterModelVersions: enough to share group commits well, small enough that one call's
# results stay a modest message and one caller cannot hold the writer for long.
MAX_REGISTRATIONS_PER_CALL = 500
PARENT_RELATIONS = ("fine_tuned_from", "distilled_from", "quantized_from", "derived_from")


@dataclass
class Registration:
    """A validated request to register one version, ready for the writer."""

    draft: ModelVersion
    # Who registers it, as recorded on the version and its event.
    caller: Caller
    request_id: str = ""
    semver: str = ""
    number: int = 0
    # Explicit change kind; None derives it from what changed.
    change_kind: ChangeKind | None = None
    # Local file or folder to hash and inspect; empty for metadata plus a storage URI.
    source_path: str = ""
    # Leave the files of source_path where they are instead of keeping a copy.
    keep_in_place: bool = False
    # Files already uploaded into the artifact store (path, size, sha256): instead of source_path.
    uploaded: list[ArtifactFile] = field(default_factory=list)
    # Who lets content that runs code when loaded in (a maintainer or above); None refuses it.
    # Recorded in the audit trail as `version.unsafe_allowed` with the flags.
    unsafe_allowed_by: Caller | None = None
    # The text of a DVC file the caller names: its data dependencies become datasets.
    dvc_file: bytes = b""
    # When the version was created in the registry it is imported from: its create_time instead
    # of now (admin only), recorded in the audit trail as `version.source_time`.
    source_create_time: datetime | None = None
    # Statistics of the training data per feature: the reference of input drift.
    reference_statistics: list[FeatureStats] = field(default_factory=list)


@dataclass
class VersionPage:
    versions: list[ModelVersion]
    next_page_token: str
    total: int
    # Every change up to this revision is in the page (see Core.read_revision).
    revision: int = 0


@dataclass
class Registered:
    version: ModelVersion
    created: bool
    # A new version as its version.created event recorded it (the payload's bytes): the same
    # version, already in its v1 message form, which the answer can reuse rather than convert
    # the version again. Empty for a version found by its request id.
    recorded: bytes = b""


def validate_draft(draft: ModelVersion) -> None:
    validate_model_id(draft.model, "parent")
    validate_text(draft.description, MAX_DESCRIPTION, "version.description")
    validate_text(draft.model_card, MAX_MODEL_CARD, "version.model_card")
    validate_tags(draft.tags, "version.tags")
    validate_params(draft.params)
    validate_metrics(draft.metrics)
    validate_text(draft.storage_uri, 4096, "version.storage_uri")
    validate_text(draft.created_by, 256, "version.created_by")
    validate_text(draft.created_from, 1024, "version.created_from")
    if len(draft.datasets) > 256:
        raise InvalidArgument("at most 256 datasets per version", reason="TOO_MANY_DATASETS", field="datasets")
    for dataset in draft.datasets:
        if not dataset.name or "/" in dataset.name or "@" in dataset.name or len(dataset.name) > 256:
            raise InvalidArgument(
                f"invalid dataset name {dataset.name[:100]!r}: 1-256 characters without '/' or '@'",
                reason="INVALID_DATASET",
                field="datasets.name",
            )
        validate_text(dataset.version, 256, "datasets.version")
        validate_text(dataset.uri, 4096, "datasets.uri")
    if draft.run is not None and (not draft.run.run_id or len(draft.run.run_id) > 256 or "/" in draft.run.run_id):
        raise InvalidArgument("run.run_id must be 1-256 characters without '/'", reason="INVALID_RUN",
                              field="run.run_id")  # fmt: skip
    if len(draft.parents) > 64:
        raise InvalidArgument("at most 64 parent versions", reason="TOO_MANY_PARENTS", field="parents")
    validate_environment(draft.environment)
    validate_training(draft.training)


def validate_metrics(metrics: list[Metric]) -> None:
    if len(metrics) > MAX_METRICS_PER_CALL:
        raise InvalidArgument(
            f"too many metric observations in one call: {len(metrics)} (at most {MAX_METRICS_PER_CALL})",
            reason="TOO_MANY_METRICS",
            field="metrics",
        )
    for metric in metrics:
        validate_metric_key(metric.key)
        validate_text(metric.split, 64, "metrics.split")
        if metric.value != metric.value or metric.value in (float("inf"), float("-inf")):
            raise InvalidArgument(
                f"metric {metric.key!r} is not a finite number", reason="INVALID_METRIC", field="metrics.value",
                key=metric.key,
            )  # fmt: skip


class VersionUseCases:
    def __init__(
        self,
        core: Core,
        models: ModelUseCases,
        blobs: BlobStore,
        *,
        scan_limits: ScanLimits = ScanLimits(),
        format_limits: Limits = DEFAULT_LIMITS,
        allowed_roots: Sequence[Path] | None = None,
        claims: BlobClaims | None = None,
    ) -> None:
        self.core = core
        self.models = models
        self.blobs = blobs
        # Blobs ingests rely on until their version commits, which garbage collection leaves alone.
        self.claims = claims or BlobClaims()
        self.scan_limits = scan_limits
        # The format readers' bounds, for every way in: the drop-in judge reads them here too.
        self.format_limits = format_limits
        self.allowed_roots = allowed_roots
        # As configured and with links resolved: a remote path may be spelled either way.
        self._remote_roots = [Path(p) for root in allowed_roots or () for p in (root, os.path.realpath(root))]

    # -- register ----------------------------------------------------------------------

    async def register(self, registration: Registration) -> Registered:
        # The blobs stay claimed until the version that refers to them is committed.
        with self.claims.hold() as hold:
            await self._prepare(registration, hold)
            return await self.core.write(partial(self._register, registration=registration))

    async def register_many(
        self, registrations: Sequence[Registration | RegistryError]
    ) -> list[Registered | RegistryError]:
        """Registers each as `register` would, in order, and answers each on its own: a refused
        one (or one that arrives already refused, as a RegistryError) leaves the others be.

        Every registration is checked (and its files taken in) first; then all are handed to
        the writer at once, so they share its group commits instead of paying one each.
        """
        if len(registrations) > MAX_REGISTRATIONS_PER_CALL:
            raise InvalidArgument(
                f"too many registrations in one call: {len(registrations)} (at most "
                f"{MAX_REGISTRATIONS_PER_CALL}); send the rest in further calls",
                reason="TOO_MANY_REGISTRATIONS", field="requests", limit=MAX_REGISTRATIONS_PER_CALL,
            )  # fmt: skip
        results: list[Registered | RegistryError | None] = [None] * len(registrations)
        ready: list[tuple[int, Registration]] = []
        with ExitStack() as holds:
            for index, registration in enumerate(registrations):
                if isinstance(registration, RegistryError):
                    results[index] = registration
                    continue
                try:
                    await self._prepare(registration, holds.enter_context(self.claims.hold()))
                except RegistryError as refused:
                    results[index] = refused
                    continue
                ready.append((index, registration))
            written = await self.core.write_many([partial(self._register, registration=r) for _, r in ready])
            for (index, _), outcome in zip(ready, written):
                results[index] = outcome
        return [result for result in results if result is not None]

    async def _prepare(self, registration: Registration, hold: ClaimHold) -> None:
        """Every check a registration can fail before the writer sees it; the files of a
        source_path or of uploads are read in (their blobs claimed in `hold`) and described."""
        draft = registration.draft
        validate_draft(draft)
        validate_features(registration.reference_statistics, allow_empty=True)
        if registration.semver:
            SemVer.parse(registration.semver)
        if registration.number < 0:
            raise InvalidArgument("number must be positive", reason="INVALID_NUMBER", field="number")
        if registration.uploaded and (registration.source_path or registration.keep_in_place):
            raise InvalidArgument("uploaded files are kept by the registry: give them without source_path "
                                  "or keep_in_place", reason="CONFLICTING_SOURCES", field="uploaded_files")  # fmt: skip
        if registration.unsafe_allowed_by is not None:
            check_may_allow(registration.unsafe_allowed_by)
        if registration.source_create_time is not None:
            # A time from elsewhere rewrites what the registry says happened when: an import's
            # call, made by whoever answers for the whole registry.
            authorize(registration.caller, Role.ADMIN, "recording a version's create time from its source",
                      field="source_create_time")  # fmt: skip
        if not registration.uploaded and not registration.source_path and not draft.storage_uri:
            raise InvalidArgument(
                "give a source_path for the daemon to hash, or a storage_uri for metadata-only registration",
                reason="NO_ARTIFACT",
                field="source_path",
            )
        # Read before any file is: a DVC file that is not DVC's YAML fails the request first.
        named = read_dvc_file(registration.dvc_file, self.format_limits) if registration.dvc_file else None
        if registration.uploaded:
            uploaded = registration.uploaded
            check_uploaded_files(uploaded, [f.size for f in uploaded], self.scan_limits)
            for item in uploaded:  # before they are looked for: gc leaves them alone from now on
                hold.claim(item.sha256)
            take = partial(take_in_uploaded, self.format_limits,
                           allow_unsafe=registration.unsafe_allowed_by is not None)  # fmt: skip
            fill_from_intake(draft, await self.core.read(take, self.blobs, uploaded, self.blobs.staging))
            draft.kept = True
            validate_draft(draft)
        elif registration.source_path:
            intake = await self._take_in(registration, hold)
            fill_from_intake(draft, intake)
            draft.kept = not registration.keep_in_place
            validate_draft(draft)
        if named is not None:
            # A `model.pkl.dvc` tracks the model itself: the version's own files are not its data.
            data = named.without({f.path for f in draft.files})
            add_data(draft, data.datasets, data.data_versions)
            validate_draft(draft)

    async def _take_in(self, registration: Registration, hold: ClaimHold) -> Intake:
        """Reads a source path on the daemon's disk, for whoever may name one.

        The unix socket reaches the daemon's owner alone, who may name any path (within
        allowed_roots when set). Over TCP a path must lie under allowed_roots, checked before
        anything touches the disk, so a remote caller can neither read nor probe the server.
        """
        source_path = registration.source_path
        remote = registration.caller.transport == TCP
        if remote:
            require_under_roots(source_path, self._remote_roots)
        sink = None if registration.keep_in_place else Ingest(self.blobs, hold=hold)
        try:
            take = partial(take_in, allow_unsafe=registration.unsafe_allowed_by is not None)
            return await self.core.read(take, source_path, self.scan_limits, self.format_limits, self.allowed_roots,
                                        sink)  # fmt: skip
        except InvalidArgument as error:
            if remote and error.reason == "PATH_NOT_ALLOWED":  # a link inside a root leading out
                raise source_not_allowed() from None
            raise

    def keeping_sink(self) -> FileSink:
        """For a scan that should keep the bytes it reads in the artifact store."""
        return Ingest(self.blobs)

    async def keep_files(self, path: str, root: str, files: list[ScannedFile], hold: ClaimHold) -> None:
        """Copies the files of a unit already hashed (a drop) into the artifact store.

        Read once more, through the scanner's checks, and compared with the hashes given:
        FILE_CHANGED_DURING_SCAN when the unit no longer holds exactly those bytes. Files
        whose blob is stored already are not read again. The blobs are claimed in `hold`
        (from `self.claims`), which the caller ends once the drop's version is registered.
        """
        expected = {f.path: f.sha256 for f in files}

        def copy(hold: ClaimHold) -> str:
            stored = scan_artifact(Path(path), limits=self.scan_limits, allowed_roots=[Path(root)],
                                   sink=Ingest(self.blobs, expected, hold))  # fmt: skip
            return content_digest([f for f in stored if f.path in expected])

        if await self.core.read(copy, hold) != content_digest(files):
            raise FailedPrecondition(f"{path!r} changed while it was being kept", reason="FILE_CHANGED_DURING_SCAN",
                                     path=path)  # fmt: skip

    def _register(self, tx: Transaction, registration: Registration) -> Effects:
        core, state = self.core, self.core.state
        draft = registration.draft
        model_id = draft.model
        effects = Effects()
        model = state.models.get(model_id)
        if model is not None and model.state == ModelState.ARCHIVED:
            raise FailedPrecondition(
                f"model {model_id!r} is archived; restore it before registering versions",
                reason="MODEL_ARCHIVED",
                model=model_id,
            )
        facts = state.facts(tx, model_id) if model is not None else ModelFacts()
        existing = None
        if registration.request_id:
            existing = facts.request_ids.get(registration.request_id)
        if existing is None and draft.content_digest:
            existing = facts.digests.get(draft.content_digest)
        if existing is not None:
            return Effects(value=Registered(self._committed_or_pending(tx, model_id, existing), created=False))
        if model is None:
            self.models.refuse_renamed(model_id, state.models.__contains__)
        parents = [self._check_parent(tx, p.model, p.number, p.relation) for p in draft.parents]
        parents = parents or self._base_model_parent(tx, draft)
        # Every refusal a new model could meet is above this line: an op writes only once
        # nothing can refuse it any more (see store.writer).
        if model is None:
            model = self.models.create_in(tx, effects, model_id, caller=registration.caller)
        # Held again: checking a parent may have read another model's facts in place of these.
        facts = state.facts(tx, model_id)
        number = registration.number or model.latest_version + 1
        if number in facts.status:
            raise AlreadyExists(
                f"version {number} of model {model_id!r} already exists with other content",
                reason="VERSION_EXISTS",
                model=model_id,
                version=number,
            )
        previous = self._basis(model_id, model.latest_version)
        kind = registration.change_kind or derive_change_kind(previous, draft)
        if previous is None and registration.change_kind is None:
            kind = ChangeKind.INITIAL
        semver = next_semver(
            SemVer.parse(previous.semver) if previous else None,
            kind,
            registration.semver or None,
            facts.highest_semver,
        )
        ensure_semver_unused(semver, facts.semvers, model=model_id)
        now = core.clock()
        version = replace(
            draft,  # built for this request alone, so it is ours to keep
            number=number,
            semver=str(semver),
            change_kind=kind,
            parents=parents,
            request_id=registration.request_id,
            create_time=registration.source_create_time or now,
            update_time=now,
        )
        version.summarize_files()
        series = [replace(m, time=m.time or now) for m in draft.metrics]
        version.metrics = latest_per_key(series)
        if not version.created_by:
            version.created_by = registration.caller.actor
        subject = version_name(model_id, number)
        core.event(tx, effects, "version.created", subject, model_id, registration.caller, version)
        recorded = effects.events[-1].payload
        allowed_by = registration.unsafe_allowed_by
        if allowed_by is not None and any(runs_code(flag) for f in version.files for flag in f.flags):
            # Who let code-running content in, and which: the payload's files carry the flags.
            core.event(tx, effects, "version.unsafe_allowed", subject, model_id, allowed_by, version)
        if registration.source_create_time is not None:
            # Said apart, so the trail tells a time taken from the source from one the daemon kept.
            core.event(tx, effects, "version.source_time", subject, model_id, registration.caller, version)
        tx.insert_version(version)
        tx.insert_metrics(model_id, number, series, version.metrics, replace_summary=False)
        if registration.reference_statistics:
            tx.insert_reference_statistics(model_id, number, registration.reference_statistics)
        self._write_lineage(tx, version)
        # The model's own record: counts only, so its etag (revision) stays.
        model.latest_version = max(model.latest_version, number)
        model.version_count += 1
        state.add_version(model_id, number, version.status, semver, registration.request_id, version.content_digest)
        if number == model.latest_version:
            state.latest[model_id] = version
            state.bases[model_id] = ChangeBasis.of(version)
        effects.models[model_id] = core.snapshot(model)
        effects.versions.append(version)
        effects.value = Registered(version, created=True, recorded=recorded)
        return effects

    def _committed_or_pending(self, tx: Transaction, model_id: str, number: int) -> ModelVersion:
        pending = self.core.state.latest.get(model_id)
        if pending is not None and pending.number == number:
            return pending
        # Through the transaction: the version may have been registered earlier in this very
        # group (the same request id twice in one batch, or two retries at once), not yet committed.
        found = self.core.cache.version(model_id, number) or tx.get_version(model_id, number)
        if found is None:  # pragma: no cover - the index and the catalog disagree
            raise NotFound(f"version {number} of {model_id!r} is missing", reason="VERSION_NOT_FOUND")
        return found

    def _basis(self, model_id: str, latest: int) -> ChangeBasis | None:
        """What the model's next version is judged against: its latest version's basis."""
        if not latest:
            return None
        state = self.core.state
        basis = state.bases.get(model_id)
        if basis is not None and basis.number == latest:
            return basis
        record = state.latest.get(model_id)
        if record is None or record.number != latest:
            record = self.core.cache.version(model_id, latest) or self.core.catalog.get_version(model_id, latest)
            if record is None:
                return None
            state.latest[model_id] = record
        basis = state.bases[model_id] = ChangeBasis.of(record)
        return basis

    def _base_model_parent(self, tx: Transaction, draft: ModelVersion) -> list[ParentLink]:
        """A Hugging Face card's base_model as the parent, when the registry holds that model
        under the name `import hf` gives it: its latest version. No parent otherwise: the
        card's word stays in the base_model tag and format record."""
        card = draft.format_info.huggingface
        if card is None or not card.base_model:
            return []
        model_id = huggingface.model_id_for(card.base_model)
        base = self.core.state.models.get(model_id)
        if base is None or model_id == draft.model or not base.latest_version:
            return []
        if self.core.state.status_of(tx, model_id, base.latest_version) is None:
            return []
        relation = huggingface.PARENT_RELATIONS.get(card.base_model_relation, "fine_tuned_from")
        return [ParentLink(model_id, base.latest_version, relation)]

    def _check_parent(self, tx: Transaction, model_id: str, number: int, relation: str) -> ParentLink:
        if self.core.state.status_of(tx, model_id, number) is None:
            raise NotFound(
                f"parent version {version_name(model_id, number)} does not exist",
                reason="PARENT_NOT_FOUND",
                parent=version_name(model_id, number),
            )
        return ParentLink(model_id, number, relation)

    def _write_lineage(self, tx: Transaction, version: ModelVersion) -> None:
        target = version_name(version.model, version.number)
        nodes: list[tuple[str, str, str, str]] = []
        edges: list[tuple[str, str, str]] = []
        for dataset in version.datasets:
            nodes.append((dataset.node_name, "dataset", dataset.node_name.removeprefix("datasets/"),
                          json.dumps({"uri": dataset.uri})))  # fmt: skip
            edges.append((dataset.node_name, target, "trained_on"))
        if version.run is not None:
            run_node = f"runs/{version.run.run_id}"
            nodes.append((run_node, "run", version.run.run_id, json.dumps({"uri": version.run.uri})))
            edges.append((run_node, target, "produced_by"))
        for parent in version.parents:
            edges.append((version_name(parent.model, parent.number), target,
                          parent.relation if parent.relation in PARENT_RELATIONS else "derived_from"))  # fmt: skip
        if nodes or edges:
            tx.insert_lineage(nodes, edges)

    # -- read --------------------------------------------------------------------------

    async def get(self, name: str) -> ModelVersion:
        ref = parse_version_name(name)
        return await self.get_ref(ref)

    async def get_ref(self, ref: VersionRef) -> ModelVersion:
        return await self.core.read_version(ref.model, await self.core.resolve_number(ref))

    async def list_versions(
        self, parent: str, *, page_size: int, page_token: str, filter_text: str, order_by: str,
        show_archived: bool, summary_only: bool, skip: int = 0,
    ) -> VersionPage:  # fmt: skip
        model_id = _parse_parent(parent)
        if model_id != "-":
            await self.core.require_model(model_id)
        expr = parse_filter(filter_text, VERSION_FIELDS)
        order = parse_order_by(order_by, VERSION_FIELDS)
        query = (parent, filter_text, order_by, show_archived)
        token = KeysetToken.decode(page_token, *query)
        limit = page_limit(page_size)
        if skip < 0:
            raise InvalidArgument("skip must not be negative", reason="INVALID_SKIP", field="skip")
        # skip counts from the token's position (AIP-158); only it costs an OFFSET.

        def listing() -> tuple[int, Page]:
            # The revision first: the rows read next are at least that new.
            revision = self.core.read_revision()
            found = self.core.catalog.list_versions(
                expr,
                order,
                model=None if model_id == "-" else model_id,
                show_archived=show_archived,
                limit=limit,
                offset=token.offset + skip,
                after=token.after,
                summary_only=summary_only,
            )  # fmt: skip
            return revision, found

        revision, page = await self.core.read(listing)
        next_token = KeysetToken(page.next_after).encode(*query) if page.next_after is not None else ""
        return VersionPage(page.items, next_token, page.total, revision)

    # -- edit --------------------------------------------------------------------------

    async def update(
        self, name: str, changes: ModelVersion, fields: list[str], etag: str, caller: Caller
    ) -> ModelVersion:
        ref = parse_version_name(name)
        unknown = [f for f in fields if f not in EDITABLE_FIELDS]
        if unknown:
            raise InvalidArgument(
                f"cannot update {', '.join(unknown)}: registered content is immutable, register a new "
                f"version instead; updatable fields: {', '.join(EDITABLE_FIELDS)}",
                reason="IMMUTABLE_FIELD",
                field="update_mask",
            )
        fields = fields or list(EDITABLE_FIELDS)
        validate_tags(changes.tags, "version.tags")
        validate_text(changes.description, MAX_DESCRIPTION, "version.description")
        number = await self.core.resolve_number(ref)
        current = await self.core.read_version(ref.model, number)

        def change(version: ModelVersion) -> None:
            if "tags" in fields:
                version.tags = dict(changes.tags)
            if "description" in fields:
                version.description = changes.description

        return await self.core.write(lambda tx: self._save(tx, current, change, "version.updated", etag, caller))

    async def archive(self, name: str, etag: str, caller: Caller, *, reason: str = "") -> ModelVersion:
        """Archives a version; `reason`, when given, is kept as its status reason (why it was archived)."""
        ref = parse_version_name(name)
        number = await self.core.resolve_number(ref)
        current = await self.core.read_version(ref.model, number)

        def change(version: ModelVersion) -> None:
            model = self.core.writer_model(version.model)
            held = [s for s, n in {**model.stage_holders, **model.aliases}.items() if n == version.number]
            if held:
                raise FailedPrecondition(
                    f"version {version.number} of {version.model!r} holds {', '.join(held)}; "
                    "promote another version there first",
                    reason="VERSION_IN_USE",
                    stages=",".join(held),
                )
            version.status = VersionStatus.ARCHIVED
            if reason:
                version.status_reason = reason

        return await self.core.write(lambda tx: self._save(tx, current, change, "version.archived", etag, caller))

    async def restore(self, name: str, etag: str, caller: Caller) -> ModelVersion:
        """An archived version ready again, its status reason (why it was archived) cleared."""
        ref = parse_version_name(name)
        number = await self.core.resolve_number(ref)
        current = await self.core.read_version(ref.model, number)

        def change(version: ModelVersion) -> None:
            if version.status != VersionStatus.ARCHIVED:
                raise FailedPrecondition(
                    f"version {version.number} of {version.model!r} is {version.status.value}, not archived; "
                    "only an archived version can be restored",
                    reason="VERSION_NOT_ARCHIVED",
                    status=version.status.value,
                )
            version.status, version.status_reason = VersionStatus.READY, ""

        return await self.core.write(lambda tx: self._save(tx, current, change, "version.restored", etag, caller))

    def _save(
        self, tx: Transaction, current: ModelVersion, change: Callable[[ModelVersion], None], event_type: str,
        etag: str, caller: Caller,
    ) -> Effects:  # fmt: skip
        # Edit what the transaction sees now, not what the caller read: a concurrent archive or
        # edit committed in between must not be undone.
        fresh = tx.get_version(current.model, current.number)
        if fresh is None or self.core.state.status_of(tx, current.model, current.number) is None:
            raise NotFound("the version was deleted", reason="VERSION_NOT_FOUND")
        if etag and etag != str(fresh.revision):
            raise Conflict(
                f"version {current.number} of {current.model!r} changed since you read it; read it again",
                reason="STALE_ETAG",
                etag=etag,
                current_etag=fresh.revision,
            )
        updated = fresh
        change(updated)
        updated.update_time = self.core.clock()
        effects = Effects()
        self.core.event(tx, effects, event_type, version_name(updated.model, updated.number), updated.model,
                        caller, updated)  # fmt: skip
        tx.update_version_fields(updated)
        self.core.state.set_status(updated.model, updated.number, updated.status)
        latest = self.core.state.latest.get(updated.model)
        if latest is not None and latest.number == updated.number:
            self.core.state.latest[updated.model] = updated
        effects.versions.append(updated)
        effects.value = updated
        return effects

    # -- metrics -----------------------------------------------------------------------

    async def log_metrics(self, name: str, metrics: list[Metric], caller: Caller) -> int:
        if not metrics:
            raise InvalidArgument("no metrics given", reason="NO_METRICS", field="metrics")
        validate_metrics(metrics)
        ref = parse_version_name(name)
        number = await self.core.resolve_number(ref)
        current = await self.core.read_version(ref.model, number)

        def operation(tx: Transaction) -> Effects:
            if self.core.state.status_of(tx, current.model, number) is None:
                raise NotFound("the version was deleted", reason="VERSION_NOT_FOUND")
            now = self.core.clock()
            stamped = [replace(m, time=m.time or now) for m in metrics]
            latest = latest_per_key(stamped)
            tx.insert_metrics(current.model, number, stamped, latest, replace_summary=True)
            updated = tx.get_version(current.model, number) or copy.deepcopy(current)
            merged = {(m.key, m.split): m for m in updated.metrics}
            merged.update({(m.key, m.split): m for m in latest})
            updated.metrics = sorted(merged.values(), key=lambda m: (m.key, m.split))
            tx.set_version_metrics(current.model, number, updated.metrics)
            effects = Effects(value=len(metrics))
            self.core.event(tx, effects, "metrics.logged", version_name(current.model, number), current.model,
                            caller, updated)  # fmt: skip
            effects.versions.append(updated)
            return effects

        return await self.core.write(operation)

    async def list_metrics(self, name: str, key: str, split: str) -> list[Metric]:
        ref = parse_version_name(name)
        number = await self.core.resolve_number(ref)
        await self.core.read_version(ref.model, number)
        return await self.core.read(self.core.catalog.metric_series, ref.model, number, key, split)

    # -- diff --------------------------------------------------------------------------

    async def diff(self, base: str, target: str) -> tuple[ModelVersion, ModelVersion, VersionDiff]:
        base_version = await self.get(base)
        target_version = await self.get(target)
        from studbook.daemon.domain.diff import diff_versions  # loaded by the first diff, not at start-up

        # Off the loop: diffing two large model cards takes a noticeable amount of CPU.
        diff = await self.core.read(diff_versions, base_version, target_version)
        return base_version, target_version, diff


def _parse_parent(parent: str) -> str:
    parts = parent.split("/")
    if len(parts) != 2 or parts[0] != "models":
        raise InvalidArgument(f"parent must look like models/{{model}} or models/-, got {parent[:200]!r}",
                              reason="INVALID_NAME", field="parent")  # fmt: skip
    return parts[1] if parts[1] == "-" else validate_model_id(parts[1], "parent")
