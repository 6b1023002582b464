"""Turns a local artifact path into registered files: hashed, format-detected, never executed."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from studbook.daemon.app.inspection import HashedFile, artifact_files, inspect_version, judge, signature_of
from studbook.daemon.artifacts import FileSink, ScanLimits, content_digest, scan_artifact
from studbook.daemon.blobs import BlobMissing, BlobStore
from studbook.daemon.blobs.store import materialize
from studbook.daemon.domain.format_info import FormatInfo
from studbook.daemon.domain.model import ArtifactFile, Dataset, ModelVersion, Run, Signature
from studbook.daemon.domain.names import MAX_DATA_VERSIONS, MAX_PARAMS
from studbook.daemon.formats import FolderInfo, FormatError, Limits, dvc, record


@dataclass
class Intake:
    files: list[ArtifactFile]
    digest: str
    storage_uri: str
    signature: Signature = field(default_factory=Signature)
    folder: FolderInfo | None = None
    format_info: FormatInfo = field(default_factory=FormatInfo)


def take_in(
    source: str,
    limits: ScanLimits,
    format_limits: Limits,
    allowed_roots: Sequence[Path] | None,
    sink: FileSink | None = None,
    *,
    allow_unsafe: bool = False,
) -> Intake:
    """Blocking: scan, hash, inspect and judge `source`. Run it off the event loop.

    With a `sink`, every file is copied into the artifact store in the same read that hashes it.
    Raises what a drop of the same files would be quarantined for (see `inspection`).
    """
    path = Path(source)
    scanned = scan_artifact(path, limits=limits, allowed_roots=allowed_roots, sink=sink)
    unit = path.resolve()
    intake = describe(unit, path.is_dir(), scanned, format_limits, allow_unsafe=allow_unsafe)
    intake.storage_uri = unit.as_uri()
    return intake


def take_in_uploaded(
    format_limits: Limits,
    blobs: BlobStore,
    uploaded: Sequence[ArtifactFile],
    staging: Path,
    *,
    allow_unsafe: bool = False,
) -> Intake:
    """Blocking: a version made of files already uploaded into the artifact store.

    Each blob must be stored with the size given. The files are laid out in a scratch folder
    below `staging` (links where the store is a local folder) so the format readers see
    them as a version folder, then the folder is removed.
    """
    for item in uploaded:
        if blobs.size(item.sha256) != item.size:
            raise BlobMissing(f"{item.path!r} ({item.sha256[:12]}..., {item.size} bytes) is not in the artifact "
                              "store; upload it before registering", sha256=item.sha256, path=item.path)  # fmt: skip
    scratch = staging / f"inspect-{uuid.uuid4().hex}"
    try:
        for item in uploaded:
            target = scratch.joinpath(*item.path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            materialize(blobs, item.sha256, target)
        return describe(scratch, True, uploaded, format_limits, allow_unsafe=allow_unsafe)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def describe(unit: Path, is_dir: bool, scanned: Sequence[HashedFile], limits: Limits, *,
             allow_unsafe: bool) -> Intake:  # fmt: skip
    """Formats, signature and folder metadata of hashed files: `unit` is their folder, or the
    one file. Raises FormatError or an unsafe-content refusal, as a drop would be quarantined."""
    inspected = inspect_version(unit, is_dir, [f.path for f in scanned], limits)
    files = artifact_files(scanned, inspected)
    judge(files, allow_unsafe=allow_unsafe)
    summary = record.version_record([(f.size, f.format_info) for f in files], inspected.folder)
    return Intake(files, content_digest(scanned), "", signature_of(scanned, inspected), inspected.folder, summary)


def fill_from_intake(draft: ModelVersion, intake: Intake) -> None:
    """What the files declare fills only what the caller left empty."""
    draft.files = intake.files
    draft.content_digest = intake.digest
    draft.storage_uri = draft.storage_uri or intake.storage_uri
    draft.format_info = intake.format_info
    if draft.signature.empty:
        draft.signature = intake.signature
    folder = intake.folder
    draft.metrics = record.with_card_metrics(draft.metrics, folder)
    if folder is None:
        return
    draft.model_card = draft.model_card or folder.model_card
    for key, value in folder.tags.items():
        draft.tags.setdefault(key, value)
    add_data(draft, folder.datasets, folder.data_versions)
    for key, value in folder.params.items():
        if len(draft.params) < MAX_PARAMS:
            draft.params.setdefault(key, value)
    if not draft.environment.packages and not draft.environment.requirements:
        draft.environment = folder.environment
    if draft.run is None and folder.run_id:
        draft.run = Run(folder.run_id, folder.run_code_commit, folder.run_entry_point)


def add_data(draft: ModelVersion, datasets: Sequence[Dataset], data_versions: dict[str, str]) -> None:
    """Datasets and data versions the files declare (a card, DVC files), beside the caller's own.

    Hub ids ("org/name") take the hub cache's spelling, since dataset names hold no '/'.
    """
    known = {(d.name, d.version) for d in draft.datasets}
    for dataset in datasets:
        name = dataset.name.replace("/", "--")[:256]
        if not name or "@" in name or (name, dataset.version) in known or len(draft.datasets) >= MAX_DATA_VERSIONS:
            continue
        uri = dataset.uri or (f"hf://datasets/{dataset.name}" if "/" in dataset.name else "")
        draft.datasets.append(replace(dataset, name=name, uri=uri))
        known.add((name, dataset.version))
    for name, version in data_versions.items():
        if len(draft.training.data_versions) < MAX_DATA_VERSIONS:
            draft.training.data_versions.setdefault(name, version)


def read_dvc_file(content: bytes, limits: Limits) -> dvc.DvcData:
    """A DVC file sent with a registration, read within the bound of any text file beside a model."""
    if len(content) > limits.max_text_bytes:
        raise FormatError("FILE_TOO_LARGE", f"the DVC file is {len(content)} bytes, above the "
                          f"{limits.max_text_bytes}-byte limit for it; name a dvc.lock or .dvc file, not data")  # fmt: skip
    return dvc.parse(content.decode("utf-8", errors="replace"), "the DVC file", max_depth=limits.max_depth)
