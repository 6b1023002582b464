"""GetModelVersion on a daemon whose catalog is in PostgreSQL, beside its gRPC health Check floor.

A durable throwaway server holds a catalog seeded as the embedded bench's (100 models of 1,000
versions, 10 metrics each); one daemon serves it. Three figures, p50/p99: the health Check (the
floor: a gRPC round trip that touches no catalog), GetModelVersion of a version the daemon read
before (its cache), and of one it never read (a query to PostgreSQL).

`python -m tests.bench.pgreads` runs it alone. Prints, never asserts.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.v1 import registry_pb2, registry_pb2_grpc

from tests.bench.pgseed import SERVER_SETTINGS, seed_postgres
from tests.bench.timing import percentiles, timed
from tests.conftest import start_daemon, stop_daemon
from tests.support.postgres import start_postgres, stop_postgres

MODELS = 100
VERSIONS_PER_MODEL = 1_000
SAMPLES = 2_000


def bench_pg_reads(root: Path) -> dict[str, tuple[float, float]]:
    """(p50, p99) ms of the health Check and GetModelVersion cached and first read."""
    server = start_postgres(durable=True, settings=SERVER_SETTINGS)
    try:
        database = server.create_database()
        seed_postgres(database.url, models=MODELS, versions_per_model=VERSIONS_PER_MODEL, metrics_per_version=10)
        data = root / "pg-reads"
        data.mkdir()
        daemon = start_daemon(data, root / "pg-reads.sock", "--catalog", database.url)
        try:
            return _measure(daemon.channel())
        finally:
            stop_daemon(daemon)
    finally:
        stop_postgres(server)


def _measure(channel: object) -> dict[str, tuple[float, float]]:
    rng = random.Random(7)
    with channel:  # type: ignore[attr-defined]
        health = health_pb2_grpc.HealthStub(channel)
        versions = registry_pb2_grpc.VersionServiceStub(channel)
        floor = timed(lambda: health.Check(health_pb2.HealthCheckRequest()), SAMPLES)
        # Distinct versions, so that each is a first read (the cache cannot have it).
        unread = rng.sample(range(MODELS * VERSIONS_PER_MODEL), SAMPLES // 2)
        names = [f"models/model-{i // VERSIONS_PER_MODEL}/versions/{i % VERSIONS_PER_MODEL + 1}" for i in unread]
        first = timed(lambda: versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=names.pop())),
                      SAMPLES // 2)  # fmt: skip
        # Versions of 10 models far from the ones read above, each read once before it is timed.
        hot = [f"models/model-{m}/versions/{n}" for m in range(10) for n in range(1, 50)]
        for name in hot:
            versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name))
        picks = [rng.choice(hot) for _ in range(SAMPLES)]
        cached = timed(lambda: versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=picks.pop())),
                       SAMPLES)  # fmt: skip
    return {"floor": percentiles(floor), "cached": percentiles(cached), "first": percentiles(first)}


def print_pg_reads(figures: dict[str, tuple[float, float]]) -> None:
    floor = figures["floor"][0]
    print(f"reads on a PostgreSQL catalog, {MODELS * VERSIONS_PER_MODEL:,} versions")
    for key, label in (("floor", "gRPC health Check (floor)"), ("cached", "GetModelVersion, cached"),
                       ("first", "GetModelVersion, first read (PostgreSQL)")):  # fmt: skip
        p50, p99 = figures[key]
        ratio = "" if key == "floor" else f"   ({p50 / floor:4.2f}x floor)"
        print(f"  {label:<44} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms{ratio}")


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="sb-pgreads-"))
    try:
        print_pg_reads(bench_pg_reads(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
