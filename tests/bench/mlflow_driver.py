"""Measures the MLflow Model Registry on SQLite; runs inside its own venv and prints one JSON object.

Only the standard library and MLflow are importable here: this file is run by the MLflow venv's
interpreter, never imported by studbook. The workload mirrors `make bench`: registration with 16
concurrent clients, point reads over a seeded registry, a name filter and a tag filter; with
--facade, the same calls against studbook's MLflow-compatible endpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MODELS = 100
THREADS = 16
CONCURRENT_REGISTRATIONS = 1_600
SEQUENTIAL_REST_REGISTRATIONS = 500
# Every threaded or seeding loop also stops at a deadline, so a slow store shrinks the run, not stalls it.
CONCURRENT_DEADLINE_S = 45.0
SEED_BUDGET_S = 120.0
SEED_PROBE = 500
# Seeding through the facade goes over REST, a call per version: a shorter budget keeps the run in bounds.
FACADE_SEED_BUDGET_S = 60.0
READ_SAMPLES = 1_000
SEARCH_SAMPLES = 200
TAG_SEARCH_SAMPLES = 50
WRITE_SAMPLES = 200
NAME_FILTER = "name='m-3'"
TAG_FILTER = "tags.team = 'risk'"
PAGE = 50
# One process, like the studbook daemon. The default (4 uvicorn workers) also added ~44 ms to every
# request on a kept-alive connection on the 2-core bench machine, which would measure that, not the registry.
SERVER_WORKERS = 1


def percentiles(samples: list[float]) -> dict[str, float | int]:
    """Same definition as tests/bench/__main__.py, so both sides' p50/p99 mean one thing."""
    if not samples:
        return {"samples": 0}
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000
    return {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "samples": len(ordered)}


def timed(call: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def version_tags(number: int) -> dict[str, str]:
    # Same share of team=risk as the studbook seed (every third version).
    return {"team": "risk" if number % 3 == 0 else "ads", "run": f"r{number}"}


def error_kind(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}"


def concurrent_registration(client: Any, prefix: str, total: int) -> dict[str, Any]:
    """16 threads register versions into 8 models, like the studbook bench; errors are counted, not raised."""
    for k in range(8):
        client.create_registered_model(f"{prefix}-{k}")
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    deadline = time.perf_counter() + CONCURRENT_DEADLINE_S

    def writer() -> None:
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter)
            if i >= total:
                return
            started = time.perf_counter()
            try:
                client.create_model_version(f"{prefix}-{i % 8}", f"s3://b/{i}", tags={"lr": "0.1"})
            except Exception as exc:  # the point is to see what the store does under contention
                with lock:
                    errors[error_kind(exc)] += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    # Daemon threads: a SIGTERM mid-phase must not wait for them before the server is stopped.
    threads = [threading.Thread(target=writer, daemon=True) for _ in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "threads": THREADS,
        "ok": len(latencies),
        "failed": sum(errors.values()),
        "errors": dict(errors.most_common(5)),
        "seconds": round(elapsed, 2),
        "hit_deadline": elapsed >= CONCURRENT_DEADLINE_S,
        "per_s": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
    }


def sequential_registration(client: Any, prefix: str, total: int) -> dict[str, Any]:
    client.create_registered_model(f"{prefix}-0")
    latencies = timed(lambda: client.create_model_version(f"{prefix}-0", "s3://b/seq", tags={"lr": "0.1"}), total)
    return {"per_s": round(total / sum(latencies), 1), **percentiles(latencies)}


def count_versions(db: Path, prefix: str) -> dict[str, int]:
    """Reads the store's own table to check that every acknowledged version exists exactly once."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT name || '/' || version) FROM model_versions WHERE name LIKE ?",
            [f"{prefix}-%"],
        ).fetchone()
    return {"versions_in_store": rows, "distinct_versions": distinct}


def seed(client: Any, wanted: int, budget_s: float = SEED_BUDGET_S) -> dict[str, Any]:
    """Registers MODELS models and up to `wanted` versions round-robin; the seeding rate is the sequential figure."""
    model_latencies: list[float] = []
    for m in range(MODELS):
        started = time.perf_counter()
        client.create_registered_model(f"m-{m}", tags={"team": "risk" if m % 2 == 0 else "ads"})
        model_latencies.append(time.perf_counter() - started)
    latencies: list[float] = []
    target = wanted
    capped = False
    for i in range(wanted):
        if i == SEED_PROBE:
            projected = sum(latencies) / SEED_PROBE * wanted
            if projected > budget_s:
                # Whole rounds over the models keep every model at the same version count.
                target = max(SEED_PROBE, int(budget_s / projected * wanted) // MODELS * MODELS)
                capped = True
        if i >= target:
            break
        number = i // MODELS + 1
        started = time.perf_counter()
        client.create_model_version(
            f"m-{i % MODELS}", f"s3://bucket/m-{i % MODELS}/{number}", tags=version_tags(number)
        )
        latencies.append(time.perf_counter() - started)
    return {
        "models": MODELS,
        "versions": len(latencies),
        "wanted": wanted,
        "capped": capped,
        "seconds": round(sum(latencies) + sum(model_latencies), 1),
        "create_registered_model": percentiles(model_latencies),
        "create_model_version": {"per_s": round(len(latencies) / sum(latencies), 1), **percentiles(latencies)},
    }


def reads_and_writes(client: Any, versions_per_model: int, rng: random.Random) -> dict[str, Any]:
    """Point reads, the two filters, and the lifecycle writes (alias, stage) over the seeded registry."""

    def pick() -> tuple[str, str]:
        return f"m-{rng.randrange(MODELS)}", str(rng.randrange(1, versions_per_model + 1))

    timed(lambda: client.get_model_version(*pick()), 50)  # warm the store's connection pool and page cache
    result: dict[str, Any] = {
        "get_model_version": percentiles(timed(lambda: client.get_model_version(*pick()), READ_SAMPLES)),
        "search_name": {
            "filter": NAME_FILTER,
            "max_results": PAGE,
            **percentiles(timed(lambda: client.search_model_versions(NAME_FILTER, max_results=PAGE), SEARCH_SAMPLES)),
        },
        "search_tag": {
            "filter": TAG_FILTER,
            "max_results": PAGE,
            **percentiles(
                timed(lambda: client.search_model_versions(TAG_FILTER, max_results=PAGE), TAG_SEARCH_SAMPLES)
            ),
        },
    }
    aliased: list[str] = []

    def set_alias() -> None:
        name, version = pick()
        client.set_registered_model_alias(name, "champion", version)
        aliased.append(name)

    result["set_alias"] = percentiles(timed(set_alias, WRITE_SAMPLES))
    result["get_by_alias"] = percentiles(
        timed(lambda: client.get_model_version_by_alias(rng.choice(aliased), "champion"), WRITE_SAMPLES)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stages are deprecated in MLflow 3 and warn on every call
        result["transition_stage"] = percentiles(
            timed(lambda: client.transition_model_version_stage(*pick(), stage="Staging"), WRITE_SAMPLES)
        )
    return result


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_server(db: Path, log: Path) -> Iterator[tuple[str, float]]:
    """`mlflow server` on loopback over the seeded SQLite file."""
    port = free_port()
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # no background job consumers stealing cores
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(SERVER_WORKERS)]  # fmt: skip
    with open(log, "wb") as sink:
        started = time.perf_counter()
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {server.returncode} before serving")
            if time.perf_counter() - started > 90:
                raise RuntimeError("mlflow server was not serving after 90 s")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield url, time.perf_counter() - started
    finally:
        # The server forks its workers into its own session; ending that group ends exactly what was started here.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def rest(db: Path, workdir: Path, versions_per_model: int) -> dict[str, Any]:
    import requests
    from mlflow import MlflowClient

    with local_server(db, workdir / "mlflow-server.log") as (url, start_s):
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        session = requests.Session()  # keep-alive, as the MLflow client's own session does
        floor = timed(lambda: session.get(f"{url}/health", timeout=10).raise_for_status(), READ_SAMPLES)
        result: dict[str, Any] = {
            "server": f"mlflow server, uvicorn, {SERVER_WORKERS} worker, sqlite backend, 127.0.0.1",
            "start_s": round(start_s, 2),
            "health_floor": percentiles(floor),
            **reads_and_writes(client, versions_per_model, random.Random(11)),
            "create_model_version_sequential": sequential_registration(
                client, "rest-seq", SEQUENTIAL_REST_REGISTRATIONS
            ),
            "create_model_version_concurrent": concurrent_registration(client, "rest-reg", CONCURRENT_REGISTRATIONS),
        }
    result["create_model_version_concurrent"].update(count_versions(db, "rest-reg"))
    return result


def facade(url: str, wanted: int) -> dict[str, Any]:
    """The same client calls against studbook's MLflow endpoint (token in MLFLOW_TRACKING_TOKEN),
    seeded through it to the size of MLflow's own registry above."""
    import requests
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    session = requests.Session()
    floor = timed(lambda: session.get(f"{url}/health", timeout=10).raise_for_status(), READ_SAMPLES)
    seeded = seed(client, wanted, FACADE_SEED_BUDGET_S)
    return {
        "server": "studbook daemon, MLflow endpoint (aiohttp on its event loop), DuckDB catalog, 127.0.0.1",
        "health_floor": percentiles(floor),
        "seed": seeded,
        **reads_and_writes(client, seeded["versions"] // MODELS, random.Random(13)),
        "create_model_version_sequential": sequential_registration(client, "facade-seq", SEQUENTIAL_REST_REGISTRATIONS),
        "create_model_version_concurrent": concurrent_registration(client, "facade-reg", CONCURRENT_REGISTRATIONS),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--rest", action="store_true", help="also measure a local `mlflow server`")
    parser.add_argument("--facade", metavar="URL", help="also measure studbook's MLflow endpoint at URL")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # MLflow logs schema migrations at INFO; stdout must stay one JSON object
    # SIGTERM (the caller's timeout) unwinds like an exception, so local_server's cleanup still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()

    import mlflow
    import sqlalchemy
    from mlflow import MlflowClient

    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {
        "mlflow": mlflow.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
    }

    contended_db = workdir / "contended.db"
    contended = MlflowClient(tracking_uri=f"sqlite:///{contended_db}", registry_uri=f"sqlite:///{contended_db}")
    figures["store"] = type(contended._get_registry_client().store).__name__
    figures["concurrent"] = concurrent_registration(contended, "reg", CONCURRENT_REGISTRATIONS)
    figures["concurrent"].update(count_versions(contended_db, "reg"))

    db = workdir / "registry.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{db}", registry_uri=f"sqlite:///{db}")
    figures["seed"] = seed(client, args.versions)
    versions_per_model = figures["seed"]["versions"] // MODELS
    figures.update(reads_and_writes(client, versions_per_model, random.Random(7)))

    if args.rest:
        try:
            figures["rest"] = rest(db, workdir, versions_per_model)
        except Exception as exc:  # the in-process figures stand on their own
            figures["rest"] = {"skipped": error_kind(exc)}
    else:
        figures["rest"] = {"skipped": "server extras not installed"}
    if args.facade:
        try:
            figures["facade"] = facade(args.facade, figures["seed"]["versions"])
        except Exception as exc:  # MLflow's own figures stand on their own
            figures["facade"] = {"skipped": error_kind(exc)}
    figures["seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
