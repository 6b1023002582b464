"""MLflow's own importer (mlflow-export-import) in a virtualenv of its own, with a local `mlflow server`.

MLflow is never a dependency of studbook: the venv lives under `.bench/` (git-ignored), is
built once from pinned packages, and is only ever run as separate processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support.net import free_port
from support.processes import stop_process_group

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".bench" / "mlflow-export-venv"
READER = Path(__file__).with_name("mlflow_reader.py")
# 1.2.0 is the importer's published release; it predates aliases and dataset inputs (read by
# its later sources), and imports with `tabulate` and `databricks-cli` it does not declare.
PINS = ("mlflow==3.17.2", "mlflow-export-import==1.2.0", "tabulate==0.9.0", "databricks-cli==0.18.0")
INSTALL_TIMEOUT_S = 900


class ImporterUnavailable(RuntimeError):
    """The importer could not be installed here; the message says why."""


def ensure_venv() -> Path:
    """The venv's bin folder, built on first use."""
    stamp = VENV / "studbook-pins.json"
    binaries = VENV / "bin"
    if binaries.joinpath("import-model").exists() and stamp.is_file() and json.loads(stamp.read_text()) == list(PINS):
        return binaries
    shutil.rmtree(VENV, ignore_errors=True)  # a half-built or differently pinned venv is rebuilt whole
    try:
        subprocess.run([shutil.which("python3.11") or sys.executable, "-m", "venv", str(VENV)], check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        subprocess.run([str(binaries / "python"), "-m", "pip", "install", "-q", *PINS], check=True,
                       capture_output=True, timeout=INSTALL_TIMEOUT_S)  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        raise ImporterUnavailable(f"cannot install {' '.join(PINS)}: {exc}") from exc
    stamp.write_text(json.dumps(list(PINS)))
    return binaries


def main() -> None:
    """Builds the venv quietly for `make mlflow-venv`: a line when it builds, one naming a failure."""
    if (VENV / "bin" / "import-model").exists():
        ensure_venv()  # checks the pins; rebuilds only when they changed
        return
    print(f"building MLflow's importer venv in {VENV.relative_to(REPO)} (first time: a few minutes) ...")
    try:
        ensure_venv()
    except ImporterUnavailable as exc:
        print(f"MLflow importer venv: not built ({exc}); the test that needs it is skipped", file=sys.stderr)


@contextlib.contextmanager
def mlflow_server(binaries: Path, workdir: Path) -> Iterator[str]:
    """`mlflow server` on loopback over a fresh SQLite file; yields its URL, ends it after."""
    port = free_port()
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    command = [str(binaries / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
               "--default-artifact-root", str(workdir / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]  # fmt: skip
    with open(workdir / "mlflow-server.log", "wb") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not serve:\n{(workdir / 'mlflow-server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        # The server forks its workers into its own session: ending that group ends exactly what was started here.
        stop_process_group(server)


def import_model(
    binaries: Path, url: str, folder: Path, model: str, experiment: str
) -> subprocess.CompletedProcess[str]:
    """Runs `import-model` as a user of MLflow would."""
    return subprocess.run([str(binaries / "import-model"), "--input-dir", str(folder), "--model", model,
                           "--experiment-name", experiment], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, MLFLOW_TRACKING_URI=url))  # fmt: skip


def read_model(binaries: Path, url: str, model: str, workdir: Path) -> dict[str, Any]:
    """What MLflow's client sees of `model` after the import (see mlflow_reader.py)."""
    done = subprocess.run([str(binaries / "python"), str(READER), model, str(workdir / "downloads")],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, MLFLOW_TRACKING_URI=url))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found
