"""FileInfo and FolderInfo: what inspection learned from a file or a model folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studbook.daemon.domain import safety
from studbook.daemon.domain.model import Dataset, Environment, Metric, Signature

# JSON-able values only: str, int, float, bool, None, list and dict of those.
Metadata = dict[str, Any]

# Flags raised by inspection; the watcher copies them onto the ArtifactFile. Which of them
# mean "runs code when loaded" is decided in domain.safety, whose labels these reuse.
UNSAFE_FORMAT = "unsafe-format"
# Pickle globals, each followed by module.name. A dangerous global runs code or reaches the
# OS or network when loaded; an unknown one is merely not on the allow-list.
DANGEROUS_GLOBAL = safety.DANGEROUS_GLOBAL + ":"
UNKNOWN_GLOBAL = safety.UNKNOWN_GLOBAL + ":"
# SavedModel graph ops that touch files, processes or Python, followed by "OP1,OP2" (sorted).
UNSAFE_OPS = safety.UNSAFE_OPS + ":"
LAMBDA_LAYER = "lambda-layer"
# Alone, or followed by ":" and the comma-separated .py files the loader would import.
REMOTE_CODE = safety.REMOTE_CODE
EXTENSION_MISMATCH = "extension-mismatch"
EXTERNAL_DATA = "external-data"
EXTERNAL_DATA_MISSING = "external-data-missing"
TORCHSCRIPT_CODE = "torchscript-code"


@dataclass(frozen=True)
class FileInfo:
    """One file's detected format and the metadata read from it without executing it."""

    format: str
    """safetensors, gguf, onnx, pytorch, pickle, joblib, keras, savedmodel, hdf5, zip or unknown."""
    flags: tuple[str, ...] = ()
    metadata: Metadata = field(default_factory=dict)
    signature: Signature | None = None
    parameter_count: int | None = None


@dataclass
class FolderInfo:
    """A model folder's kind (huggingface, mlflow, savedmodel, plain) and what it declares."""

    kind: str
    model_card: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list)
    base_model: str = ""
    environment: Environment = field(default_factory=Environment)
    signature: Signature | None = None
    run_id: str = ""
    # The run's code commit and program, where its tracker recorded them (a W&B run).
    run_code_commit: str = ""
    run_entry_point: str = ""
    metadata: Metadata = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    # What a tracker's files beside the model declare (a W&B run's config and summary).
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    # Dataset name -> version (md5) of the data DVC files beside the model record.
    data_versions: dict[str, str] = field(default_factory=dict)


def unique_flags(*groups: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Flags in first-seen order without duplicates."""
    seen: dict[str, None] = {}
    for group in groups:
        for flag in group:
            seen.setdefault(flag, None)
    return tuple(seen)
