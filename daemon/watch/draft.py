"""The version a drop registers: its files, what the formats read and what the manifest says."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from studbook.daemon.app.inspection import Inspected, artifact_files, signature_of
from studbook.daemon.app.intake import add_data
from studbook.daemon.domain.model import (
    Environment,
    ModelVersion,
    ParentLink,
    Run,
)
from studbook.daemon.domain.names import MAX_MODEL_CARD, MAX_PARAMS, MAX_TAG_VALUE, MAX_TAGS, TAG_KEY
from studbook.daemon.formats import record
from studbook.daemon.formats.folder import PLAIN
from studbook.daemon.watch.examine import Hashed
from studbook.daemon.watch.manifest import Manifest

ACTOR = "drop-in"


def build_draft(
    model: str,
    unit_path: str,
    hashed: Hashed,
    inspected: Inspected,
    manifest: Manifest | None,
    parents: list[ParentLink],
) -> ModelVersion:
    """A draft for `VersionUseCases.register`; the manifest wins over what files declare."""
    manifest = manifest or Manifest()
    folder = inspected.folder
    files = artifact_files(hashed.files, inspected)
    draft = ModelVersion(
        model=model,
        number=0,
        description=manifest.description,
        params=_params(manifest, inspected),
        metrics=record.with_card_metrics(manifest.metrics, folder),
        files=files,
        storage_uri=Path(unit_path).as_uri(),
        content_digest=hashed.digest,
        signature=signature_of(hashed.files, inspected),
        model_card=(manifest.model_card or (folder.model_card if folder else ""))[:MAX_MODEL_CARD],
        datasets=list(manifest.datasets),
        run=manifest.run or _folder_run(inspected),
        parents=parents,
        environment=_environment(manifest, inspected),
        training=replace(manifest.training, data_versions=dict(manifest.training.data_versions)),
        created_by=ACTOR,
        created_from=unit_path,
        format_info=record.version_record([(f.size, f.format_info) for f in files], folder),
    )
    draft.tags = _tags(manifest, inspected)
    if folder is not None:
        add_data(draft, folder.datasets, folder.data_versions)
    return draft


def _tags(manifest: Manifest, inspected: Inspected) -> dict[str, str]:
    """Declared tags (a model card's) and a few read facts, under the manifest's own tags."""
    found: dict[str, str] = {}
    folder = inspected.folder
    if folder is not None:
        if folder.kind != PLAIN:
            found["format.folder"] = folder.kind
        if folder.flags:
            found["format.flags"] = ",".join(folder.flags)
        if folder.base_model:
            found["base_model"] = folder.base_model
        found.update(folder.tags)
    tags = dict(manifest.tags)
    for key, value in found.items():
        if len(tags) >= MAX_TAGS:
            break
        if key not in tags and TAG_KEY.fullmatch(key):
            tags[key] = value.replace("\x00", "")[:MAX_TAG_VALUE]
    return tags


def _environment(manifest: Manifest, inspected: Inspected) -> Environment:
    """The manifest's environment, what it leaves out filled from what the folder declares."""
    given = manifest.environment
    found = inspected.folder.environment if inspected.folder is not None else Environment()
    # Packages and requirements describe one installation, so they come from one source:
    # the manifest's packages beside an MLflow folder's requirements could contradict each other.
    installed = given if given.packages or given.requirements else found
    return Environment(
        python_version=given.python_version or found.python_version,
        packages=dict(installed.packages),
        requirements=list(installed.requirements),
        platform=given.platform or found.platform,
    )


def _params(manifest: Manifest, inspected: Inspected) -> dict[str, str]:
    """The manifest's params, then those a tracker's files beside the model declare."""
    params = dict(manifest.params)
    for key, value in (inspected.folder.params if inspected.folder is not None else {}).items():
        if len(params) < MAX_PARAMS:
            params.setdefault(key, value)
    return params


def _folder_run(inspected: Inspected) -> Run | None:
    folder = inspected.folder
    if folder is None or not folder.run_id or "/" in folder.run_id or len(folder.run_id) > 256:
        return None
    return Run(folder.run_id, folder.run_code_commit, folder.run_entry_point)
