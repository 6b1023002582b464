"""metric_summary re-clustered by key while writes and searches race it, through a real daemon.

The daemon is told to re-cluster from a few dozen rows on and to check after every commit, so
several re-clusters land in the middle of registrations, metric updates and searches. Every
search must answer as if nothing moved: each version acknowledged before it started, with its
latest metrics, no duplicate, none that does not match; the catalog file must end with every
acknowledged row once, the clustered rows in key order.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from bench.seed import seed_catalog
from studbook.daemon.store import cluster
from studbook.daemon.store.catalog import Catalog
from studbook.v1 import registry_pb2, resources_pb2
from support.rpc import register, stubs

KEYS = ("auc", "loss", "f1")
WRITERS = 3
VERSIONS_PER_WRITER = 40
FILTER, ORDER = "metrics.auc > 0.5", "metrics.auc desc"


def metrics(values: dict[str, float]) -> list[resources_pb2.Metric]:
    return [resources_pb2.Metric(key=key, value=value) for key, value in values.items()]


@pytest.fixture
def clustering_daemon(daemon_factory, short_dir: Path):  # type: ignore[no-untyped-def]
    config = short_dir / "config.toml"
    config.write_text("[daemon]\ncluster_min_rows = 30\ncluster_check_seconds = 0\n")
    return daemon_factory("--config", str(config))


def number(version: resources_pb2.ModelVersion) -> int:
    return int(version.name.rsplit("/", 1)[1])


def search(api, model: str) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    found: list[tuple[int, float]] = []
    token = ""
    while True:
        page = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
            parent=f"models/{model}", filter=FILTER, order_by=ORDER, page_size=50, page_token=token))  # fmt: skip
        found += [(number(v), next(m.value for m in v.metrics if m.key == "auc"))
                  for v in page.versions]  # fmt: skip
        token = page.next_page_token
        if not token:
            return found


def test_writes_and_searches_racing_re_clusters_answer_as_without_them(clustering_daemon, model_id):
    daemon = clustering_daemon
    # number -> latest auc, of versions whose write was acknowledged; under `lock`.
    acknowledged: dict[int, float] = {}
    # Versions whose metrics were logged again, and those whose LogMetrics is not yet answered.
    # A search may show either value of a version re-logged while it runs; one whose LogMetrics
    # was answered before the search began must show the new value.
    relogged: set[int] = set()
    unanswered: set[int] = set()
    lock = threading.Lock()
    failures: list[str] = []
    writing = threading.Event()
    writing.set()
    with daemon.channel() as channel:  # the model exists before the first search
        first = register(
            stubs(channel), model_id, storage_uri="s3://b/first", metrics=metrics(dict.fromkeys(KEYS, 0.9))
        )
    acknowledged[number(first)] = 0.9

    def write(seed: int) -> None:
        rng = random.Random(seed)
        with daemon.channel() as channel:
            api = stubs(channel)
            for _ in range(VERSIONS_PER_WRITER):
                values = {key: rng.random() for key in KEYS}
                version = register(api, model_id, storage_uri=f"s3://b/{rng.random()}", metrics=metrics(values))
                with lock:
                    acknowledged[number(version)] = values["auc"]
                if rng.random() < 0.5:
                    # A metric logged again replaces the version's row: what the swap carries over.
                    again = {"auc": rng.random()}
                    with lock:
                        relogged.add(number(version))
                        unanswered.add(number(version))
                    api.versions.LogMetrics(registry_pb2.LogMetricsRequest(name=version.name, metrics=metrics(again)))
                    with lock:
                        acknowledged[number(version)] = again["auc"]
                        unanswered.discard(number(version))

    def read() -> None:
        with daemon.channel() as channel:
            api = stubs(channel)
            while writing.is_set():
                with lock:
                    before, relogged_before, in_flight = dict(acknowledged), set(relogged), set(unanswered)
                found = search(api, model_id)
                with lock:
                    settled = set(before) - in_flight - (relogged - relogged_before)
                numbers = [n for n, _ in found]
                if len(set(numbers)) != len(numbers):
                    failures.append(f"duplicates in {numbers}")
                shown = [(n, auc) for n, auc in found if n in settled]
                if any(auc != before[n] for n, auc in shown):
                    failures.append(f"stale metrics: {[(n, auc, before[n]) for n, auc in shown if auc != before[n]]}")
                if [auc for _, auc in shown] != sorted((auc for _, auc in shown), reverse=True):
                    failures.append(f"not sorted: {shown}")
                wanted = {n for n in settled if before[n] > 0.5}
                if {n for n, _ in shown} != wanted:
                    failures.append(f"wrong versions: {sorted({n for n, _ in shown} ^ wanted)}")

    writers = [threading.Thread(target=write, args=(seed,)) for seed in range(WRITERS)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    for thread in readers:
        thread.join()

    assert failures == [], "\n".join(failures[:3])
    with daemon.channel() as channel:
        final = search(stubs(channel), model_id)
    expected = sorted(((n, auc) for n, auc in acknowledged.items() if auc > 0.5), key=lambda p: -p[1])
    assert sorted(final) == sorted(expected)
    assert daemon.output().count("re-clustering metric_summary") >= 2
    assert "writes carried over" in daemon.output()  # at least one swap replaced models written meanwhile

    # One last write large enough to be due alone, with nothing written after it: the
    # re-cluster it starts leaves the whole table in key order.
    extra = {f"z{i:02}": float(i) for i in range(50)}
    with daemon.channel() as channel:
        register(stubs(channel), model_id, storage_uri="s3://b/last", metrics=metrics(extra))
    total = (WRITERS * VERSIONS_PER_WRITER + 1) * len(KEYS) + len(extra)
    started = f"re-clustering metric_summary by key ({total} rows"
    # Until it is swapped in: a stop gives a build under way up (see the last test below).
    wait_for(lambda: "metric_summary re-clustered" in daemon.output().partition(started)[2])
    daemon.kill(15)
    catalog = duckdb.connect(str(daemon.data_dir / "catalog.duckdb"), read_only=True)
    try:
        rows = catalog.execute("SELECT number, key, value FROM metric_summary WHERE model = ?", [model_id]).fetchall()
        clustered = int(catalog.execute("SELECT value FROM meta WHERE key = 'metric_summary_clustered_rows'")
                        .fetchall()[0][0])  # fmt: skip
        keys = [row[0] for row in catalog.execute("SELECT key FROM metric_summary").fetchall()]
    finally:
        catalog.close()
    assert len(rows) == len({(n, k) for n, k, _ in rows}) == total
    assert {n: v for n, k, v in rows if k == "auc"} == acknowledged
    assert clustered == total
    assert keys == sorted(keys)


def wait_for(condition: Callable[[], bool], attempts: int = 600) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the daemon never re-clustered metric_summary")


def test_a_catalog_found_unsorted_at_start_up_is_re_clustered_with_nothing_written(daemon_factory, short_dir: Path):
    data = short_dir / "data"
    data.mkdir()
    seed_catalog(data / "catalog.duckdb", models=1, versions_per_model=20, metrics_per_version=5)
    config = short_dir / "config.toml"
    config.write_text("[daemon]\ncluster_min_rows = 30\ncluster_check_seconds = 0\n")
    daemon = daemon_factory("--config", str(config))
    with daemon.channel() as channel:
        api = stubs(channel)
        before = search(api, "model-0")  # whether before the re-cluster or after, the same answer
        wait_for(lambda: "metric_summary re-clustered" in daemon.output())
        assert search(api, "model-0") == before
    daemon.kill(15)
    catalog = duckdb.connect(str(data / "catalog.duckdb"), read_only=True)
    try:
        keys = [row[0] for row in catalog.execute("SELECT key FROM metric_summary").fetchall()]
        events = catalog.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        catalog.close()
    assert len(keys) == 100
    assert keys == sorted(keys)
    assert events == 20  # the seed's: re-clustering records nothing


def test_a_build_given_up_because_the_daemon_stops_leaves_the_catalog_as_it_was(short_dir: Path):
    path = short_dir / "catalog.duckdb"
    seed_catalog(path, models=1, versions_per_model=20, metrics_per_version=5)
    catalog = Catalog(path, evict_after_s=None)
    try:
        rows = "SELECT key, model, number, value FROM metric_summary"
        before = catalog.query(rows)
        answers = iter([False, True])  # the first key is copied, then the daemon is stopping
        with pytest.raises(cluster.Abandoned):
            catalog.build_clustered_metrics(lambda: next(answers))

        assert catalog.query(rows) == before
        assert catalog.query("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [cluster.BUILDING]) == [(0,)]
        assert catalog.metric_tail() == (100, 0)
    finally:
        catalog.close()
