"""Weights & Biases folders: an artifact (`wandb_manifest.json`) or an offline run's files
(`config.yaml` -> params, `wandb-summary.json` -> metrics, `wandb-metadata.json` -> run).

Read as data only: the manifest is JSON, the config the bounded YAML subset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from studbook.daemon.domain.model import Metric
from studbook.daemon.domain.names import MAX_PARAM_VALUE, MAX_PARAMS, METRIC_KEY
from studbook.daemon.formats import jsonutil, textfile, yaml_subset
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.limits import Limits

MANIFEST = "wandb_manifest.json"
CONFIG = "config.yaml"
SUMMARY = "wandb-summary.json"
METADATA = "wandb-metadata.json"
# `offline-run-20260105_101500-abc123` or `run-20260105_101500-abc123`: the run id is last.
_RUN_FOLDER = re.compile(r"(?:offline-)?run-\d{8}_\d{6}-(?P<id>[A-Za-z0-9]{1,64})")
# The run's own log of records, `run-abc123.wandb`, at the top of its folder.
_RUN_LOG = re.compile(r"run-(?P<id>[A-Za-z0-9]{1,64})\.wandb")
# Nested config values are flattened this deep (a.b.c), deeper ones kept as their text.
_FLATTEN_DEPTH = 4
# Files are hashed in pieces this large to check the manifest's digests.
_HASH_CHUNK = 1 << 20


@dataclass
class WandbRun:
    """What a run's files declare."""

    run_id: str = ""
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    code_commit: str = ""
    entry_point: str = ""
    python_version: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def run_dir(names: set[str]) -> PurePosixPath | None:
    """The shallowest folder holding a wandb-summary.json or wandb-metadata.json: a run's files."""
    found = [PurePosixPath(n).parent for n in names if PurePosixPath(n).name in (SUMMARY, METADATA)]
    return min(found, key=lambda p: (len(p.parts), str(p))) if found else None


def read_run(root: Path, directory: PurePosixPath, names: set[str], limits: Limits) -> WandbRun:
    """The run whose files are in `directory` (relative to `root`); `names` are the folder's files."""
    run = WandbRun()
    here = {str(PurePosixPath(n).relative_to(directory)) for n in names if PurePosixPath(n).parent == directory}
    if CONFIG in here:
        run.params = _params(_yaml(root / directory / CONFIG, limits), limits)
    if SUMMARY in here:
        summary = _json(root / directory / SUMMARY, limits)
        run.metrics = _metrics(jsonutil.as_dict(summary), limits)
    if METADATA in here:
        meta = jsonutil.as_dict(_json(root / directory / METADATA, limits))
        git = jsonutil.as_dict(meta.get("git"))
        run.code_commit = _text(git.get("commit"), 256)
        run.entry_point = _text(meta.get("program") or meta.get("codePath"), 1024)
        run.python_version = _text(meta.get("python"), 64)
        run.metadata = {k: jsonutil.clip(meta[k], limits.max_listed) for k in ("host", "os", "startedAt", "gpu")
                        if k in meta}  # fmt: skip
    run.run_id = _run_id(root, directory, names)
    return run


def _run_id(root: Path, directory: PurePosixPath, names: set[str]) -> str:
    """The run's id: from its `run-ID.wandb` log (the shallowest), else from a folder named
    `offline-run-DATE_TIME-ID` around the files."""
    logs = sorted((len(PurePosixPath(n).parts), n) for n in names if _RUN_LOG.fullmatch(PurePosixPath(n).name))
    if logs:
        found = _RUN_LOG.fullmatch(PurePosixPath(logs[0][1]).name)
        assert found is not None
        return found.group("id")
    for part in reversed((root.name, *directory.parts)):
        folder = _RUN_FOLDER.fullmatch(part)
        if folder:
            return folder.group("id")
    return ""


def _params(config: Any, limits: Limits) -> dict[str, str]:
    """config.yaml's `key: {value: X}` entries (W&B's own keys left out) as flat params."""
    params: dict[str, str] = {}
    for key, entry in jsonutil.as_dict(config).items():
        if not isinstance(key, str) or key.startswith("_") or key == "wandb_version":
            continue
        value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
        _flatten(params, key, value, _FLATTEN_DEPTH, limits)
    return params


def _flatten(params: dict[str, str], key: str, value: Any, depth: int, limits: Limits) -> None:
    # Param keys follow the metric-key rule (domain.names.validate_params): others are left out.
    if len(params) >= min(MAX_PARAMS, limits.max_text_items) or not METRIC_KEY.fullmatch(key):
        return
    if isinstance(value, dict) and value and depth > 0:
        for inner, item in value.items():
            _flatten(params, f"{key}.{inner}", item, depth - 1, limits)
        return
    if isinstance(value, (dict, list)):
        text = _compact(jsonutil.clip(value, limits.max_listed))
    elif value is None:
        text = "None"
    else:
        text = str(value)
    params[key] = text[:MAX_PARAM_VALUE]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _metrics(summary: dict[Any, Any], limits: Limits) -> list[Metric]:
    """Numeric top-level summary values; `_step` is their step, other `_` keys are W&B's own."""
    step = summary.get("_step")
    step = step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None
    metrics: list[Metric] = []
    for key, value in summary.items():
        if len(metrics) >= limits.max_text_items:
            break
        if not isinstance(key, str) or key.startswith("_") or not METRIC_KEY.fullmatch(key):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue  # histograms, images and tables are dicts: not a metric
        metrics.append(Metric(key, float(value), step=step))
    return metrics


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int | None
    digest: str
    ref: str = ""


def read_manifest(root: Path, directory: PurePosixPath, names: set[str], limits: Limits) -> dict[str, Any]:
    """Checks a W&B artifact's manifest against the folder: every local entry present with its
    size and its digest (W&B's is the base64 of the file's MD5), no path leaving the folder.
    Returns metadata to keep (entries, references)."""
    data = textfile.read_bytes(root / directory / MANIFEST, limits.max_json_bytes)
    manifest = jsonutil.loads(data, MANIFEST, limits.max_json_bytes)
    contents = jsonutil.as_dict(manifest).get("contents")
    if not isinstance(contents, dict):
        raise FormatError("BAD_WANDB_MANIFEST", f"{MANIFEST} has no `contents` mapping: it is not a W&B artifact "
                          "manifest; fix or remove it")  # fmt: skip
    present = {
        str(PurePosixPath(n).relative_to(directory)) for n in names if PurePosixPath(n).is_relative_to(directory)
    }
    references = []
    for path, body in list(contents.items())[: limits.max_text_items]:
        entry = _entry(path, body)
        if entry.ref:
            references.append(entry.ref[:2048])
            continue
        if entry.path not in present:
            raise FormatError("MISSING_FILE", f"{MANIFEST} lists {entry.path[:200]!r}, which is not in the folder: "
                              "the artifact download is incomplete; download it again", path=entry.path[:200])  # fmt: skip
        size = (root / directory / entry.path).stat().st_size
        if entry.size is not None and size != entry.size:
            raise FormatError("SIZE_MISMATCH", f"{entry.path[:200]!r} is {size} bytes but {MANIFEST} says "
                              f"{entry.size}: the file changed or was cut short; download the artifact again",
                              path=entry.path[:200])  # fmt: skip
        _check_digest(root / directory / entry.path, entry)
    return {
        "entries": len(contents),
        "storage_policy": _text(jsonutil.as_dict(manifest).get("storagePolicy"), 200),
        "references": references[: limits.max_listed],
    }


def _check_digest(path: Path, entry: ManifestEntry) -> None:
    """Refuses a file whose MD5 is not the one the manifest gives; an entry without a digest has
    nothing to check (its size was)."""
    if not entry.digest:
        return
    try:
        expected = base64.b64decode(entry.digest, validate=True)
    except (binascii.Error, ValueError):
        expected = b""
    if len(expected) != hashlib.md5().digest_size:
        raise FormatError("BAD_WANDB_MANIFEST", f"{MANIFEST} gives {entry.path[:200]!r} the digest "
                          f"{entry.digest[:60]!r}, which is not W&B's base64 MD5 of a file; download the artifact "
                          "again or fix its manifest", path=entry.path[:200])  # fmt: skip
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            md5.update(chunk)
    if md5.digest() != expected:
        found = base64.b64encode(md5.digest()).decode("ascii")
        raise FormatError("DIGEST_MISMATCH", f"{entry.path[:200]!r} has the MD5 {found} but {MANIFEST} says "
                          f"{entry.digest}: the file changed since W&B logged it or its download is corrupt; "
                          "download the artifact again (or log the changed file as a new artifact version)",
                          path=entry.path[:200])  # fmt: skip


def _entry(path: Any, body: Any) -> ManifestEntry:
    if not isinstance(path, str) or not path:
        raise FormatError("BAD_WANDB_MANIFEST", f"{MANIFEST} has an entry without a path")
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or "\x00" in path or "\\" in path:
        raise FormatError("PATH_OUTSIDE", f"{MANIFEST} names {path[:200]!r}, outside the artifact folder; "
                          "an artifact's entries are relative paths inside it", path=path[:200])  # fmt: skip
    body = jsonutil.as_dict(body)
    size = body.get("size")
    ref = body.get("ref")
    return ManifestEntry(
        str(relative),
        size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        _text(body.get("digest"), 128),
        ref if isinstance(ref, str) else "",
    )


def _yaml(path: Path, limits: Limits) -> Any:
    text = textfile.read_text(path, limits.max_text_bytes)
    try:
        return yaml_subset.loads(text, max_depth=limits.max_depth)
    except yaml_subset.YamlError as err:
        raise FormatError("BAD_YAML", f"{path.name} is not YAML studbook can read: {err}; fix or remove it",
                          file=path.name) from None  # fmt: skip


def _json(path: Path, limits: Limits) -> Any:
    return jsonutil.loads(textfile.read_bytes(path, limits.max_json_bytes), path.name, limits.max_json_bytes)


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
