"""Capture where a model is being trained: Python, platform, ML package versions and git state."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from studbook.v1 import resources_pb2

# Distributions whose versions explain a trained model. Looked up by distribution
# metadata only: importing torch or tensorflow would take seconds and could fail.
ML_PACKAGES: tuple[str, ...] = (
    "torch",
    "torchvision",
    "torchaudio",
    "tensorflow",
    "keras",
    "jax",
    "jaxlib",
    "flax",
    "scikit-learn",
    "xgboost",
    "lightgbm",
    "catboost",
    "numpy",
    "pandas",
    "polars",
    "scipy",
    "transformers",
    "tokenizers",
    "datasets",
    "accelerate",
    "peft",
    "sentence-transformers",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "safetensors",
    "statsmodels",
    "pytorch-lightning",
    "lightning",
    "mlflow",
)

GIT_TIMEOUT_SECONDS = 5.0


def package_versions(names: tuple[str, ...] = ML_PACKAGES) -> dict[str, str]:
    """Installed version of each named distribution; absent ones are left out."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def python_version() -> str:
    return platform.python_version()


def platform_string() -> str:
    """e.g. `Linux-6.1.0-x86_64-with-glibc2.36`."""
    return platform.platform()


def capture_environment(packages: tuple[str, ...] = ML_PACKAGES) -> resources_pb2.Environment:
    """The environment of the running interpreter, as the contract's `Environment`."""
    return resources_pb2.Environment(
        python_version=python_version(),
        packages=package_versions(packages),
        platform=platform_string(),
    )


def _git(cwd: Path, *args: str) -> str | None:
    """stdout of a git command, or None when git, the repository or the answer is missing."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def git_state(cwd: str | Path | None = None) -> tuple[str, bool]:
    """(HEAD commit, working tree has uncommitted changes); ("", False) outside a repository."""
    where = Path(cwd) if cwd is not None else Path.cwd()
    commit = _git(where, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return "", False
    # Untracked files count as dirty: an uncommitted training script changes the model too.
    status = _git(where, "status", "--porcelain")
    return commit.strip(), bool(status and status.strip())


def entry_point() -> str:
    """What is being run, e.g. `train.py` or `-m pkg.train`, for the training record."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return f"-m {spec.name}"
    path = getattr(main, "__file__", None)
    return Path(path).name if path else ""
