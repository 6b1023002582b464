"""`studbook catalog copy`: a registry filled through a real daemon moves from its DuckDB file to
PostgreSQL and on to a new data dir, and the daemon there answers as the first one did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import start_daemon, stop_daemon
from studbook.daemon.app.catalog_copy import copy_catalog
from studbook.daemon.domain.errors import FailedPrecondition
from studbook.daemon.store.copy import DuckDBSide
from studbook.daemon.store.postgres.copy_side import PostgresSide
from studbook.v1 import (
    access_pb2,
    access_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    registry_pb2,
    resources_pb2,
    stages_pb2,
)
from support.cli import run_studbook
from support.files import write_tree
from support.postgres import PostgresDatabase
from support.rpc import register, stubs


def copy(source: object, destination: object, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studbook.daemon.catalog_copy", "--from", str(source), "--to", str(destination),
         *extra],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def fill(channel: Any, files: Path) -> None:
    """Models, kept and referenced versions with metrics, lineage, promotions, an alias, a token."""
    api = stubs(channel)
    api.models.CreateModel(registry_pb2.CreateModelRequest(model_id="fraud", model=resources_pb2.Model(
        description="fraud scores", tags={"team": "risk"})))  # fmt: skip
    write_tree(files / "v1", {"model.bin": b"\x00weights\xff" * 100, "config.json": b'{"layers": 3}'})
    api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent="models/fraud", source_path=str(files / "v1"), version=resources_pb2.ModelVersion(
            description="kept", datasets=[resources_pb2.Dataset(name="census", version="2025")])), timeout=60)  # fmt: skip
    second = register(api, "fraud", description="second, with \"quotes\", commas,\nand a newline",
                      tags={"data": "2026-02", "empty": ""}, semver="1.2.0",
                      datasets=[resources_pb2.Dataset(name="census", version="2026")],
                      metrics=[resources_pb2.Metric(key="auc", value=0.9312345678901234)])  # fmt: skip
    api.versions.LogMetrics(registry_pb2.LogMetricsRequest(name=second.name, metrics=[
        resources_pb2.Metric(key="loss", value=v, step=s, split="train") for s, v in ((1, 0.9), (2, 1e-300))]))  # fmt: skip
    register(api, "churn", description="ünïcode ✓", storage_uri="s3://bucket/churn")
    api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=second.name, target="staging", reason="first look"))  # fmt: skip
    api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=second.name, target="production", reason="beats the first"))  # fmt: skip
    api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name="models/fraud/versions/1", target="champion", reason="an alias"))  # fmt: skip
    access_pb2_grpc.AccessServiceStub(channel).CreateToken(
        access_pb2.CreateTokenRequest(display_name="ci", role=access_pb2.ROLE_CONTRIBUTOR)
    )


def answers(channel: Any) -> dict[str, Any]:
    """What a client sees of the registry: models, versions, metric series, stage history, trail."""
    api = stubs(channel)
    found: dict[str, Any] = {}
    for model in ("fraud", "churn"):
        found[model] = api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}"))
        found[f"{model} versions"] = list(api.versions.ListModelVersions(
            registry_pb2.ListModelVersionsRequest(parent=f"models/{model}", order_by="number")).versions)  # fmt: skip
    # Searches that PostgreSQL answers from its derived tag and metric tables (store/keyed.py),
    # which a copy leaves to the destination's triggers.
    for label, filter_text, order_by in (("search", 'metrics.auc > 0.5 AND tags.data = "2026-02"', "metrics.auc desc"),
                                         ("by loss", "metrics:loss", "metrics.loss desc, name")):  # fmt: skip
        page = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
            parent="models/-", filter=filter_text, order_by=order_by))  # fmt: skip
        found[label] = ([version.name for version in page.versions], page.total_size)
    found["loss"] = list(api.versions.ListMetrics(registry_pb2.ListMetricsRequest(
        name="models/fraud/versions/2", key="loss")).metrics)  # fmt: skip
    found["history"] = list(api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(
        model="models/fraud")).changes)  # fmt: skip
    found["tokens"] = [(t.display_name, t.role) for t in access_pb2_grpc.AccessServiceStub(channel).ListTokens(
        access_pb2.ListTokensRequest()).tokens]  # fmt: skip
    verdict = audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditTrail(audit_pb2.VerifyAuditTrailRequest())
    found["audit"] = verdict
    return found


def filled_registry(folder: Path) -> dict[str, Any]:
    """A registry filled through a real daemon in `folder / "a"`, and what it answered, the daemon stopped."""
    daemon = start_daemon(folder / "a", folder / "a.sock")
    try:
        with daemon.channel() as channel:
            fill(channel, folder / "files")
            return answers(channel)
    finally:
        stop_daemon(daemon)


def test_a_registry_moves_from_duckdb_to_postgresql_and_back_and_answers_the_same(
    short_dir: Path, postgres_empty: PostgresDatabase
) -> None:
    before = filled_registry(short_dir)

    there = copy(short_dir / "a", postgres_empty.url, "--json")
    assert there.returncode == 0, there.stderr
    report = json.loads(there.stdout)
    back = copy(postgres_empty.url, short_dir / "b")
    assert back.returncode == 0, back.stderr

    assert report["versions"] == 3 and report["tables"]["versions"] == 3 and report["tables"]["metrics"] >= 3
    assert report["chain_head"] == before["audit"].head and report["revision"] > 0
    assert report["blobs"] == 2
    assert f"copied revision {report['revision']} (3 versions)" in back.stdout
    assert f"head {report['chain_head']}" in back.stdout
    assert f"start it with: studbook serve --data-dir {short_dir / 'b'}" in back.stdout
    # The stored files are not in the catalog: the user is told where they are.
    assert "2 stored file(s)" in back.stdout

    (short_dir / "b" / "blobs").symlink_to(short_dir / "a" / "blobs")
    last = start_daemon(short_dir / "b", short_dir / "b.sock")
    try:
        with last.channel() as channel:
            after = answers(channel)
            # The sequences came along: a new version gets the next number, and reads back whole.
            third = register(stubs(channel), "fraud", description="after the move")
            read = stubs(channel).versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=third.name))
    finally:
        stop_daemon(last)

    assert after == before
    assert after["audit"].intact
    assert before["search"] == before["by loss"] == (["models/fraud/versions/2"], 1)
    assert third.name == "models/fraud/versions/3" and read.description == "after the move"


def test_a_registry_on_postgresql_is_served_by_a_daemon_after_the_copy(
    short_dir: Path, postgres_empty: PostgresDatabase
) -> None:
    before = filled_registry(short_dir)
    assert copy(short_dir / "a", postgres_empty.url).returncode == 0

    served = start_daemon(short_dir / "a", short_dir / "p.sock", "--catalog", postgres_empty.url)
    try:
        with served.channel() as channel:
            after = answers(channel)
    finally:
        stop_daemon(served)

    assert after == before


@pytest.fixture
def registry(short_dir: Path) -> Path:
    """A data dir whose daemon registered one version and stopped."""
    daemon = start_daemon(short_dir / "src", short_dir / "s.sock")
    try:
        with daemon.channel() as channel:
            register(stubs(channel), "fraud", description="one")
    finally:
        stop_daemon(daemon)
    return short_dir / "src"


def test_a_destination_that_holds_a_registry_is_refused_and_left_as_it_was(registry: Path, short_dir: Path) -> None:
    assert copy(registry, short_dir / "dst").returncode == 0
    before = (short_dir / "dst" / "catalog.duckdb").read_bytes()

    again = copy(registry, short_dir / "dst")

    assert again.returncode == 4
    assert "COPY_DESTINATION_NOT_EMPTY" in again.stderr and "already holds a registry" in again.stderr
    assert (short_dir / "dst" / "catalog.duckdb").read_bytes() == before


def test_a_postgresql_destination_that_holds_a_registry_is_refused(
    registry: Path, postgres_empty: PostgresDatabase
) -> None:
    assert copy(registry, postgres_empty.url).returncode == 0

    again = copy(registry, postgres_empty.url)

    assert again.returncode == 4 and "COPY_DESTINATION_NOT_EMPTY" in again.stderr
    with postgres_empty.connect() as conn:
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (1,)


def test_a_data_dir_a_daemon_serves_is_refused_as_a_source(short_dir: Path) -> None:
    daemon = start_daemon(short_dir / "src", short_dir / "s.sock")
    try:
        refused = copy(short_dir / "src", short_dir / "dst")
    finally:
        stop_daemon(daemon)

    assert refused.returncode == 4
    assert f"(pid {daemon.process.pid}) is serving" in refused.stderr and "DATA_DIR_IN_USE" in refused.stderr
    assert not (short_dir / "dst").exists()


def test_a_source_of_another_schema_version_is_refused_with_how_to_upgrade_it(registry: Path, short_dir: Path) -> None:
    with duckdb.connect(str(registry / "catalog.duckdb")) as conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")

    refused = copy(registry, short_dir / "dst")

    assert refused.returncode == 4 and "COPY_SCHEMA_MISMATCH" in refused.stderr
    assert f"studbook serve --data-dir {registry}" in refused.stderr
    assert not (short_dir / "dst" / "catalog.duckdb").exists()


def test_a_missing_source_is_refused(short_dir: Path) -> None:
    refused = copy(short_dir / "nothing", short_dir / "dst")

    assert refused.returncode == 3 and "COPY_SOURCE_NOT_FOUND" in refused.stderr


def test_a_copy_whose_audit_chain_does_not_verify_is_rolled_back(registry: Path, short_dir: Path) -> None:
    # An edited record: the source's chain is broken, so no copy could verify.
    with duckdb.connect(str(registry / "catalog.duckdb")) as conn:
        conn.execute("UPDATE events SET actor = 'mallory' WHERE revision = (SELECT max(revision) FROM events)")

    refused = copy(registry, short_dir / "dst")

    assert refused.returncode == 4 and "COPY_SOURCE_AUDIT_BROKEN" in refused.stderr
    assert not (short_dir / "dst").exists(), "the data dir the copy made is gone again"


def test_the_studbook_command_runs_the_copy_and_prints_json_for_scripts(registry: Path, short_dir: Path) -> None:
    done = run_studbook("catalog", "copy", "--from", str(registry), "--to", str(short_dir / "dst"), "--json")

    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert report["tables"]["versions"] == 1 and report["destination"] == str(short_dir / "dst" / "catalog.duckdb")
    assert report["next_steps"][-1] == f"start it with: studbook serve --data-dir {short_dir / 'dst'}"


def test_the_same_data_dir_on_both_sides_is_refused(registry: Path) -> None:
    done = run_studbook("catalog", "copy", "--from", str(registry), "--to", str(registry / "."))

    assert done.code == 7 and "COPY_SAME_CATALOG" in done.err


def test_a_copy_that_does_not_count_as_its_source_is_rolled_back_in_postgresql(
    registry: Path, postgres_empty: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A destination that loses the rows of one table on the way (as a bug or a faulty disk would).
    loaded = PostgresSide.load

    def losing(self: PostgresSide, table: str, columns: Any, path: Path) -> None:
        if table != "versions":
            loaded(self, table, columns, path)

    monkeypatch.setattr(PostgresSide, "load", losing)

    with pytest.raises(FailedPrecondition) as refused:
        copy_catalog(str(registry), postgres_empty.url)

    assert refused.value.reason == "COPY_MISMATCH" and "versions: 0 rows, not 1" in refused.value.message
    with postgres_empty.connect() as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,), "rolled back"


def test_a_copy_whose_chain_does_not_end_at_the_sources_head_is_rolled_back_and_its_file_removed(
    registry: Path, short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = DuckDBSide.load

    def editing(self: DuckDBSide, table: str, columns: Any, path: Path) -> None:
        loaded(self, table, columns, path)
        if table == "events":
            self.query("UPDATE events SET actor = 'mallory'")

    monkeypatch.setattr(DuckDBSide, "load", editing)

    with pytest.raises(FailedPrecondition) as refused:
        copy_catalog(str(registry), str(short_dir / "dst"))

    assert refused.value.reason == "COPY_AUDIT_MISMATCH" and "does not match its hash" in refused.value.message
    assert not (short_dir / "dst").exists()


def test_from_data_dir_to_data_dir_the_stored_files_come_along_and_the_copy_serves_them(short_dir: Path) -> None:
    before = filled_registry(short_dir)
    # One stored file lost from the source: reported, and the rest still copied.
    lost = sorted((short_dir / "a" / "blobs" / "sha256").rglob("*"))[-1]
    lost.unlink()

    done = copy(short_dir / "a", short_dir / "b", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["blobs"], report["copied_blobs"], report["unavailable_blobs"]) == (2, 1, [lost.name])
    copied = {p.name for p in (short_dir / "b" / "blobs" / "sha256").rglob("*") if p.is_file()}
    source = {p.name for p in (short_dir / "a" / "blobs" / "sha256").rglob("*") if p.is_file()}
    assert copied == source and len(copied) == 1
    last = start_daemon(short_dir / "b", short_dir / "b.sock")
    try:
        with last.channel() as channel:
            assert answers(channel) == before
    finally:
        stop_daemon(last)


def test_a_postgresql_database_without_a_catalog_is_refused_as_a_source(
    postgres_empty: PostgresDatabase, short_dir: Path
) -> None:
    refused = copy(postgres_empty.url, short_dir / "dst")

    assert refused.returncode == 3 and "holds no studbook catalog" in refused.stderr
    assert not (short_dir / "dst").exists()


def test_a_postgresql_source_of_another_schema_version_is_refused_with_how_to_upgrade_it(
    postgres_catalog: PostgresDatabase, short_dir: Path
) -> None:
    with postgres_catalog.connect() as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")

    refused = copy(postgres_catalog.url, short_dir / "dst")

    assert refused.returncode == 4 and "COPY_SCHEMA_MISMATCH" in refused.stderr and "upgrade studbook" in refused.stderr


def test_a_source_that_lost_acknowledged_writes_is_refused(registry: Path, short_dir: Path) -> None:
    # The last acknowledged record gone, as a cut write-ahead log would leave it: its mark says more.
    with duckdb.connect(str(registry / "catalog.duckdb")) as conn:
        conn.execute("DELETE FROM events WHERE revision = (SELECT max(revision) FROM events)")

    refused = copy(registry, short_dir / "dst")

    assert refused.returncode == 4 and "CATALOG_BEHIND" in refused.stderr and "was acknowledged" in refused.stderr
    assert not (short_dir / "dst").exists()


def test_a_catalog_moves_from_one_postgresql_database_to_another(
    registry: Path, postgres_empty: PostgresDatabase, postgres_server: Any
) -> None:
    assert copy(registry, postgres_empty.url).returncode == 0
    other = postgres_server.create_database()
    try:
        moved = copy(postgres_empty.url, other.url, "--json")

        assert moved.returncode == 0, moved.stderr
        with postgres_empty.connect() as conn:
            before = conn.execute("SELECT model, number, description, vid, create_time FROM versions").fetchall()
        with other.connect() as conn:
            after = conn.execute("SELECT model, number, description, vid, create_time FROM versions").fetchall()
            handles = conn.execute("SELECT last_value FROM version_ids").fetchone()
        assert after == before and len(after) == 1
        assert handles is not None and handles[0] >= before[0][3]
    finally:
        postgres_server.drop_database(other.name)
