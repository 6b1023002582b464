"""MLflow's own client, run in the pinned MLflow venv (tests/support/mlflow_venv.py; never in
studbook's), with scikit-learn there for the pyfunc round trip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[1] / "integration" / "mlflow_api" / "mlflow_flows.py"


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
