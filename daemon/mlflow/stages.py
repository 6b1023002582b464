"""MLflow's four stages against a studbook model's own ordered stages.

A version is MLflow's "Production" or "Staging" while it holds studbook's stage of that name,
"Archived" once archived, and "None" otherwise (holding no stage, or one of the others such as
`development`). A transition is a studbook promotion, run with its gates and approvals:
to Staging or Production into that stage; to None into the model's first other stage, which
takes the version out of Staging or Production as studbook moves a version between stages;
to Archived, studbook's archive of the version.
"""

from __future__ import annotations

from studbook.daemon.domain.model import Model, ModelVersion, VersionStatus
from studbook.daemon.mlflow.errors import invalid

NONE, STAGING, PRODUCTION, ARCHIVED = "None", "Staging", "Production", "Archived"
STAGES = (NONE, STAGING, PRODUCTION, ARCHIVED)
# The MLflow stages that name a studbook stage (held by one version at a time).
HELD = {STAGING: "staging", PRODUCTION: "production"}


def canonical(stage: str) -> str:
    """MLflow's own spelling of a stage given in any case, as its server accepts them."""
    for known in STAGES:
        if stage.strip().lower() == known.lower():
            return known
    raise invalid(f"Invalid Model Version stage: {stage[:40]}. Value must be one of {', '.join(STAGES)}.",
                  field="stage")  # fmt: skip


def mlflow_stage(version: ModelVersion, model: Model | None) -> str:
    if version.status == VersionStatus.ARCHIVED:
        return ARCHIVED
    holders = model.stage_holders if model else {}
    for label, held in HELD.items():
        if holders.get(_stage_of(model, held) or "") == version.number:
            return label
    return NONE


def studbook_stage(model: Model, stage: str) -> str:
    """The studbook stage a transition into MLflow's Staging, Production or None promotes to."""
    if stage in HELD:
        found = _stage_of(model, HELD[stage])
        if found is None:
            raise invalid(f"model {model.name!r} has no {HELD[stage]!r} stage (its stages: "
                          f"{', '.join(model.stages)}), so no version can enter {stage}",
                          model=model.name, stage=stage)  # fmt: skip
        return found
    below = [s for s in model.stages if s.lower() not in HELD.values()]
    if not below:
        raise invalid(f"model {model.name!r} has no stage besides staging and production (its stages: "
                      f"{', '.join(model.stages)}), so a version cannot go back to None",
                      model=model.name, stage=stage)  # fmt: skip
    return below[0]


def _stage_of(model: Model | None, name: str) -> str | None:
    """The model's stage called `name`, in whatever case it was given."""
    for stage in model.stages if model else ():
        if stage.lower() == name:
            return stage
    return None
