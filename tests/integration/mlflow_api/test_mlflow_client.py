"""Conformance: MLflow's own client (pinned, in a virtualenv of its own) against a real daemon's
MLflow endpoint. Skipped, saying why, where that virtualenv cannot be built."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import stop_daemon  # type: ignore[import-not-found]
from support.mlflow_client import run_flow
from support.mlflow_http import MlflowHttp, start_with_mlflow
from support.mlflow_registry import mlflow_python

POLICY = """
[[models]]
pattern = "gated-*"
[models.gates.production]
require = ["model_card"]
"""


@pytest.fixture(scope="module")
def python() -> Path:
    return mlflow_python(client=True)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[MlflowHttp, Path]]:
    root = Path(tempfile.mkdtemp(prefix="sb-"))
    (root / "policy.toml").write_text(POLICY)
    daemon, api = start_with_mlflow(root, "--policy", str(root / "policy.toml"))
    yield api, root
    stop_daemon(daemon)
    shutil.rmtree(root, ignore_errors=True)


# The first run builds MLflow's venv (two pinned installs, minutes on a slow mirror) inside the
# first test's fixtures; later runs find it built.
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("flow", ["models_and_versions", "registered_model_search", "aliases", "rename", "stages", "access",
                                  "pyfunc_round_trip"])  # fmt: skip
def test_mlflow_client_flow(python: Path, endpoint: tuple[MlflowHttp, Path], flow: str) -> None:
    api, root = endpoint
    ran = run_flow(python, flow, api.base, api.tokens, root)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().endswith("ok")
