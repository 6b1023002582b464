"""MLflow's own client, in the virtualenv `make bench` builds for its MLflow peer (never in
studbook's), with scikit-learn beside it for the pyfunc round trip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench.mlflow_peer import VENV, PeerUnavailable, ensure_venv

# What mlflow.pyfunc needs to load and run a scikit-learn model; pinned like the peer's packages.
CLIENT = ("scikit-learn==1.9.1", "numpy==2.4.6", "pandas==3.1.1")
INSTALL_TIMEOUT_S = 900
FLOWS = Path(__file__).resolve().parents[1] / "integration" / "mlflow_api" / "mlflow_flows.py"


def mlflow_python() -> Path:
    """The venv's interpreter, built on first use; PeerUnavailable says why it cannot be."""
    python, _ = ensure_venv()
    stamp = VENV / ".client-installed"
    if not (stamp.exists() and stamp.read_text() == "\n".join(CLIENT)):
        try:
            done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                   *CLIENT], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise PeerUnavailable(f"installing {' '.join(CLIENT)} took over {INSTALL_TIMEOUT_S} s") from exc
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise PeerUnavailable(f"installing {' '.join(CLIENT)} failed: {last}")
        stamp.write_text("\n".join(CLIENT))
    return python


def run_flow(python: Path, flow: str, tracking_uri: str, tokens: dict[str, str],
             workdir: Path) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Runs one flow of mlflow_flows.py with MLflow's client against `tracking_uri`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env.update({
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_TRACKING_TOKEN": tokens["admin"],
        **{f"STUDBOOK_TEST_TOKEN_{role.upper()}": secret for role, secret in tokens.items()},
        # No retries: a refusal must come back at once, not after MLflow's backoff.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    })  # fmt: skip
    return subprocess.run([str(python), str(FLOWS), flow], capture_output=True, text=True, timeout=300, env=env,
                          cwd=workdir)  # fmt: skip
