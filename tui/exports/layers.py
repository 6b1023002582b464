"""Which ModelPack layer kind each file of a version is: weights, their configuration, docs, code or data.

The format the registry detected decides for model files; file names and extensions decide
for the rest. A file decided by name alone is marked untested, as the spec asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from studbook.v1 import resources_pb2

WEIGHT = "weight"
WEIGHT_CONFIG = "weight.config"
DOC = "doc"
CODE = "code"
DATASET = "dataset"

# Formats the registry reads as model weights (daemon/formats).
WEIGHT_FORMATS = frozenset(
    {"safetensors", "gguf", "onnx", "pytorch", "keras", "hdf5", "npz", "npy", "pickle", "joblib", "savedmodel"}
)
CONFIG_SUFFIXES = frozenset({".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".model", ".tiktoken", ".vocab"})
CONFIG_NAMES = frozenset({"mlmodel", "vocab.txt", "merges.txt", "requirements.txt", "conda.yaml", "python_env.yaml"})
DOC_SUFFIXES = frozenset({".md", ".rst", ".pdf", ".html", ".adoc"})
DOC_STEMS = frozenset({"readme", "license", "licence", "notice", "copying", "model_card", "modelcard", "changelog"})
CODE_SUFFIXES = frozenset({".py", ".sh", ".ipynb", ".js", ".ts", ".r", ".jl", ".go", ".rs", ".c", ".cc", ".cpp", ".h"})
DATASET_SUFFIXES = frozenset({".csv", ".tsv", ".parquet", ".jsonl", ".arrow", ".feather", ".avro", ".orc"})


@dataclass(frozen=True)
class Kind:
    kind: str
    tested: bool
    """False: decided by the file's name only, not by its content."""

    @property
    def media_type(self) -> str:
        # Raw (unarchived, uncompressed): the blob is the file itself, so its digest is the
        # sha256 the registry already holds.
        return f"application/vnd.cncf.model.{self.kind}.v1.raw"

    @property
    def tar_media_type(self) -> str:
        # An uncompressed tar holding the file: weights are incompressible, and runtimes mount them as is.
        return f"application/vnd.cncf.model.{self.kind}.v1.tar"


def kind_of(file: resources_pb2.ArtifactFile) -> Kind:
    path = PurePosixPath(file.path)
    name = path.name.lower()
    suffix = path.suffix.lower()
    if file.format in WEIGHT_FORMATS:
        return Kind(WEIGHT, tested=True)
    if name in CONFIG_NAMES:
        return Kind(WEIGHT_CONFIG, tested=False)
    if suffix in DOC_SUFFIXES or path.stem.lower() in DOC_STEMS:
        return Kind(DOC, tested=False)
    if suffix in CODE_SUFFIXES:
        return Kind(CODE, tested=False)
    if suffix in DATASET_SUFFIXES:
        return Kind(DATASET, tested=False)
    if suffix in CONFIG_SUFFIXES or (suffix == ".txt" and "token" in name):
        return Kind(WEIGHT_CONFIG, tested=False)
    # Whatever is left is most likely weights in a format the registry does not read.
    return Kind(WEIGHT, tested=False)
