"""`studbook import mlflow SOURCE`: an MLflow registry brought into studbook through the daemon's
public API, as any client would register it, so that every rule of the registry applies.

Idempotent: request ids come from each record's identity in the source, and what studbook already
holds from an earlier import is recognised and left alone, so a second run imports only what is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from studbook.cli.importers.import_report import ImportReport, Outcome
from studbook.cli.importers.mlflow_mapping import (
    MAX_DESCRIPTION,
    MAX_METRICS,
    MAX_TAGS,
    created_from,
    fit_tags,
    millis,
    model_id_for,
    request_id,
    run_tags,
    version_draft,
)
from studbook.cli.importers.mlflow_placement import ModelState, Placement
from studbook.cli.importers.mlflow_source import (
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
from studbook.v1 import registry_pb2, resources_pb2

# Refusals of content that runs code when loaded: --allow-unsafe lets it in (maintainer role).
UNSAFE_REASONS = frozenset({"UNSAFE_PICKLE", "UNSAFE_OPS", "REMOTE_CODE"})


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
        self.placement = Placement(client, self.report, dry_run=dry_run)

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
        self.placement.stages(model, state)
        self.placement.archive(model, state)
        self.placement.aliases(model, state)

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
        # The rest of a long history, in calls of the size the daemon takes.
        for start in range(0, len(draft.later_metrics), MAX_METRICS):
            self.client.log_metrics(kept.name, draft.later_metrics[start : start + MAX_METRICS])
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

    # -- reading studbook ----------------------------------------------------------------

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
