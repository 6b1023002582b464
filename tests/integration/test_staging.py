"""Rows a DuckDB commit stages (store/staging.py) are there for everyone as if they had been
written into their tables: every read, every later write, a backup, a catalog copy, and a
daemon started again after a kill -9 see them, and the models' figures count them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import start_daemon, stop_daemon
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from studbook.daemon.domain.audit import GENESIS, chain_hash
from studbook.daemon.domain.model import Event, Metric, Model, ModelVersion
from studbook.daemon.store import engine, staging
from studbook.daemon.store.catalog import Catalog
from studbook.daemon.store.interface import StoreTransaction
from studbook.v1 import registry_pb2
from support import values
from support.rpc import register, stubs
from support.stores import write

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MODELS = ("fraud", "churn")


def version(model: str, number: int) -> ModelVersion:
    return ModelVersion(model=model, number=number, semver=f"1.{number}.0", storage_uri=f"s3://b/{model}/{number}",
                        create_time=T0,
                        update_time=T0, revision=number, metrics=[Metric("auc", number / 100, time=T0)])  # fmt: skip


def add_versions(tx: StoreTransaction, versions: list[ModelVersion]) -> None:
    """What a registration writes of a version: its row, its metrics and their summary."""
    for added in versions:
        tx.insert_version(added)
        tx.insert_metrics(added.model, added.number, added.metrics, added.metrics, replace_summary=False)


def copy(source: Path, destination: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studbook.daemon.catalog_copy", "--from", str(source), "--to",
                           str(destination)], capture_output=True, text=True, timeout=300)  # fmt: skip


def staged(path: Path) -> int:
    """The commits staged in a catalog file no process has open."""
    with duckdb.connect(str(path), read_only=True) as conn:
        return int(conn.execute(f"SELECT count(DISTINCT seq) FROM {staging.TABLE}").fetchall()[0][0])


def staged_in(catalog: Catalog) -> int:
    """The commits staged in an open catalog, looked at without settling them."""
    cursor = engine.cursor(catalog._conn)
    try:
        return int(cursor.execute(f"SELECT count(DISTINCT seq) FROM {staging.TABLE}").fetchall()[0][0])
    finally:
        cursor.close()


class StagedCatalog(RuleBasedStateMachine):
    """Commits, reads, writes that change staged rows, rollbacks, clean and abrupt reopenings in
    any order: after each step the catalog answers exactly what was committed."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="staged-"))
        self.path = self.folder / "catalog.duckdb"
        self.catalog = Catalog(self.path, evict_after_s=None)
        self.uris: dict[tuple[str, int], str] = {}
        self.commits = 0
        # The events of registrations recorded as the daemon records them, which go to the
        # journal (store/journal.py): their revisions and the chain's head.
        self.revision, self.head = 0, GENESIS

    @initialize()
    def models(self) -> None:
        self.write(lambda tx: [tx.insert_model(Model(name=m, create_time=T0, update_time=T0), "") for m in MODELS])

    def write(self, operation: Callable[[StoreTransaction], object]) -> None:
        write(self.catalog, operation)
        self.commits += 1

    @rule(model=st.sampled_from(MODELS), count=st.integers(1, 5) | st.just(staging.MOST_STAGED_ROWS + 1))
    def register(self, model: str, count: int) -> None:
        """A few versions are staged; more than a commit stages go straight into their tables."""
        top = max((n for m, n in self.uris if m == model), default=0)
        added = [version(model, top + i) for i in range(1, count + 1)]
        self.write(lambda tx: add_versions(tx, added))
        self.uris.update({(v.model, v.number): v.storage_uri for v in added})

    @rule(model=st.sampled_from(MODELS), count=st.integers(1, 3))
    def register_recorded(self, model: str, count: int) -> None:
        """Versions with the events that record them: journaled, unless a statement or a settling is due."""
        top = max((n for m, n in self.uris if m == model), default=0)
        added = [version(model, top + i) for i in range(1, count + 1)]
        events = []
        for offset, each in enumerate(added, start=1):
            event = Event(self.revision + offset, T0, "version.created", f"models/{model}/versions/{each.number}",
                          model, "local")  # fmt: skip
            events.append((event, chain_hash(events[-1][1] if events else self.head, event)))
        self.write(lambda tx: (add_versions(tx, added), [tx.insert_event(e, h) for e, h in events]))
        self.uris.update({(v.model, v.number): v.storage_uri for v in added})
        self.revision, self.head = events[-1][0].revision, events[-1][1]

    @rule(data=st.data())
    def move_a_version(self, data: st.DataObject) -> None:
        """A statement, not an insert: it must find the row even if that row is only staged."""
        if not self.uris:
            return
        model, number = data.draw(st.sampled_from(sorted(self.uris)))
        uri = f"s3://moved/{model}/{number}/{self.commits}"
        self.write(lambda tx: tx.set_version_storage_uri(model, number, uri))
        self.uris[(model, number)] = uri

    @rule(model=st.sampled_from(MODELS))
    def register_then_roll_back(self, model: str) -> None:
        """A transaction that settled what was staged, then rolled back, leaves it staged."""
        tx = self.catalog.transaction()
        tx.begin()
        tx.execute("SELECT count(*) FROM versions")
        add_versions(tx, [version(model, 10_000)])
        tx.rollback()

    @rule()
    def reopen(self) -> None:
        self.catalog.close()
        self.catalog = Catalog(self.path, evict_after_s=None)

    @rule()
    def reopen_after_a_crash(self) -> None:
        """The connection goes without the settling a clean close does, as a kill -9 would."""
        self.catalog._conn.close()
        assert self.catalog._staging.journal is not None
        self.catalog._staging.journal.close()
        self.catalog = Catalog(self.path, evict_after_s=None)

    @invariant()
    def reads_see_every_commit(self) -> None:
        found = self.catalog.query("SELECT model, number, storage_uri, vid FROM versions")
        assert {(m, int(n)): uri for m, n, uri, _ in found} == self.uris
        assert len({vid for *_, vid in found}) == len(found)  # every version its own handle
        summary = self.catalog.query("SELECT model, number, value FROM metric_summary")
        assert sorted((m, int(n), v) for m, n, v in summary) == sorted((m, n, n / 100) for m, n in self.uris)
        figures = {m: (int(c), int(t)) for m, c, t in self.catalog.query(
            "SELECT name, version_count, latest_version FROM models")}  # fmt: skip
        for model in MODELS:
            numbers = [n for m, n in self.uris if m == model]
            assert figures[model] == (len(numbers), max(numbers, default=0))
        assert self.catalog.query("SELECT count(*), coalesce(max(revision), 0) FROM events") == [(self.revision,) * 2]
        assert self.catalog.chain_head() == (self.head if self.revision else "")

    def teardown(self) -> None:
        self.catalog.close()
        shutil.rmtree(self.folder, ignore_errors=True)


StagedCatalog.TestCase.settings = settings(max_examples=6, stateful_step_count=30, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
test_staged_rows_read_as_written = StagedCatalog.TestCase


@pytest.fixture
def catalog(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Catalog(tmp_path / "catalog.duckdb", evict_after_s=None)
    write(opened, lambda tx: (tx.insert_model(Model(name="fraud", create_time=T0, update_time=T0), ""),
                              add_versions(tx, [version("fraud", 1)])))  # fmt: skip
    yield opened
    opened.close()


def test_a_registration_is_staged_until_something_reads(catalog: Catalog) -> None:
    assert staged_in(catalog) == 1
    assert catalog.get_version("fraud", 1) is not None
    assert staged_in(catalog) == 0


def read_aside(catalog: Catalog) -> tuple[threading.Thread, list[int]]:
    """A reader on a thread of its own counting the versions, and where its answer goes."""
    answers: list[int] = []
    reader = threading.Thread(target=lambda: answers.append(catalog.query("SELECT count(*) FROM versions")[0][0]))
    reader.start()
    return reader, answers


def test_a_reader_waits_for_a_write_open_in_the_catalog_and_then_sees_it(catalog: Catalog) -> None:
    writing = catalog.transaction()
    writing.begin()
    add_versions(writing, [version("fraud", 2)])
    writing.flush()  # its first statement: it holds the staging lock from here to its commit
    reader, answers = read_aside(catalog)
    reader.join(0.5)
    assert reader.is_alive() and answers == []
    writing.commit()
    reader.join(10)
    assert answers == [2]


def test_a_reader_does_not_wait_for_a_write_that_has_run_no_statement(catalog: Catalog) -> None:
    """Its rows are buffered, so the catalog is as it was: what a reader settles meanwhile is
    settled before the write begins in the catalog (a journaled commit never does)."""
    for number in (2, 3):
        write(catalog, lambda tx, number=number: add_versions(tx, [version("fraud", number)]))
    writing = catalog.transaction()
    writing.begin()
    add_versions(writing, [version("fraud", 4)])
    reader, answers = read_aside(catalog)
    reader.join(10)
    assert answers == [3]
    writing.commit()
    reader, answers = read_aside(catalog)
    reader.join(10)
    assert answers == [4]


def test_a_backup_snapshot_holds_what_is_staged(catalog: Catalog, tmp_path: Path) -> None:
    for number in (2, 3):
        write(catalog, lambda tx, number=number: add_versions(tx, [version("fraud", number)]))

    snapshot = catalog.snapshot_into(tmp_path / "backup.duckdb")

    assert snapshot.versions == 3
    with duckdb.connect(str(tmp_path / "backup.duckdb"), read_only=True) as copy_:
        assert copy_.execute("SELECT count(*) FROM versions").fetchall() == [(3,)]
        assert copy_.execute(f"SELECT count(*) FROM {staging.TABLE}").fetchall() == [(0,)]


def test_many_staged_commits_are_settled_by_the_next_write(catalog: Catalog) -> None:
    for number in range(2, staging.MOST_STAGED_COMMITS + 3):
        write(catalog, lambda tx, number=number: add_versions(tx, [version("fraud", number)]))
    # The commit that found the most staged settled them with its own rows: one is staged since.
    assert staged_in(catalog) == 1
    assert catalog.query("SELECT count(*), max(number) FROM versions") == [(staging.MOST_STAGED_COMMITS + 2,) * 2]


def test_what_a_killed_daemon_left_staged_is_copied_and_served_again(short_dir: Path) -> None:
    data, socket = short_dir / "data", short_dir / "s.sock"
    daemon = start_daemon(data, socket)
    try:
        with daemon.channel() as channel:
            api = stubs(channel)
            answered = [register(api, "fraud", storage_uri=f"s3://b/{i}").name for i in range(12)]
        daemon.kill()
    finally:
        stop_daemon(daemon)
    assert staged(data / "catalog.duckdb") > 0  # the last registrations were answered while staged

    copied = copy(data, short_dir / "copy")
    assert copied.returncode == 0, copied.stderr
    with duckdb.connect(str(short_dir / "copy" / "catalog.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*), max(number) FROM versions").fetchall() == [(12, 12)]
        assert conn.execute("SELECT version_count, latest_version FROM models").fetchall() == [(12, 12)]

    daemon = start_daemon(data, socket)
    try:
        with daemon.channel() as channel:
            api = stubs(channel)
            listed = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
                parent="models/fraud", page_size=100)).versions  # fmt: skip
            assert sorted(v.name for v in listed) == sorted(answered)
            model = api.models.GetModel(registry_pb2.GetModelRequest(name="models/fraud"))
            assert (model.version_count, model.latest_version) == (12, 12)
            assert register(api, "fraud").name == "models/fraud/versions/13"
    finally:
        stop_daemon(daemon)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(description=values.texts(), tags=st.dictionaries(values.texts(), values.texts(), max_size=3),
       value=st.floats(), step=st.none() | st.integers(-(2**63), 2**63 - 1), time=values.AWARE_MOMENTS)  # fmt: skip
def test_staged_values_read_back_exactly(catalog: Catalog, description: str, tags: dict[str, str], value: float,
                                         step: int | None, time: datetime) -> None:  # fmt: skip
    """Text of any kind (quotes, backslashes, NUL), any float and any step go through the staged
    document and its literal unchanged."""
    number = int(catalog.query("SELECT max(number) FROM versions")[0][0]) + 1
    metric = Metric("loss", value, step=step, split="train", time=time)
    written = ModelVersion(model="fraud", number=number, semver=f"1.{number}.0", description=description, tags=tags,
                           metrics=[metric], create_time=T0, update_time=T0, revision=number)  # fmt: skip
    write(catalog, lambda tx: add_versions(tx, [written]))
    assert staged_in(catalog) == 1

    found = catalog.get_version("fraud", number)
    series = catalog.metric_series("fraud", number, "loss", "train")

    assert found is not None and (found.description, found.tags) == (description, tags)
    assert [(m.step, m.time) for m in series] == [(step, time)]
    assert values.same_float(series[0].value, value) and values.same_float(found.metrics[0].value, value)


def test_a_read_through_the_catalog_inside_a_write_sees_what_is_staged(catalog: Catalog) -> None:
    """An operation on the writer's thread may read through the catalog (a cache miss): that read
    goes through its transaction, which sees the version the fixture's commit staged."""
    tx = catalog.transaction()
    tx.begin()
    try:
        found = catalog.get_version("fraud", 1)
    finally:
        tx.rollback()
    assert found is not None and found.storage_uri == "s3://b/fraud/1"
