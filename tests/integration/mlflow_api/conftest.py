"""A daemon serving the MLflow endpoint on a free loopback port, and a token per role."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Daemon, stop_daemon
from support.mlflow_http import MlflowHttp, start_with_mlflow


@pytest.fixture(scope="module")
def mlflow_daemon() -> Iterator[tuple[Daemon, MlflowHttp]]:
    """One daemon for a whole module; tests use their own model names (see `model_id`)."""
    root = Path(tempfile.mkdtemp(prefix="sb-"))
    daemon, api = start_with_mlflow(root)
    yield daemon, api
    stop_daemon(daemon)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def api(mlflow_daemon: tuple[Daemon, MlflowHttp]) -> MlflowHttp:
    return mlflow_daemon[1]
