"""Where MLflow had its versions: stages, aliases and the archive, brought in as promotions and
archivings through the registry's own calls, so that its gates and approvals decide."""

from __future__ import annotations

from dataclasses import dataclass, field

from studbook.cli.importers.import_report import ImportReport, Outcome
from studbook.cli.importers.mlflow_mapping import STAGES, label_for, millis, request_id
from studbook.cli.importers.mlflow_source import STAGE_ARCHIVED, SourceModel, SourceVersion
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.v1 import resources_pb2, stages_pb2

# The stages a model made by the import gets (the registry's default), for a dry run that made none.
DEFAULT_STAGES = ("development", "staging", "production")


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


class Placement:
    """Stages, aliases and archivings of one import, through the registry's calls."""

    def __init__(self, client: Client, report: ImportReport, *, dry_run: bool) -> None:
        self.client = client
        self.report = report
        self.dry_run = dry_run

    def stages(self, model: SourceModel, state: ModelState) -> None:
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

    def aliases(self, model: SourceModel, state: ModelState) -> None:
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

    def archive(self, model: SourceModel, state: ModelState) -> None:
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

    @staticmethod
    def _kind(target: str, state: ModelState) -> str:
        stages = state.model.stages if state.model is not None else DEFAULT_STAGES
        return "stage" if target in stages else "alias"


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
