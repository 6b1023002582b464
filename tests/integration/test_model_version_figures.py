"""A model's version count and newest number, as a client reads them, agree with its versions
after every path that changes them, on both backends, and again after a restart: a daemon
starts from the figures the catalog keeps on each model's row, not from counting versions."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import grpc
import pytest
from conftest import Daemon, start_daemon, stop_daemon
from studbook.daemon.store import migrations
from studbook.daemon.store.catalog import Catalog
from studbook.daemon.store.postgres import migrate as pg
from studbook.v1 import registry_pb2, resources_pb2
from support.cli import Result, run_studbook, runner
from support.postgres import PostgresDatabase
from support.rpc import Stubs, register, stubs
from support.waiting import wait_for

# `fig-gc` keeps its newest version: gc purges the others at once.
POLICY = """
[[models]]
pattern = "fig-gc"
[models.retention]
keep_last = 1
purge_after = "0s"
"""


@dataclass
class Registry:
    """A daemon on one backend, restartable on the same catalog with the same flags."""

    args: tuple[str, ...]
    data_dir: Path
    socket: Path
    drops: Path
    daemon: Daemon
    channel: grpc.Channel
    api: Stubs

    def restart(self) -> None:
        self.channel.close()
        stop_daemon(self.daemon)
        self.daemon = start_daemon(self.data_dir, self.socket, *self.args)
        self.channel = self.daemon.channel()
        self.api = stubs(self.channel)


@pytest.fixture(params=["duckdb", "postgres"])
def registry(request: pytest.FixtureRequest, short_dir: Path) -> Iterator[Registry]:
    (short_dir / "policy.toml").write_text(POLICY)
    drops = short_dir / "drops"
    (drops / "fig-drop").mkdir(parents=True)  # watched from the start, so a unit renamed in is seen
    args: tuple[str, ...] = ("--policy", str(short_dir / "policy.toml"), "--gc-grace", "0", "--watch", str(drops),
                             "--quiet-seconds", "0.3", "--config", str(short_dir / "none.toml"))  # fmt: skip
    if request.param == "postgres":
        args += ("--catalog", request.getfixturevalue("postgres_catalog").url)
    daemon = start_daemon(short_dir / "data", short_dir / "s.sock", *args)
    channel = daemon.channel()
    started = Registry(args, short_dir / "data", short_dir / "s.sock", drops, daemon, channel, stubs(channel))
    yield started
    started.channel.close()
    stop_daemon(started.daemon)


def figures(api: Stubs) -> dict[str, tuple[int, int]]:
    """Each model's (version count, newest number) as GetModel answers them."""
    listed = api.models.ListModels(registry_pb2.ListModelsRequest(page_size=1000, show_archived=True)).models
    return {m.name.rsplit("/", 1)[1]: (m.version_count, m.latest_version) for m in listed}


def counted(api: Stubs, model: str) -> tuple[int, int]:
    """(how many versions, the highest number) from the model's versions themselves."""
    versions = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent=f"models/{model}", page_size=1000, show_archived=True)).versions  # fmt: skip
    numbers = [int(v.name.rsplit("/", 1)[1]) for v in versions]
    return len(numbers), max(numbers, default=0)


def assert_agree(registry: Registry, expected: dict[str, tuple[int, int]]) -> None:
    """The figures agree with the versions, as served now and after a restart (which reads the
    figures the catalog stored), and are the ones the path should have left."""
    served = figures(registry.api)
    assert served == {model: counted(registry.api, model) for model in served}
    assert served == expected
    registry.restart()
    assert figures(registry.api) == served


def item(model: str, request_id: str) -> registry_pb2.RegisterModelVersionRequest:
    return registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}", request_id=request_id,
        version=resources_pb2.ModelVersion(storage_uri=f"s3://bucket/{model}/{request_id}"),
    )  # fmt: skip


def test_every_path_that_changes_a_models_versions_keeps_its_figures_equal_to_them(
    registry: Registry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for _ in range(3):
        register(registry.api, "fig-a")
    assert_agree(registry, {"fig-a": (3, 3)})

    results = registry.api.versions.RegisterModelVersions(registry_pb2.RegisterModelVersionsRequest(requests=[
        item("fig-a", "a4"), item("fig-b", "b1"), item("fig-a", "a5"), item("fig-b", "b2"),
        item("fig-b", "b1"),  # a retry of b1: the same version, not a new one
    ])).results  # fmt: skip
    assert all(r.HasField("registered") for r in results)
    assert_agree(registry, {"fig-a": (5, 5), "fig-b": (2, 2)})

    (tmp_path / "unit").mkdir()
    (tmp_path / "unit" / "weights.bin").write_bytes(b"w" * 2000)
    os.rename(tmp_path / "unit", registry.drops / "fig-drop" / "1")
    wait_for(lambda: figures(registry.api).get("fig-drop") == (1, 1), "the drop-in registered")
    assert_agree(registry, {"fig-a": (5, 5), "fig-b": (2, 2), "fig-drop": (1, 1)})

    for _ in range(3):
        register(registry.api, "fig-gc")
    studbook: Callable[..., Result] = runner(registry.daemon.address, capsys)
    gc = studbook("gc")
    assert gc.code == 0, gc.err
    assert_agree(registry, {"fig-a": (5, 5), "fig-b": (2, 2), "fig-drop": (1, 1), "fig-gc": (1, 3)})

    registry.api.models.RenameModel(registry_pb2.RenameModelRequest(name="models/fig-b", new_model_id="fig-c"))
    register(registry.api, "fig-c")
    assert_agree(registry, {"fig-a": (5, 5), "fig-c": (3, 3), "fig-drop": (1, 1), "fig-gc": (1, 3)})

    registry.api.models.DeleteModel(registry_pb2.DeleteModelRequest(name="models/fig-a", force=True))
    register(registry.api, "fig-a")  # the name again: a new model, counted from nothing
    assert_agree(registry, {"fig-a": (1, 1), "fig-c": (3, 3), "fig-drop": (1, 1), "fig-gc": (1, 3)})


def test_a_catalog_copied_to_postgresql_and_a_restored_backup_keep_the_figures(
    short_dir: Path, tmp_path: Path, postgres_catalog: PostgresDatabase
) -> None:
    daemon = start_daemon(short_dir / "a", short_dir / "a.sock")
    try:
        with daemon.channel() as channel:
            api = stubs(channel)
            for model, count in (("fig-a", 3), ("fig-b", 1)):
                for _ in range(count):
                    register(api, model)
            before = figures(api)
            backup = run_studbook("--address", daemon.address, "backup", str(tmp_path / "bk"))
            assert backup.code == 0, backup.err
    finally:
        stop_daemon(daemon)
    assert before == {"fig-a": (3, 3), "fig-b": (1, 1)}

    copied = subprocess.run(
        [sys.executable, "-m", "studbook.daemon.catalog_copy", "--from", str(short_dir / "a"),
         "--to", postgres_catalog.url], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    restored = run_studbook("restore", str(tmp_path / "bk"), "--data-dir", str(short_dir / "r"))
    assert restored.code == 0, restored.err
    for data_dir, extra in ((short_dir / "p", ("--catalog", postgres_catalog.url)), (short_dir / "r", ())):
        served = start_daemon(data_dir, short_dir / "b.sock", *extra)
        try:
            with served.channel() as channel:
                api = stubs(channel)
                assert figures(api) == before
                register(api, "fig-a")
                assert figures(api)["fig-a"] == counted(api, "fig-a") == (4, 4)
        finally:
            stop_daemon(served)


# Models of a catalog written before the figures were kept: numbers with gaps (purged
# versions), a model with none, a version whose model row is gone.
EARLIER = {"gaps": [1, 2, 5, 9], "one": [1], "none": [], "-": [3]}


def test_migration_13_fills_the_figures_of_a_catalog_written_before_them(
    tmp_path: Path, postgres_empty: PostgresDatabase
) -> None:
    model = ("INSERT INTO models (name, stages, create_time, update_time, revision) "
             "VALUES ({0}, '[]', now(), now(), 1)")  # fmt: skip
    version = ("INSERT INTO versions (model, number, semver, semver_key, change_kind, status, create_time, "
               "update_time, revision) VALUES ({0}, {0}, '1.0.0', 0, 'initial', 'ready', now(), now(), 1)")  # fmt: skip
    models = [name for name in EARLIER if name != "-"]
    versions = [(name, number) for name, numbers in EARLIER.items() for number in numbers]
    expected = {"gaps": (4, 9), "one": (1, 1), "none": (0, 0)}
    read = "SELECT name, version_count, latest_version FROM models ORDER BY name"

    old = duckdb_at_12(tmp_path / "old.duckdb")
    old.executemany(model.format("?"), [[name] for name in models])
    old.executemany(version.format("?"), versions)
    old.close()
    upgraded = Catalog(tmp_path / "old.duckdb")
    try:
        on_duckdb = {name: (count, latest) for name, count, latest in upgraded.query(read)}
    finally:
        upgraded.close()
    with postgres_empty.connect() as conn:
        for migration in pg.MIGRATIONS[:12]:
            conn.execute(migration.sql)
        conn.execute("INSERT INTO meta VALUES ('schema_version', '12')")
        conn.cursor().executemany(model.format("%s"), [[name] for name in models])
        conn.cursor().executemany(version.format("%s"), versions)
        assert pg.migrate(conn) == 12
        on_postgres = {name: (count, latest) for name, count, latest in conn.execute(read).fetchall()}

    assert on_duckdb == on_postgres == expected


def duckdb_at_12(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    for migration in migrations.load("duckdb")[:12]:
        conn.execute(migration.sql)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '12')")
    return conn
