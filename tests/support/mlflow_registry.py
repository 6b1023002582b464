"""A real MLflow for the importer's tests: filled by tests/support/mlflow_fill.py running in the
pinned MLflow venv (tests/support/mlflow_venv.py), over SQLite or through `mlflow server`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support import mlflow_venv
from support.models import fixture
from support.net import free_port
from support.processes import stop_process_group

FILL = Path(__file__).with_name("mlflow_fill.py")
MODEL_FOLDER = "mlflow/model"
WEIGHTS = "safetensors/single.safetensors"
SERVER_START_S = 120.0


@dataclass
class FilledMlflow:
    """An MLflow registry the fill script made, and what it says it made (see mlflow_fill.py)."""

    uri: str
    made: dict[str, Any]

    def version(self, model: str, number: int) -> dict[str, Any]:
        found: dict[str, Any] = next(v for v in self.made["models"][model]["versions"] if v["version"] == number)
        return found


def mlflow_python(*, server: bool = False, postgres: bool = False, client: bool = False) -> Path:
    """The MLflow venv's interpreter; the test is skipped (saying how to build it) when it is not there."""
    if not mlflow_venv.is_built(server=server, postgres=postgres, client=client):
        pytest.skip("the pinned MLflow venv (with what this test needs) is not built: run `make mlflow-venv`")
    return mlflow_venv.PYTHON


def fill(uri: str, workdir: Path, *, server: bool = False) -> FilledMlflow:
    """Fills the registry at `uri` (sqlite:///..., postgresql+psycopg://... or a server's http://...)
    with the fill script's models."""
    python = mlflow_python(server=server, postgres=uri.startswith("postgresql"))
    command = [str(python), str(FILL), "--uri", uri, "--artifacts", str(workdir / "artifacts"),
               "--model-folder", str(fixture(MODEL_FOLDER)), "--weights", str(fixture(WEIGHTS))]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir, timeout=300,
                          env={**os.environ, "MLFLOW_TRACKING_URI": uri})  # fmt: skip
    assert done.returncode == 0, f"filling MLflow failed: {done.stderr[-3000:]}"
    return FilledMlflow(uri, json.loads(done.stdout.strip().splitlines()[-1]))


def sqlite_uri(db: Path) -> str:
    return f"sqlite:///{db}"


@contextlib.contextmanager
def mlflow_server(db: Path, artifacts: Path, log: Path) -> Iterator[str]:
    """`mlflow server` on a free loopback port over a SQLite file, proxying files into `artifacts`;
    yields its URL and stops it (its whole process group, which it alone is in) afterwards."""
    python = mlflow_python(server=True)
    port = free_port()
    command = [str(python), "-m", "mlflow", "server", "--backend-store-uri", sqlite_uri(db),
               "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]  # fmt: skip
    # No background job consumers: they would only compete for the machine's two cores.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with open(log, "wb") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _healthy(url):
            assert server.poll() is None, f"mlflow server exited: {log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, f"mlflow server not serving: {log.read_text(errors='replace')[-3000:]}"
            time.sleep(0.2)
        yield url
    finally:
        stop_process_group(server)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False
