"""`python -m tests.bench.pg_probe`: the two catalog engines side by side in one run, on the same
migrated schema and the same rows. A point select of one version and a one-row commit of an event,
through psycopg to PostgreSQL on a loopback port and through DuckDB to a file. Both keep every
commit durable (PostgreSQL here flushes each one as a production server does). Prints, never asserts.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from studbook.daemon.store.catalog import Catalog

from tests.bench.timing import percentiles, timed
from tests.support.postgres import prepare_template, start_postgres, stop_postgres

POINT = "SELECT semver, status, tags FROM versions WHERE model = {0} AND number = {0}"
EVENT = "INSERT INTO events (revision, time, type, subject) VALUES ({0}, now(), 'probe', 'models/m')"
# Rows both engines start from: what one model per hundred versions looks like.
SEED = (
    "INSERT INTO versions (model, number, semver, semver_key, change_kind, status, create_time, update_time, "
    "revision) SELECT 'model-' || (i % {models}), i, '1.0.0', 0, 'initial', 'ready', now(), now(), i FROM {series}"
)


def probe(versions: int, samples: int) -> dict[str, tuple[float, float]]:
    """(p50, p99) in ms of each engine's point select and one-row commit."""
    rng = random.Random(7)
    keys = [(f"model-{n % max(1, versions // 100)}", n) for n in (rng.randrange(versions) for _ in range(samples))]
    folder = Path(tempfile.mkdtemp(prefix="sb-pg-probe-"))
    server = start_postgres(durable=True)
    try:
        Catalog(folder / "catalog.duckdb").close()  # migrated as the daemon migrates it
        duck = duckdb.connect(str(folder / "catalog.duckdb"))
        duck.execute(SEED.format(models=max(1, versions // 100), series=f"range({versions}) t(i)"))
        duck.execute("CHECKPOINT")
        template = prepare_template(server)
        with server.connect(template) as pg:
            pg.execute(SEED.format(models=max(1, versions // 100), series=f"generate_series(0, {versions - 1}) i"))
            pg.execute("VACUUM ANALYZE versions")

            results = {
                "duckdb point select": _point(lambda k: duck.execute(POINT.format("?"), k).fetchall(), keys),
                "postgresql point select": _point(lambda k: pg.execute(POINT.format("%s"), k).fetchall(), keys),
                "duckdb one-row commit": _commits(duck.execute, "?", samples // 4),
                "postgresql one-row commit": _commits(pg.execute, "%s", samples // 4),
            }
        duck.close()
        return results
    finally:
        stop_postgres(server)
        shutil.rmtree(folder, ignore_errors=True)


def _point(select: Callable[[Any], object], keys: list[tuple[str, int]]) -> tuple[float, float]:
    for key in keys[:50]:  # warm caches and psycopg's prepared statement
        select(key)
    pending = list(keys)
    return percentiles(timed(lambda: select(pending.pop()), len(keys)))


def _commits(execute: Callable[..., object], placeholder: str, count: int) -> tuple[float, float]:
    revisions = iter(range(1, count + 1))

    def commit() -> None:
        execute("BEGIN")
        execute(EVENT.format(placeholder), [next(revisions)])
        execute("COMMIT")

    return percentiles(timed(commit, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=2_000)
    args = parser.parse_args()
    print(f"catalog engines side by side: {args.versions:,} versions, {args.samples:,} samples")
    for label, (p50, p99) in probe(args.versions, args.samples).items():
        print(f"  {label:<28} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")


if __name__ == "__main__":
    main()
