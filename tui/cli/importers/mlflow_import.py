"""`studbook import mlflow SOURCE`: an MLflow registry brought into studbook through the daemon's
public API, as any client would register it, so that every rule of the registry applies.

Idempotent: request ids come from each record's identity in the source, and what studbook already
holds from an earlier import is recognised and left alone, so a second run imports only what is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from studbook.cli.importers.import_report import ImportReport, Outcome
from studbook.cli.importers.mlflow_mapping import (
    MAX_DESCRIPTION,
    MAX_TAGS,
    STAGES,
    created_from,
    fit_tags,
    label_for,
    millis,
    model_id_for,
    request_id,
    run_tags,
    version_draft,
)
from studbook.cli.importers.mlflow_source import (
    STAGE_ARCHIVED,
    ArtifactsUnavailable,
    Source,
    SourceModel,
    SourceVersion,
    resolve_location,
)
from studbook.cli.importers.progress import Progress
from studbook.client import calls, upload
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.v1 import registry_pb2, resources_pb2, stages_pb2

DEFAULT_STAGES = ("development", "staging", "production")
# Refusals of content that runs code when loaded: --allow-unsafe lets it in (maintainer role).
UNSAFE_REASONS = frozenset({"UNSAFE_PICKLE", "UNSAFE_OPS", "REMOTE_CODE"})


@dataclass
class ModelState:
    """What the importer knows of one studbook model while it brings an MLflow model in."""

    model_id: str
    model: resources_pb2.Model | None
    # MLflow version number -> the studbook version holding its content.
    numbers: dict[int, int] = field(default_factory=dict)
    archived: set[int] = field(default_factory=set)
    # A dry run's MLflow versions that would be registered.
    planned: set[int] = field(default_factory=set)


class MlflowImport:
    def __init__(self, source: Source, client: Client, *, scratch: Path, dry_run: bool = False,
                 allow_unsafe: bool = False, progress: Progress | None = None,
                 only: Sequence[str] = ()) -> None:  # fmt: skip
        self.source = source
        self.client = client
        self.scratch = scratch
        self.dry_run = dry_run
        self.allow_unsafe = allow_unsafe
        self.progress = progress or Progress(0, enabled=False)
        self.report = ImportReport(source.label, dry_run)
        self.actor = calls.actor()
        # Import only these models (MLflow names or studbook ids); all when empty.
        self.only = list(only)
        # studbook model id -> the MLflow name imported under it in this run.
        self.model_ids: dict[str, str] = {}

    def run(self) -> ImportReport:
        self.progress.say(f"reading the MLflow registry at {self.source.label}")
        models = self._chosen(self.source.models())
        self.progress.total = sum(len(m.versions) for m in models)
        for model in models:
            self._model(model)
        self.progress.finish()
        return self.report

    def _chosen(self, models: list[SourceModel]) -> list[SourceModel]:
        if not self.only:
            return models
        chosen = [m for m in models if m.name in self.only or model_id_for(m.name) in self.only]
        matched = {m.name for m in chosen} | {model_id_for(m.name) for m in chosen}
        for name in self.only:
            if name not in matched:
                self.report.add("model", name, "skipped", "MLflow has no registered model of that name", name)
        return chosen

    # -- models --------------------------------------------------------------------------

    def _model(self, model: SourceModel) -> None:
        model_id = model_id_for(model.name)
        if model_id is None:
            why = "its name keeps no letter or digit that a studbook model id could use"
            self.report.add("model", model.name, "skipped", why)
            for version in model.versions:
                self.progress.step(f"{model.name} {version.version}")
                self.report.add("version", f"{model.name}@{version.version}", "skipped", why)
            return
        taken = self.model_ids.setdefault(model_id, model.name)
        if taken != model.name:
            why = f"MLflow's model {taken!r} is imported as {model_id} already; rename one of them in MLflow"
            self.report.add("model", model_id, "skipped", why, model.name)
            for version in model.versions:
                self.progress.step(f"{model.name} {version.version}")
                self.report.add(
                    "version", f"{model_id}@{version.version}", "skipped", why, f"{model.name}/{version.version}"
                )
            return
        state = ModelState(model_id, self._get_model(model_id))
        try:
            self._model_record(model, state)
        except StudbookError as error:
            if error.code in ("UNAVAILABLE", "UNAUTHENTICATED"):
                raise
            why = f"{error.message} [{error.reason}]"
            self.report.add("model", model_id, _refused(error), why, model.name)
            for version in model.versions:
                self.progress.step(f"{model_id}@{version.version}")
                self.report.add("version", f"{model_id}@{version.version}", "skipped",
                                f"its model was not imported: {why}", f"{model.name}/{version.version}")  # fmt: skip
            return
        for version in model.versions:
            self.progress.step(f"{model_id}@{version.version}")
            self._version(state, version)
        if not self.dry_run or state.model is not None:
            state.model = self._get_model(model_id) or state.model
        self._stages(model, state)
        self._archive(model, state)
        self._aliases(model, state)

    def _model_record(self, model: SourceModel, state: ModelState) -> None:
        tags = fit_tags(model.tags)
        renamed = state.model_id != model.name
        notes = ["MLflow's name is no studbook model id; this is the id it gets"] if renamed else []
        notes += [f"left out {what}" for what in tags.left_out]
        if state.model is None:
            if not self.dry_run:
                state.model = self._create_keeping_time(model, state.model_id, tags.kept, notes)
            outcome: Outcome = "would import" if self.dry_run else "imported"
            self.report.add("model", state.model_id, outcome, "; ".join(notes), model.name)
            return
        # Already there (an earlier import, or made by hand): add what MLflow has that it lacks.
        known = state.model
        added = {k: v for k, v in tags.kept.items() if k not in known.tags}
        describe = not known.description and bool(model.description)
        if not added and not describe:
            self.report.add("model", state.model_id, "skipped", "already in studbook; nothing new", model.name)
            return
        if not self.dry_run:
            changed = resources_pb2.Model(name=known.name, etag=known.etag, tags={**known.tags, **added},
                                          description=model.description if describe else known.description)  # fmt: skip
            state.model = self.client.update_model(changed, ["tags", "description"])
        what = [f"tags {', '.join(sorted(added))}"] if added else []
        what += ["description"] if describe else []
        updated: Outcome = "would import" if self.dry_run else "updated"
        self.report.add("model", state.model_id, updated, "added " + " and ".join(what), model.name)

    def _create_keeping_time(self, model: SourceModel, model_id: str, tags: dict[str, str],
                             notes: list[str]) -> resources_pb2.Model:  # fmt: skip
        created = millis(model.creation_ms) if model.creation_ms else None
        ask = partial(self.client.create_model, model_id, description=model.description[:MAX_DESCRIPTION],
                      tags=tags, request_id=request_id("model", model.name, model.creation_ms))  # fmt: skip
        try:
            return ask(source_create_time=created)
        except StudbookError as error:
            if error.reason != "ROLE_REQUIRED" or created is None:
                raise
        notes.append("create time: the import's, not MLflow's (keeping MLflow's needs the admin role)")
        return ask()

    # -- versions ------------------------------------------------------------------------

    def _version(self, state: ModelState, version: SourceVersion) -> None:
        subject = f"{state.model_id}@{version.version}"
        source_name = f"{version.model}/{version.version}"
        existing = self._get_version(state.model_id, version.version) if state.model is not None else None
        if existing is not None:
            state.numbers[version.version] = existing.number
            if existing.status == resources_pb2.VERSION_STATUS_ARCHIVED:
                state.archived.add(existing.number)
            if existing.created_from == created_from(version):
                self._update_version(existing, version, subject, source_name)
                return
            state.numbers.pop(version.version)
            self.report.add("version", subject, "skipped",
                            f"studbook already has version {version.version} of {state.model_id}, registered "
                            f"otherwise ({existing.created_from or 'unknown origin'}); MLflow's stays out", source_name)  # fmt: skip
            return
        if version.status != "READY":
            self.report.add("version", subject, "skipped", f"MLflow's status for it is {version.status}", source_name)
            return
        try:
            self._register(state, version, subject, source_name)
        except StudbookError as error:
            if error.code in ("UNAVAILABLE", "UNAUTHENTICATED"):
                raise  # the daemon is gone or refuses us: nothing further can be imported
            advice = (
                "; rerun with --allow-unsafe (maintainer role) to import it" if error.reason in UNSAFE_REASONS else ""
            )
            self.report.add("version", subject, _refused(error), f"{error.message}{advice} [{error.reason}]",
                            source_name)  # fmt: skip

    def _update_version(self, existing: resources_pb2.ModelVersion, version: SourceVersion, subject: str,
                        source_name: str) -> None:  # fmt: skip
        """An imported version again: what MLflow has gained since (tags, a description) is added;
        nothing studbook holds is overwritten. Files, params and metrics are immutable."""
        run = self.source.run(version.run_id) if version.run_id else None
        room = max(0, MAX_TAGS - len(existing.tags))
        fresh = {k: v for k, v in {**run_tags(run), **version.tags}.items() if k not in existing.tags}
        added = fit_tags(fresh, room=room).kept
        describe = not existing.description and bool(version.description)
        if not added and not describe:
            self.report.add("version", subject, "skipped", "already imported", source_name)
            return
        what = ([f"tags {', '.join(sorted(added))}"] if added else []) + (["description"] if describe else [])
        if not self.dry_run:
            changed = resources_pb2.ModelVersion(
                name=existing.name, etag=existing.etag, tags={**existing.tags, **added},
                description=version.description[:MAX_DESCRIPTION] if describe else existing.description,
            )  # fmt: skip
            try:
                self.client.update_version(changed, ["tags", "description"])
            except StudbookError as error:
                if error.code in ("UNAVAILABLE", "UNAUTHENTICATED"):
                    raise
                self.report.add("version", subject, "skipped", f"{error.message} [{error.reason}]", source_name)
                return
        updated: Outcome = "would import" if self.dry_run else "updated"
        self.report.add("version", subject, updated, "added " + " and ".join(what), source_name)

    def _register(self, state: ModelState, version: SourceVersion, subject: str, source_name: str) -> None:
        run = self.source.run(version.run_id) if version.run_id else None
        notes: list[str] = []
        files: list[upload.LocalFile] = []
        try:
            files = upload.local_files(self.source.fetch_artifacts(version, self.scratch / "artifacts"))
        except ArtifactsUnavailable as why:
            notes.append(f"registered without its files, referenced at its URI: {why}")
        draft = version_draft(state.model_id, version, run, actor=self.actor,
                              storage_uri="" if files else resolve_location(version, run),
                              allow_unsafe=self.allow_unsafe)  # fmt: skip
        notes += [f"left out {what}" for what in draft.left_out]
        if self.dry_run:
            state.planned.add(version.version)
            size = sum(f.size for f in files)
            shown = [f"{len(files)} file(s), {size:,} bytes"] if files else []
            self.report.add("version", subject, "would import", "; ".join(shown + notes), source_name)
            return
        request = draft.request
        if files:
            self.client.upload_files(files, self.progress.sending(subject, sum(f.size for f in files)))
            request = calls.with_uploaded_files(request, [f.declared() for f in files])
        answer = self._register_keeping_time(request, notes)
        kept = answer.version
        state.numbers[version.version] = kept.number
        if files:
            # The daemon checked every upload against its sha256; check that the version holds them.
            stored = {f.path: f.sha256 for f in kept.files}
            if stored != {f.rel: f.sha256 for f in files}:
                self.report.add("version", subject, "failed",
                                "the registered files do not match the hashes of MLflow's files", source_name)  # fmt: skip
                return
        if not answer.created:
            self.report.add("version", subject, "skipped",
                            f"the same files are {state.model_id}@{kept.number} already", source_name)  # fmt: skip
            return
        self.report.add("version", subject, "imported", "; ".join(notes), source_name)

    def _register_keeping_time(self, request: registry_pb2.RegisterModelVersionRequest,
                               notes: list[str]) -> registry_pb2.RegisterModelVersionResponse:  # fmt: skip
        try:
            return self.client.register_version(request, upload=False)
        except StudbookError as error:
            if error.reason != "ROLE_REQUIRED" or not request.HasField("source_create_time"):
                raise
        # Keeping MLflow's time is an admin's call; without it the version is still worth having.
        request.ClearField("source_create_time")
        notes.append("create time: the import's, not MLflow's (keeping MLflow's needs the admin role)")
        return self.client.register_version(request, upload=False)

    # -- stages, archive, aliases --------------------------------------------------------

    def _stages(self, model: SourceModel, state: ModelState) -> None:
        for mlflow_stage, stage in STAGES.items():
            holders = [v for v in model.versions if v.stage == mlflow_stage]
            if not holders:
                continue
            # MLflow lets several versions sit in one stage; studbook has one holder per stage.
            chosen = max(holders, key=lambda v: (v.updated_ms, v.version))
            subject = f"{state.model_id}@{stage}"
            for other in holders:
                if other is not chosen:
                    self.report.add("stage", subject, "skipped",
                                    f"MLflow also had version {other.version} in {mlflow_stage}; studbook keeps one "
                                    f"holder per stage: version {chosen.version}, moved there last", mlflow_stage)  # fmt: skip
            when = f" (its last change in MLflow: {millis(chosen.updated_ms).isoformat()})" if chosen.updated_ms else ""
            reason = f"imported from MLflow: version {chosen.version} was in {mlflow_stage}{when}"
            self._point(state, chosen, stage, subject, reason, mlflow_stage)

    def _aliases(self, model: SourceModel, state: ModelState) -> None:
        by_number = {v.version: v for v in model.versions}
        for alias, number in sorted(model.aliases.items()):
            label = label_for(alias)
            subject = f"{state.model_id}@{label or alias}"
            stages = state.model.stages if state.model is not None else DEFAULT_STAGES
            if label is None or label in stages:
                why = (f"studbook's stage {label} answers to that name" if label else
                       "studbook's aliases are a lower-case letter, then lower-case letters, digits and ._-")  # fmt: skip
                self.report.add("alias", subject, "skipped", f"{why}; MLflow's pointed at version {number}", alias)
                continue
            version = by_number.get(number)
            if version is None:
                self.report.add("alias", subject, "skipped", f"MLflow's version {number} is gone", alias)
                continue
            self._point(
                state, version, label, subject, f"imported from MLflow: alias {alias} of version {number}", alias
            )

    def _point(self, state: ModelState, version: SourceVersion, target: str, subject: str, reason: str,
               source_name: str) -> None:  # fmt: skip
        """Moves the version into a stage or points an alias at it, through the registry's gates."""
        number = state.numbers.get(version.version)
        model = state.model
        if number is None:
            planned = self.dry_run and version.version in state.planned
            outcome: Outcome = "would import" if planned else "skipped"
            why = "" if outcome == "would import" else f"version {version.version} was not imported"
            self.report.add(self._kind(target, state), subject, outcome, why, source_name)
            return
        canonical = f"models/{state.model_id}/versions/{number}"
        kind = self._kind(target, state)
        if model is not None and kind == "stage" and target not in model.stages:
            self.report.add(kind, subject, "skipped",
                            f"model {state.model_id} has no stage {target} (its stages: {', '.join(model.stages)})",
                            source_name)  # fmt: skip
            return
        held = dict(model.stage_holders) | dict(model.aliases) if model is not None else {}
        if held.get(target) == canonical:
            self.report.add(kind, subject, "skipped", "already imported", source_name)
            return
        try:
            promotion = self.client.promote(
                canonical, target, reason=reason, validate_only=self.dry_run,
                request_id=request_id(version.identity, kind, target, version.updated_ms),
            )  # fmt: skip
        except StudbookError as error:
            if error.code in ("UNAVAILABLE", "UNAUTHENTICATED"):
                raise
            self.report.add(kind, subject, "skipped", f"{error.message} [{error.reason}]", source_name)
            return
        self.report.add(kind, subject, *_promotion_outcome(promotion), source_name)

    def _archive(self, model: SourceModel, state: ModelState) -> None:
        for version in model.versions:
            if version.stage != STAGE_ARCHIVED:
                continue
            subject = f"{state.model_id}@{version.version}"
            number = state.numbers.get(version.version)
            if number is None:
                if version.version in state.planned:  # a dry run's: it would be archived once registered
                    self.report.add("archive", subject, "would import", "MLflow's stage Archived")
                else:
                    self.report.add("archive", subject, "skipped", f"version {version.version} was not imported")
                continue
            if number in state.archived:
                self.report.add("archive", subject, "skipped", "already imported")
                continue
            if self.dry_run:
                self.report.add("archive", subject, "would import", "MLflow's stage Archived")
                continue
            try:
                self.client.archive_version(f"models/{state.model_id}/versions/{number}")
            except StudbookError as error:
                if error.code in ("UNAVAILABLE", "UNAUTHENTICATED"):
                    raise
                self.report.add("archive", subject, "skipped", f"{error.message} [{error.reason}]")
                continue
            self.report.add("archive", subject, "imported", "MLflow's stage Archived")

    # -- reading studbook ----------------------------------------------------------------

    @staticmethod
    def _kind(target: str, state: ModelState) -> str:
        stages = state.model.stages if state.model is not None else DEFAULT_STAGES
        return "stage" if target in stages else "alias"

    def _get_model(self, model_id: str) -> resources_pb2.Model | None:
        try:
            return self.client.get_model(model_id)
        except StudbookError as error:
            if error.code == "NOT_FOUND":
                return None
            raise

    def _get_version(self, model_id: str, number: int) -> resources_pb2.ModelVersion | None:
        try:
            return self.client.get_version(model_id, number)
        except StudbookError as error:
            if error.code == "NOT_FOUND":
                return None
            raise


def _refused(error: StudbookError) -> Outcome:
    """A registration refused for who is importing failed (the import cannot do its job: exit 1);
    one refused for what it is (its name, its content) was skipped, for the reason given."""
    return "failed" if error.code == "PERMISSION_DENIED" else "skipped"


def _promotion_outcome(promotion: stages_pb2.Promotion) -> tuple[Outcome, str]:
    state = promotion.state
    if state == stages_pb2.PROMOTION_STATE_APPLIED:
        return "imported", ""
    if state == stages_pb2.PROMOTION_STATE_VALIDATED:
        return "would import", ""
    if state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL:
        return "imported", f"waits for {promotion.required_approvals} approval(s): {promotion.name}"
    failed = [f"{g.gate}: {g.detail}" for g in promotion.gate_results if not g.passed]
    if state == stages_pb2.PROMOTION_STATE_FAILED:
        return "skipped", f"refused by the registry's gates: {'; '.join(failed) or 'no detail'}"
    return (
        "skipped",
        f"the promotion ended {stages_pb2.PromotionState.Name(state).removeprefix('PROMOTION_STATE_').lower()}",
    )
