"""`studbook import mlflow SOURCE` against a real MLflow (pinned, in its own venv) that the tests
fill: everything MLflow holds arrives through the daemon's API, files hash-verified, and a second
run imports nothing new."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from studbook.client import Client
from studbook.v1 import resources_pb2
from support.cli import Result, runner
from support.mlflow_export import write_export
from support.mlflow_registry import FilledMlflow, fill, mlflow_python, sqlite_uri
from support.rpc import logged_events, stubs

FRAUD = "Fraud Detector"
FRAUD_ID = "fraud-detector"
# Its tests share one filled MLflow (the module's fixture, 5 s to build): on one worker, it is built once.
pytestmark = pytest.mark.xdist_group("mlflow-import")


@pytest.fixture(scope="module")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> FilledMlflow:
    """One MLflow registry on SQLite with local files, filled once for the module (read-only after)."""
    mlflow_python()
    workdir = tmp_path_factory.mktemp("mlflow")
    return fill(sqlite_uri(workdir / "mlflow.db"), workdir)


@pytest.fixture
def studbook(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    return runner(daemon.address, capsys)


@pytest.fixture
def client(daemon: Any) -> Iterator[Client]:
    with Client(daemon.address) as opened:
        yield opened


def imported(studbook: Callable[..., Result], uri: str, *options: str) -> dict[str, Any]:
    result = studbook("import", "mlflow", uri, "--json", *options)
    assert result.code == 0, result.err
    report: dict[str, Any] = result.json()
    return report


def outcomes(report: dict[str, Any], kind: str) -> dict[str, str]:
    return {item["subject"]: item["outcome"] for item in report["items"] if item["kind"] == kind}


def sha256_tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def test_models_arrive_with_their_descriptions_and_tags(studbook, client, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    report = imported(studbook, mlflow_db.uri)

    models = {i["source"]: (i["subject"], i["outcome"]) for i in report["items"] if i["kind"] == "model"}
    assert models == {FRAUD: (FRAUD_ID, "imported"), "churn": ("churn", "imported"),
                      "fraud detector": (FRAUD_ID, "skipped")}  # fmt: skip
    fraud = client.get_model(FRAUD_ID)
    assert fraud.description == "Flags fraud."
    assert dict(fraud.tags) == {"team": "risk"}
    assert fraud.create_time.ToMilliseconds() == mlflow_db.made["models"][FRAUD]["creation_ms"]
    # The tag studbook cannot hold (a space in its key) is named, not silently dropped.
    [model_item] = [i for i in report["items"] if i["kind"] == "model" and i["source"] == FRAUD]
    assert "'bad key'" in model_item["detail"]
    # Another MLflow name that maps to the same id is not merged into it: skipped, and said why.
    [other] = [i for i in report["items"] if i["kind"] == "model" and i["source"] == "fraud detector"]
    assert "'Fraud Detector' is imported as fraud-detector already" in other["detail"]
    assert fraud.description == "Flags fraud."


def test_versions_keep_mlflow_numbers_times_params_metric_history_tags_and_run(studbook, client, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    imported(studbook, mlflow_db.uri)

    made = mlflow_db.version(FRAUD, 1)
    version = client.get_version(FRAUD_ID, 1)
    assert version.create_time.ToDatetime(tzinfo=UTC) == datetime.fromtimestamp(made["creation_ms"] / 1000, UTC)
    assert dict(version.params) == made["params"]
    assert version.description == "the first one"
    assert dict(version.tags) == {"validated": "yes", "run.owner": "ana"}
    assert version.run.run_id == made["run_id"]
    assert version.run.code_commit == "abc123"
    # The run's input dataset (mlflow.log_input) is the version's, in the lineage graph.
    assert [(d.name, d.version, d.uri) for d in version.datasets] == [
        ("transactions", "d1g357", "https://data.example/transactions.csv")
    ]
    auc = client.list_metrics(f"{FRAUD_ID}@1", key="auc")
    logged = made["metrics"]["auc"]
    assert [(m.value, m.step, m.time.ToMilliseconds()) for m in auc] == [tuple(p) for p in logged]
    # Logged once at MLflow's default step: a summary value, without a step.
    [loss] = client.list_metrics(f"{FRAUD_ID}@1", key="loss")
    assert loss.value == 0.3 and not loss.HasField("step")


def test_files_are_kept_and_match_mlflows_bytes(studbook, client, mlflow_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    imported(studbook, mlflow_db.uri)

    first = client.get_version(FRAUD_ID, 1)
    assert first.kept
    assert {f.path: f.sha256 for f in first.files} == sha256_tree(local(mlflow_db.version(FRAUD, 1)["source"]))
    assert first.format_info.format == "mlflow"  # the MLmodel folder, read as MLflow wrote it
    second = client.get_version(FRAUD_ID, 2)  # registered as runs:/RUN/weights, resolved by its run
    assert [f.path for f in second.files] == ["single.safetensors"]
    # Read back out of studbook's artifact store, the bytes are MLflow's.
    client.download(f"{FRAUD_ID}@2", tmp_path / "out")
    pulled = (tmp_path / "out" / "single.safetensors").read_bytes()
    source = local(mlflow_db.version(FRAUD, 2)["run_artifacts"]) / "weights" / "single.safetensors"
    assert pulled == source.read_bytes()


def test_a_version_whose_files_are_out_of_reach_is_referenced_and_says_why(studbook, client, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    report = imported(studbook, mlflow_db.uri)

    third = client.get_version(FRAUD_ID, 3)
    assert not third.kept and third.storage_uri == "s3://nowhere-bucket/fraud/model"
    [item] = [i for i in report["items"] if i["subject"] == f"{FRAUD_ID}@3" and i["kind"] == "version"]
    assert item["outcome"] == "imported" and "s3://nowhere-bucket/fraud/model" in item["detail"]


def test_stages_archive_and_aliases_arrive_through_promotions(studbook, client, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    report = imported(studbook, mlflow_db.uri)

    fraud = client.get_model(FRAUD_ID)
    assert dict(fraud.stage_holders) == {"production": f"models/{FRAUD_ID}/versions/1",
                                         "staging": f"models/{FRAUD_ID}/versions/2"}  # fmt: skip
    assert dict(fraud.aliases) == {"champion": f"models/{FRAUD_ID}/versions/1",
                                   "challenger": f"models/{FRAUD_ID}/versions/2"}  # fmt: skip
    assert client.get_version(FRAUD_ID, 3).status == resources_pb2.VERSION_STATUS_ARCHIVED
    history = client.stage_history(FRAUD_ID, stage="production").changes
    assert [c.reason for c in history][0].startswith("imported from MLflow: version 1 was in Production")
    # MLflow's alias `Prod` is no studbook alias name: skipped, and said so.
    assert outcomes(report, "alias")["churn@Prod"] == "skipped"
    assert dict(client.get_model("churn").aliases) == {}


def test_the_audit_trail_says_which_create_times_came_from_mlflow(studbook, daemon, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    imported(studbook, mlflow_db.uri)

    with daemon.channel() as channel:
        events = logged_events(stubs(channel), FRAUD_ID, "version.source_time")
    assert sorted(e.subject for e in events) == [f"models/{FRAUD_ID}/versions/{n}" for n in (1, 2, 3)]


def test_a_second_import_brings_nothing_new(studbook, client, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    imported(studbook, mlflow_db.uri)
    revision = client.list_versions("-", page_size=1).total_size

    again = imported(studbook, mlflow_db.uri)

    assert {item["outcome"] for item in again["items"]} == {"skipped"}
    assert all(counts.keys() == {"skipped"} for counts in again["counts"].values())
    assert client.list_versions("-", page_size=1).total_size == revision
    assert client.get_model(FRAUD_ID).version_count == 3


def test_a_dry_run_says_what_it_would_import_and_changes_nothing(studbook, client, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    report = imported(studbook, mlflow_db.uri, "--dry-run")

    assert report["dry_run"] is True
    assert outcomes(report, "version") == {f"{FRAUD_ID}@1": "would import", f"{FRAUD_ID}@2": "would import",
                                           f"{FRAUD_ID}@3": "would import", "churn@1": "would import"}  # fmt: skip
    assert client.list_models().total_size == 0


def test_the_text_summary_counts_and_gives_reasons(studbook, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    result = studbook("import", "mlflow", mlflow_db.uri)

    assert result.code == 0, result.err
    assert "versions  4 imported" in result.out
    assert "skipped      alias churn@Prod" in result.out
    # Progress goes to stderr, so the summary alone is on stdout.
    assert "4/4" in result.err


def test_a_source_that_is_no_mlflow_registry_is_refused_in_one_line(studbook, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = studbook("import", "mlflow", sqlite_uri(tmp_path / "missing.db"))

    assert result.code == 5
    assert result.err.startswith("error: no MLflow database at") and result.err.count("\n") == 1
    empty = tmp_path / "empty.db"
    import sqlite3

    sqlite3.connect(empty).close()
    result = studbook("import", "mlflow", sqlite_uri(empty))
    assert result.code == 5 and "no MLflow model registry" in result.err


def test_json_lists_every_item_with_its_mlflow_name(studbook, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    report = imported(studbook, mlflow_db.uri)

    assert report["source"] == mlflow_db.uri
    versions = {i["subject"]: i["source"] for i in report["items"] if i["kind"] == "version"}
    assert versions[f"{FRAUD_ID}@1"] == f"{FRAUD}/1"


GATED = """
[[models]]
pattern = "fraud-*"
[models.gates.production]
metrics = ["auc >= 0.99"]
"""


def test_the_registrys_gates_apply_to_an_imported_stage(daemon_factory, short_dir, capsys, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    policy = short_dir / "policy.toml"
    policy.write_text(GATED)
    daemon = daemon_factory("--policy", str(policy))

    report = imported(runner(daemon.address, capsys), mlflow_db.uri)

    [production] = [i for i in report["items"] if i["subject"] == f"{FRAUD_ID}@production"]
    assert production["outcome"] == "skipped"
    assert "metrics.auc 0.85 < 0.99" in production["detail"] and "GATE_NOT_MET" in production["detail"]
    with Client(daemon.address) as client:
        assert dict(client.get_model(FRAUD_ID).stage_holders) == {"staging": f"models/{FRAUD_ID}/versions/2"}


def test_below_admin_the_versions_arrive_dated_by_the_import(daemon, capsys, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    with Client(daemon.address) as admin:
        secret = admin.create_token("importer", "maintainer").secret
    studbook = runner(daemon.address, capsys)

    report = imported(studbook, mlflow_db.uri, "--token", secret)

    [first] = [i for i in report["items"] if i["kind"] == "version" and i["subject"] == f"{FRAUD_ID}@1"]
    assert first["outcome"] == "imported"
    assert "create time: the import's, not MLflow's (keeping MLflow's needs the admin role)" in first["detail"]
    with Client(daemon.address) as client:
        created = client.get_version(FRAUD_ID, 1).create_time.ToMilliseconds()
    assert created > mlflow_db.version(FRAUD, 1)["creation_ms"]


def test_an_mlflow_export_import_folder_arrives_like_its_registry(studbook, client, mlflow_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = write_export(tmp_path / "export", mlflow_db.made, {FRAUD: "Flags fraud."})

    report = imported(studbook, str(folder))
    again = imported(studbook, str(folder))

    versions = {i["subject"]: i["outcome"] for i in report["items"] if i["kind"] == "version"}
    assert versions == {f"{FRAUD_ID}@1": "imported", f"{FRAUD_ID}@2": "imported", f"{FRAUD_ID}@3": "imported",
                        "churn@1": "imported"}  # fmt: skip
    first = client.get_version(FRAUD_ID, 1)
    assert first.kept and {f.path: f.sha256 for f in first.files} == sha256_tree(
        local(mlflow_db.version(FRAUD, 1)["source"])
    )
    assert dict(first.params) == mlflow_db.version(FRAUD, 1)["params"]
    assert [m.step for m in client.list_metrics(f"{FRAUD_ID}@1", key="auc")] == [0, 1, 2]
    assert [f.path for f in client.get_version(FRAUD_ID, 2).files] == ["single.safetensors"]
    model = client.get_model(FRAUD_ID)
    assert model.description == "Flags fraud." and model.stage_holders["production"].endswith("/1")
    assert model.aliases["challenger"].endswith("/2")
    assert {i["outcome"] for i in again["items"]} == {"skipped"}


def test_model_picks_the_models_to_import(studbook, client, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    report = imported(studbook, mlflow_db.uri, "--model", "churn", "--model", "nowhere")

    assert [m.name for m in client.list_models().models] == ["models/churn"]
    [missing] = [i for i in report["items"] if i["subject"] == "nowhere"]
    assert missing["outcome"] == "skipped" and "no registered model of that name" in missing["detail"]


def test_a_dry_run_after_a_partial_import_says_what_is_left(studbook, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    imported(studbook, mlflow_db.uri, "--model", "churn")

    report = imported(studbook, mlflow_db.uri, "--dry-run")

    outcomes_now = {(i["kind"], i["subject"]): i["outcome"] for i in report["items"]}
    assert outcomes_now[("version", "churn@1")] == "skipped"
    assert outcomes_now[("version", f"{FRAUD_ID}@1")] == "would import"
    assert outcomes_now[("stage", f"{FRAUD_ID}@production")] == "would import"
    assert outcomes_now[("archive", f"{FRAUD_ID}@3")] == "would import"


def test_a_viewer_cannot_import_and_the_exit_code_says_so(daemon, capsys, mlflow_db) -> None:  # type: ignore[no-untyped-def]
    with Client(daemon.address) as admin:
        secret = admin.create_token("reader", "viewer").secret

    result = runner(daemon.address, capsys)("import", "mlflow", mlflow_db.uri, "--json", "--token", secret)

    assert result.code == 1
    failed = [i for i in result.json()["items"] if i["outcome"] == "failed"]
    assert failed and all("ROLE_REQUIRED" in i["detail"] for i in failed)
