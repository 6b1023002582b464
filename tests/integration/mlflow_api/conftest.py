"""A daemon serving the MLflow endpoint on a free loopback port, and a token per role."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.mlflow_http import ROLES, MlflowHttp, create_token
from support.net import free_port

from conftest import Daemon, start_daemon, stop_daemon


def start_with_mlflow(root: Path, *extra: str) -> tuple[Daemon, MlflowHttp]:
    port = free_port()
    daemon = start_daemon(root / "data", root / "s.sock", "--mlflow-listen", f"127.0.0.1:{port}", *extra)
    with daemon.channel() as channel:
        tokens = {role: create_token(channel, f"mlflow-{role}", role) for role in ROLES}
    return daemon, MlflowHttp(f"http://127.0.0.1:{port}", tokens)


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
