"""The MLflow Model Registry as a peer in `make bench`, measured from its own venv in the same run.

MLflow is never a dependency of studbook: it lives in a separate virtualenv under `.bench/`
(git-ignored), built once, and the measuring is done by mlflow_driver.py running inside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".bench" / "mlflow-venv"
DRIVER = Path(__file__).with_name("mlflow_driver.py")

# The lightest install with a SQL-backed registry: SqlAlchemyStore needs sqlalchemy and alembic
# (schema migrations), which mlflow-skinny leaves out. Pinned so runs stay comparable over time.
CORE = ("mlflow-skinny==3.17.2", "sqlalchemy==2.1.9", "alembic==1.20.1")
# `mlflow server` imports these at start-up even for a registry-only backend (its gateway and
# GenAI routes import numpy and pandas); huey is left out because the driver turns job execution off.
# Optional: without them only the in-process figures exist.
SERVER = ("flask==3.1.3", "flask-cors==6.0.5", "graphene==3.4.3", "aiohttp==3.14.5", "numpy==2.4.6", "pandas==3.1.1")
INSTALL_TIMEOUT_S = 900
# The driver budgets itself to about 4 minutes on 2 cores; past this something is stuck.
RUN_TIMEOUT_S = 420
# studbook's MLflow endpoint measured in the same run adds about two minutes (a 60 s seed included).
FACADE_TIMEOUT_S = 240
VERSIONS = 10_000


class PeerUnavailable(RuntimeError):
    """MLflow could not be installed or run here; the message says why, in one line."""


def bench_mlflow(
    workdir: Path, *, on_unavailable: Callable[[str], None] | None = None, versions: int = VERSIONS
) -> dict[str, Any] | None:
    """Measure MLflow's registry on SQLite; returns the driver's figures, or None when MLflow is not to be had.

    The venv is built on first use (the install time is in the figures as `install_s`, 0.0 when cached).
    When it returns None it has called `on_unavailable(reason)`, by default printing
    "MLflow peer: not available (<reason>)".
    """
    report = on_unavailable or _print_unavailable
    cached = _stamp_matches("core", CORE) and _stamp_matches("server", SERVER)
    try:
        started = time.perf_counter()
        python, server_problem = ensure_venv()
        install_s = time.perf_counter() - started
        with facade_daemon(Path(workdir)) as facade:
            figures = run_driver(python, Path(workdir), versions=versions, rest=server_problem is None,
                                 facade=facade)  # fmt: skip
    except PeerUnavailable as exc:
        report(str(exc))
        return None
    if server_problem:
        figures["rest"] = {"skipped": server_problem}
    figures["install_s"] = 0.0 if cached else round(install_s, 1)
    figures["packages"] = list(CORE) if server_problem else list(CORE + SERVER)
    return figures


def ensure_venv() -> tuple[Path, str | None]:
    """Builds the venv once; returns its interpreter and why the server extras are missing, if they are."""
    python = VENV / "bin" / "python"
    if not (python.exists() and _stamp_matches("core", CORE)):
        shutil.rmtree(VENV, ignore_errors=True)  # a half-built or differently pinned venv is rebuilt whole
        _run([shutil.which("python3.11") or sys.executable, "-m", "venv", str(VENV)], "creating the venv")
        _pip(python, CORE)
        _write_stamp("core", CORE)
    if not _stamp_matches("server", SERVER):
        try:
            _pip(python, SERVER)
        except PeerUnavailable as exc:
            return python, str(exc)  # tried again next run: no stamp was written
        _write_stamp("server", SERVER)
    return python, None


@contextlib.contextmanager
def facade_daemon(workdir: Path) -> Iterator[tuple[str, str]]:
    """A studbook daemon serving its MLflow endpoint on loopback: (its URL, an admin token)."""
    # The bench's own process (never the MLflow venv), where `support` is no package root.
    import grpc
    from studbook.v1 import access_pb2, access_pb2_grpc

    from tests.conftest import start_daemon, stop_daemon

    root = Path(tempfile.mkdtemp(prefix="facade-", dir=workdir))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    daemon = start_daemon(root / "data", root / "s.sock", "--mlflow-listen", f"127.0.0.1:{port}")
    try:
        with grpc.insecure_channel(daemon.address) as channel:
            request = access_pb2.CreateTokenRequest(display_name="bench", role=access_pb2.ROLE_ADMIN)
            token = access_pb2_grpc.AccessServiceStub(channel).CreateToken(request).secret
        yield f"http://127.0.0.1:{port}", token
    finally:
        stop_daemon(daemon)
        shutil.rmtree(root, ignore_errors=True)


def run_driver(python: Path, workdir: Path, *, versions: int, rest: bool,
               facade: tuple[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="mlflow-peer-", dir=workdir))
    command = [str(python), str(DRIVER), "--workdir", str(scratch), "--versions", str(versions)]
    if rest:
        command.append("--rest")
    env, timeout = dict(os.environ), RUN_TIMEOUT_S
    if facade is not None and rest:  # the facade's figures need the same REST client extras
        command += ["--facade", facade[0]]
        env["MLFLOW_TRACKING_TOKEN"] = facade[1]
        timeout += FACADE_TIMEOUT_S
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=scratch,
                              env=env)  # fmt: skip
    try:
        stdout, stderr = driver.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _stop(driver)
        raise PeerUnavailable(f"the MLflow run took over {timeout} s") from exc
    finally:
        if driver.poll() is None:  # interrupted: the driver must still end the server it started
            _stop(driver)
        shutil.rmtree(scratch, ignore_errors=True)
    if driver.returncode != 0:
        raise PeerUnavailable(f"the MLflow run failed: {_last_line(stderr)}")
    try:
        figures: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        raise PeerUnavailable("the MLflow run printed no figures") from exc
    return figures


def print_mlflow(figures: dict[str, Any]) -> None:
    """Prints the figures in the layout of the studbook lines above them."""
    seed = figures["seed"]
    capped = f", capped from {seed['wanted']:,} to stay under 2 minutes" if seed["capped"] else ""
    print(
        f"MLflow {figures['mlflow']} model registry, {figures['store']} on SQLite {figures['sqlite']}, in-process client"
    )
    venv = f"built in {figures['install_s']} s" if figures["install_s"] else "cached"
    print(f"  venv {venv}; run took {figures['seconds']} s")
    print(f"  seeded {seed['models']} models, {seed['versions']:,} versions in {seed['seconds']} s{capped}")
    _rate("create_model_version, sequential", seed["create_model_version"])
    _line("create_registered_model", seed["create_registered_model"])
    _rate(f"create_model_version, {figures['concurrent']['threads']} threads", figures["concurrent"])
    _errors(figures["concurrent"])
    _reads(figures)
    rest = figures["rest"]
    if "skipped" in rest:
        print(f"  local REST: skipped ({rest['skipped']})")
        return
    print(f"MLflow over local REST ({rest['server']}), started in {rest['start_s']} s")
    _line("GET /health (floor)", rest["health_floor"])
    _reads(rest)
    _rate("create_model_version, sequential", rest["create_model_version_sequential"])
    _rate(f"create_model_version, {rest['create_model_version_concurrent']['threads']} threads",
          rest["create_model_version_concurrent"])  # fmt: skip
    _errors(rest["create_model_version_concurrent"])
    print_facade(figures)


def print_facade(figures: dict[str, Any]) -> None:
    """studbook's MLflow endpoint, driven by the same MLflow client calls as `mlflow server` above."""
    facade = figures.get("facade")
    if facade is None:
        return
    if "skipped" in facade:
        print(f"studbook's MLflow endpoint: skipped ({facade['skipped']})")
        return
    seed = facade["seed"]
    print(f"studbook's MLflow endpoint over local REST ({facade['server']})")
    print(f"  seeded {seed['models']} models, {seed['versions']:,} versions through it in {seed['seconds']} s")
    _line("GET /health (floor)", facade["health_floor"])
    _line("create_registered_model", seed["create_registered_model"])
    _reads(facade)
    _rate("create_model_version, sequential", facade["create_model_version_sequential"])
    _rate(f"create_model_version, {facade['create_model_version_concurrent']['threads']} threads",
          facade["create_model_version_concurrent"])  # fmt: skip
    _errors(facade["create_model_version_concurrent"])


def _reads(figures: dict[str, Any]) -> None:
    _line("get_model_version", figures["get_model_version"])
    _line(f"search_model_versions {figures['search_name']['filter']}, 50", figures["search_name"])
    _line(f"search_model_versions {figures['search_tag']['filter']}, 50", figures["search_tag"])
    _line("set_registered_model_alias", figures["set_alias"])
    _line("get_model_version_by_alias", figures["get_by_alias"])
    _line("transition_model_version_stage", figures["transition_stage"])


def _line(label: str, figure: dict[str, Any]) -> None:
    print(f"  {label:<44} p50 {figure['p50_ms']:7.3f} ms   p99 {figure['p99_ms']:7.3f} ms")


def _rate(label: str, figure: dict[str, Any]) -> None:
    print(
        f"  {label:<44} {figure['per_s']:9.0f} versions/s   p50 {figure['p50_ms']:.3f} ms   p99 {figure['p99_ms']:.3f} ms"
    )


def _errors(figure: dict[str, Any]) -> None:
    stored = f", {figure['distinct_versions']:,} distinct in store" if "distinct_versions" in figure else ""
    print(f"    {figure['ok']:,} ok, {figure['failed']:,} failed{stored}")
    for kind, count in figure["errors"].items():
        print(f"    {count:,} x {kind}")


def _stop(driver: subprocess.Popen[str]) -> None:
    """SIGTERM first: the driver then stops its `mlflow server`, which runs in a session of its own."""
    driver.terminate()
    try:
        driver.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        driver.kill()
        driver.communicate()


def _print_unavailable(reason: str) -> None:
    print(f"MLflow peer: not available ({reason})")


def _pip(python: Path, packages: tuple[str, ...]) -> None:
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
         f"installing {' '.join(packages)}")  # fmt: skip


def _run(command: list[str], doing: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise PeerUnavailable(f"{doing} took over {INSTALL_TIMEOUT_S} s") from exc
    except OSError as exc:
        raise PeerUnavailable(f"{doing}: {exc}") from exc
    if done.returncode != 0:
        raise PeerUnavailable(f"{doing} failed: {_last_line(done.stderr)}")


def _last_line(text: str) -> str:
    # pip and tracebacks put the useful sentence last; earlier lines are warnings and frames.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def _stamp_matches(step: str, packages: tuple[str, ...]) -> bool:
    stamp = VENV / f".{step}-installed"
    return stamp.exists() and stamp.read_text() == "\n".join(packages)


def _write_stamp(step: str, packages: tuple[str, ...]) -> None:
    (VENV / f".{step}-installed").write_text("\n".join(packages))
