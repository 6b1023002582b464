"""The MLflow Model Registry as a peer in `make bench`, measured from its own venv in the same run.

MLflow is never a dependency of studbook: it lives in a virtualenv of its own (tests/support/mlflow_venv.py,
shared with the tests), and the measuring is done by mlflow_driver.py running inside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.support import mlflow_venv

DRIVER = Path(__file__).with_name("mlflow_driver.py")
# The driver budgets itself to about 4 minutes on 2 cores; past this something is stuck.
RUN_TIMEOUT_S = 420
# studbook's MLflow endpoint measured in the same run adds about two minutes (a 60 s seed included).
FACADE_TIMEOUT_S = 240
VERSIONS = 10_000


class PeerUnavailable(RuntimeError):
    """MLflow could not be run here; the message says why, in one line."""


def bench_mlflow(
    workdir: Path, *, on_unavailable: Callable[[str], None] | None = None, versions: int = VERSIONS
) -> dict[str, Any] | None:
    """Measure MLflow's registry on SQLite; returns the driver's figures, or None when MLflow is not to be had.

    The venv is built on first use (the install time is in the figures as `install_s`, 0.0 when cached).
    When it returns None it has called `on_unavailable(reason)`, by default printing
    "MLflow peer: not available (<reason>)".
    """
    report = on_unavailable or _print_unavailable
    cached = mlflow_venv.is_built(server=True)
    try:
        started = time.perf_counter()
        python, server_problem = mlflow_venv.ensure_venv()
        install_s = time.perf_counter() - started
        with facade_daemon(Path(workdir)) as facade:
            figures = run_driver(python, Path(workdir), versions=versions, rest=server_problem is None,
                                 facade=facade)  # fmt: skip
    except (PeerUnavailable, mlflow_venv.MlflowUnavailable) as exc:
        report(str(exc))
        return None
    if server_problem:
        figures["rest"] = {"skipped": server_problem}
    figures["install_s"] = 0.0 if cached else round(install_s, 1)
    figures["packages"] = list(mlflow_venv.CORE) if server_problem else list(mlflow_venv.CORE + mlflow_venv.SERVER)
    return figures


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
        raise PeerUnavailable(f"the MLflow run failed: {mlflow_venv.last_line(stderr)}")
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
