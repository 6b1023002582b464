"""Model folders: which kind (MLflow, SavedModel, Hugging Face, plain) and what the folder
declares about itself: card, tags, datasets, base model, environment, signature, run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from studbook.daemon.domain.model import Dataset, Environment
from studbook.daemon.domain.names import MAX_DATA_VERSIONS
from studbook.daemon.formats import card, dvc, huggingface, jsonutil, mlflow, paths, savedmodel, textfile, wandb
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.info import REMOTE_CODE, FolderInfo
from studbook.daemon.formats.limits import Limits
from studbook.daemon.formats.source import FileSource

PLAIN = "plain"


def relative_names(root: Path, files: list[Path]) -> list[PurePosixPath]:
    """`files` (absolute or relative to `root`) as relative paths; others are ignored."""
    names: list[PurePosixPath] = []
    for path in files:
        if path.is_absolute():
            try:
                path = path.relative_to(root)
            except ValueError:
                continue
        relative = PurePosixPath(path.as_posix())
        if ".." not in relative.parts and str(relative) not in ("", "."):
            names.append(relative)
    return names


def _shallowest(names: list[PurePosixPath], filename: str) -> PurePosixPath | None:
    matches = [n for n in names if n.name == filename]
    return min(matches, key=lambda n: (len(n.parts), str(n))) if matches else None


def _inside(root: Path, path: Path) -> Path:
    """`path` if it resolves within `root`: a symlinked card must not leak another file."""
    if not paths.inside(path, root):
        raise FormatError("PATH_OUTSIDE", f"{path.name} resolves outside the version folder", path=path.name)
    return path


@dataclass
class _Findings:
    """A FolderInfo under construction, with the notes and flags gathered on the way."""

    info: FolderInfo
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    # Code the loader would run: .py files named by an auto_map or MLflow's code paths.
    remote_code: bool = False
    code_files: dict[str, None] = field(default_factory=dict)


def inspect(root: Path, files: list[Path], limits: Limits) -> FolderInfo:
    names = relative_names(root, files)
    mlmodel = _shallowest(names, mlflow.MLMODEL)
    saved = _shallowest(names, savedmodel.PB_NAME)
    if mlmodel is not None:
        kind, model_dir = mlflow.KIND, mlmodel.parent
    elif saved is not None:
        kind, model_dir = savedmodel.FORMAT, saved.parent
    else:
        top = {str(n) for n in names if len(n.parts) == 1}
        kind = huggingface.KIND if huggingface.is_folder(top) else PLAIN
        model_dir = PurePosixPath(".")
    directory = root / model_dir
    # The model folder's own files, as names relative to it, minus links that lead out.
    local = {
        str(n.relative_to(model_dir)) for n in names if n.is_relative_to(model_dir) and paths.inside(root / n, root)
    }
    found = _Findings(FolderInfo(kind=kind))
    if kind == mlflow.KIND:
        _read_mlflow(found, root, directory, local, limits)
    elif kind == savedmodel.FORMAT:
        _read_savedmodel(found, root, directory, local, limits)
    elif kind == huggingface.KIND:
        _read_huggingface(found, directory, local, limits)
    _read_card(root, names, model_dir, found, limits)
    _read_dvc(root, names, found, limits)
    _read_wandb(root, names, found, limits)
    if kind == huggingface.KIND and huggingface.card_asks_for_remote_code(found.info.model_card):
        found.remote_code = True
    shards = huggingface.check_shards(root, names, limits)
    if shards:
        found.metadata["shard_indexes"] = shards
    code_files = sorted(str(n) for n in names if n.suffix == ".py")
    if code_files:
        # Listed, not flagged: a training script beside the weights runs only if something asks
        # a loader to import it (an auto_map, trust_remote_code, MLflow code paths), and then
        # the remote-code flag below names these files.
        found.metadata["code_files"] = code_files[: limits.max_listed]
    if found.remote_code:
        found.flags.append(_remote_code_flag([*code_files, *found.code_files]))
    if found.warnings:
        found.metadata["warnings"] = found.warnings[: limits.max_listed]
    found.info.metadata = found.metadata
    found.info.flags = tuple(dict.fromkeys(found.flags))
    return found.info


def _read_mlflow(found: _Findings, root: Path, directory: Path, local: set[str], limits: Limits) -> None:
    _inside(root, directory / mlflow.MLMODEL)
    model = mlflow.read(directory, local, limits)
    info = found.info
    info.run_id, info.signature, info.environment = model.run_id, model.signature, model.environment
    found.metadata.update(model.metadata)
    found.warnings.extend(model.warnings)
    if model.custom_code:
        found.remote_code = True


def _read_savedmodel(found: _Findings, root: Path, directory: Path, local: set[str], limits: Limits) -> None:
    with FileSource(_inside(root, directory / savedmodel.PB_NAME)) as source:
        model = savedmodel.read(source, limits)
    found.info.signature = model.signature
    found.flags.extend(model.flags)
    found.metadata.update(model.metadata(limits))
    found.metadata["variables"] = sorted(n for n in local if n.startswith("variables/"))[: limits.max_listed]
    found.metadata["assets"] = sum(1 for n in local if n.startswith("assets/"))
    if model.tensorflow_version:
        found.info.environment = Environment(packages={"tensorflow": model.tensorflow_version})


def _read_huggingface(found: _Findings, directory: Path, local: set[str], limits: Limits) -> None:
    metadata, packages, base_model, warnings = huggingface.read(directory, local, limits)
    found.metadata.update(metadata)
    found.warnings.extend(warnings)
    found.info.environment = Environment(packages=packages)
    found.info.base_model = base_model
    if huggingface.has_remote_code(metadata):
        found.remote_code = True
        found.code_files.update(dict.fromkeys(huggingface.remote_code_files(metadata)))


def _read_dvc(root: Path, names: list[PurePosixPath], found: _Findings, limits: Limits) -> None:
    """`dvc.lock` and `*.dvc` at the top of the folder: the data the model was trained on."""
    own = frozenset(str(n) for n in names)
    for name in sorted(n for n in names if len(n.parts) == 1 and dvc.is_dvc_name(n.name)):
        text = textfile.read_text(_inside(root, root / name), limits.max_text_bytes)
        data = dvc.parse(text, str(name), own_files=own, max_depth=limits.max_depth)
        add_data(found.info, data.datasets, data.data_versions)
        found.warnings.extend(data.warnings)


def add_data(info: FolderInfo, datasets: list[Dataset], data_versions: dict[str, str]) -> None:
    """Datasets and data versions beside those already found, each name once."""
    known = {d.name for d in info.datasets}
    for dataset in datasets:
        if dataset.name not in known and len(info.datasets) < MAX_DATA_VERSIONS:
            info.datasets.append(dataset)
            known.add(dataset.name)
    for name, version in data_versions.items():
        if len(info.data_versions) < MAX_DATA_VERSIONS:
            info.data_versions.setdefault(name, version)


def _read_wandb(root: Path, names: list[PurePosixPath], found: _Findings, limits: Limits) -> None:
    """A W&B artifact's manifest (checked against the files) and a run's config and summary."""
    manifest = _shallowest(names, wandb.MANIFEST)
    if manifest is not None:
        _inside(root, root / manifest)
        found.metadata["wandb_artifact"] = wandb.read_manifest(root, manifest.parent, {str(n) for n in names}, limits)
    directory = wandb.run_dir({str(n) for n in names})
    if directory is None:
        return
    for name in (wandb.CONFIG, wandb.SUMMARY, wandb.METADATA):
        if directory / name in names:
            _inside(root, root / directory / name)
    run = wandb.read_run(root, directory, {str(n) for n in names}, limits)
    info = found.info
    info.params = run.params
    info.metrics = run.metrics
    if not info.run_id and run.run_id:
        info.run_id, info.run_code_commit, info.run_entry_point = run.run_id, run.code_commit, run.entry_point
    if run.python_version and not info.environment.python_version:
        info.environment.python_version = run.python_version
    found.metadata["wandb_run"] = {
        "run_id": run.run_id, "code_commit": run.code_commit, "entry_point": run.entry_point, **run.metadata,
    }  # fmt: skip


# Files named in one remote-code flag; metadata["code_files"] keeps the full list.
_FLAG_FILES = 16


def _remote_code_flag(files: list[str]) -> str:
    """remote-code:FILE1.py,FILE2.py (sorted, bounded), or remote-code when no file is known."""
    names = sorted({name.replace(",", "_") for name in files})[:_FLAG_FILES]
    return f"{REMOTE_CODE}:{','.join(names)}" if names else REMOTE_CODE


def _read_card(
    root: Path, names: list[PurePosixPath], model_dir: PurePosixPath, found: _Findings, limits: Limits
) -> None:
    """README.md beside the model (or at the root) is the model card."""
    candidates = [n for n in names if n.name.lower() == "readme.md" and n.parent in (model_dir, PurePosixPath("."))]
    if not candidates:
        return
    chosen = min(candidates, key=lambda n: (n.parent != model_dir, str(n)))
    text = textfile.read_text(_inside(root, root / chosen), limits.max_text_bytes, truncate=True)
    parsed = card.parse(text, limits.max_listed, limits.max_depth)
    info = found.info
    info.model_card = parsed.text
    info.tags = parsed.tags
    info.datasets = parsed.datasets
    if parsed.base_models:
        info.base_model = parsed.base_models[0]
        if len(parsed.base_models) > 1:
            found.metadata["base_models"] = parsed.base_models
    if parsed.metadata:
        found.metadata["card"] = parsed.metadata
    model_type = jsonutil.as_dict(found.metadata.get("config")).get("model_type")
    if isinstance(model_type, str):
        info.tags.setdefault("model_type", model_type[:256])
    found.warnings.extend(parsed.warnings)
