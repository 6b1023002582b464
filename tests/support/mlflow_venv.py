"""A pinned MLflow in a virtualenv of its own, shared by `make bench` (the peer) and the tests that
need a real MLflow (the importer's): built once under `.bench/mlflow-venv` (git-ignored), cached by
stamps that name the pins, so a changed pin rebuilds it and an unchanged one costs nothing.

MLflow is never a dependency of studbook: code that needs it runs inside this venv's interpreter.
`python -m tests.support.mlflow_venv` builds it (the Makefile's `mlflow-venv` target).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".bench" / "mlflow-venv"
PYTHON = VENV / "bin" / "python"

# The lightest install with a SQL-backed registry: SqlAlchemyStore needs sqlalchemy and alembic
# (schema migrations), which mlflow-skinny leaves out. Pinned so runs stay comparable over time.
CORE = ("mlflow-skinny==3.17.2", "sqlalchemy==2.1.9", "alembic==1.20.1")
# `mlflow server` imports these at start-up even for a registry-only backend (its gateway and
# GenAI routes import numpy and pandas); huey is left out because job execution is turned off.
# Optional: without them only in-process MLflow is to be had.
SERVER = ("flask==3.1.3", "flask-cors==6.0.5", "graphene==3.4.3", "aiohttp==3.14.5", "numpy==2.4.6", "pandas==3.1.1")
# MLflow on PostgreSQL (`postgresql+psycopg://`), for the importer's PostgreSQL source; the same
# psycopg as studbook's own. Optional like the server's.
POSTGRES = ("psycopg[binary]==3.3.9",)
# What mlflow.pyfunc needs to load and run a scikit-learn model, for the MLflow endpoint's
# conformance tests (MLflow's own client loading a model registered in studbook).
CLIENT = ("scikit-learn==1.9.1", "numpy==2.4.6", "pandas==3.1.1")
INSTALL_TIMEOUT_S = 900


class MlflowUnavailable(RuntimeError):
    """MLflow could not be installed here; the message says why, in one line."""


def is_built(*, server: bool = False, postgres: bool = False, client: bool = False) -> bool:
    """The venv is there with the current pins (and the server's, PostgreSQL's or the client's, when asked)."""
    return (PYTHON.exists() and _stamp_matches("core", CORE) and (not server or _stamp_matches("server", SERVER))
            and (not postgres or _stamp_matches("postgres", POSTGRES))
            and (not client or _stamp_matches("client", CLIENT)))  # fmt: skip


def ensure_venv() -> tuple[Path, str | None]:
    """Builds the venv once; returns its interpreter and why the server extras are missing, if they are."""
    if not (PYTHON.exists() and _stamp_matches("core", CORE)):
        shutil.rmtree(VENV, ignore_errors=True)  # a half-built or differently pinned venv is rebuilt whole
        VENV.parent.mkdir(parents=True, exist_ok=True)
        _run([shutil.which("python3.11") or sys.executable, "-m", "venv", str(VENV)], "creating the venv")
        _pip(CORE)
        _write_stamp("core", CORE)
    for step, packages in (("postgres", POSTGRES), ("client", CLIENT)):
        if not _stamp_matches(step, packages):
            with contextlib.suppress(MlflowUnavailable):  # only their tests need them; they skip without
                _pip(packages)
                _write_stamp(step, packages)
    if not _stamp_matches("server", SERVER):
        try:
            _pip(SERVER)
        except MlflowUnavailable as exc:
            return PYTHON, str(exc)  # tried again next time: no stamp was written
        _write_stamp("server", SERVER)
    return PYTHON, None


def last_line(text: str) -> str:
    """The useful sentence of pip's or a traceback's output: the last; earlier lines are warnings and frames."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def _pip(packages: tuple[str, ...]) -> None:
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
         f"installing {' '.join(packages)}")  # fmt: skip


def _run(command: list[str], doing: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise MlflowUnavailable(f"{doing} took over {INSTALL_TIMEOUT_S} s") from exc
    except OSError as exc:
        raise MlflowUnavailable(f"{doing}: {exc}") from exc
    if done.returncode != 0:
        raise MlflowUnavailable(f"{doing} failed: {last_line(done.stderr)}")


def _stamp_matches(step: str, packages: tuple[str, ...]) -> bool:
    stamp = VENV / f".{step}-installed"
    return stamp.exists() and stamp.read_text() == "\n".join(packages)


def _write_stamp(step: str, packages: tuple[str, ...]) -> None:
    (VENV / f".{step}-installed").write_text("\n".join(packages))


def main() -> int:
    """Builds the venv quietly: one line when it is built, one line naming the failure otherwise."""
    if is_built(server=True, postgres=True, client=True):
        return 0
    doing = "completing" if PYTHON.exists() else "building (first time: a few minutes)"
    print(f"{doing} the pinned MLflow venv in {VENV.relative_to(REPO)} ...")
    try:
        _, server_problem = ensure_venv()
    except MlflowUnavailable as exc:
        print(f"MLflow venv: not built ({exc}); the tests that need MLflow are skipped", file=sys.stderr)
        return 0  # the rest of the suite runs without it
    if server_problem:
        print(f"MLflow venv: built without `mlflow server` ({server_problem})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
