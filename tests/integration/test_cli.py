"""The `studbook` command against a real daemon: tables, --json, exit codes, watch and demo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from studbook.client import clients as client_module
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from support.cli import Result, runner
from support.waiting import wait_for


@pytest.fixture
def run(shared_daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """The module's daemon: tests use their own, uniquely named models."""
    return runner(shared_daemon.address, capsys)


@pytest.fixture
def run_alone(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """A fresh daemon with an empty catalog, for tests that need one."""
    return runner(daemon.address, capsys)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def register(run: Any, model: str, auc: float, *more: str) -> Result:
    result = run("register", model, "--uri", f"s3://bucket/{model}/{auc}", "--metric", f"auc={auc}", "--no-env", *more)
    assert result.code == 0, result.err
    return result


def test_status_reports_a_serving_daemon(run: Any) -> None:
    result = run("status", "--json")

    assert result.code == 0
    assert result.json()["status"] == "serving"
    assert result.json()["watch"] is None  # this daemon watches no folder


def test_status_names_the_embedded_catalog_and_its_revision(run: Any) -> None:
    register(run, unique("fraud"), 0.9)

    as_json = run("status", "--json").json()["catalog"]
    text = run("status").out

    assert as_json["backend"] == "duckdb" and as_json["location"].endswith("catalog.duckdb")
    assert as_json["revision"] >= 2 and as_json["shared"] is False
    assert "Catalog" in text and "duckdb (embedded file)" in text and "following" not in text


def test_a_daemon_that_watches_no_folder_has_no_drops_to_list_or_retry(run: Any, tmp_path: Path) -> None:
    listed = run("drops")
    as_json = run("drops", "--all", "--json")
    retried = run("drops", "retry", str(tmp_path / "fraud" / "1"))
    status = run("status")

    assert (listed.code, listed.out) == (0, "no quarantined drops\n")
    assert as_json.json() == {"drops": [], "total_size": 0}
    assert retried.code == cli.EXIT_NOT_FOUND and "DROP_NOT_FOUND" in retried.err
    assert "Drop-in folders" not in status.out


def test_register_then_list_and_show_as_json(run: Any) -> None:
    model = unique("fraud")

    registered = run("register", model, "--uri", "s3://bucket/m", "--metric", "auc=0.93", "--param", "lr=0.01",
                     "--tag", "team=risk", "--seed", "42", "--no-env", "--json")  # fmt: skip
    listed = run("versions", model, "--json")
    shown = run("show", f"{model}@1", "--json")

    version = registered.json()["version"]
    assert registered.json()["created"] is True
    assert version["created_from"] == "cli"
    assert [v["name"] for v in listed.json()["versions"]] == [version["name"]]
    assert shown.json()["params"] == {"lr": "0.01"}
    assert shown.json()["tags"] == {"team": "risk"}


def test_human_output_is_a_table_without_colour(run: Any) -> None:
    model = unique("fraud")
    register(run, model, 0.91)

    result = run("versions", model)

    header, row = result.out.splitlines()
    assert header.split()[:3] == ["VERSION", "SEMVER", "STATUS"]
    assert row.split()[0] == "1" and "auc=0.91" in row
    assert "\x1b[" not in result.out


def test_show_accepts_a_model_and_every_version_spelling(run: Any) -> None:
    model = unique("fraud")
    register(run, model, 0.91)

    names = {run("show", spelling, "--json").json()["name"] for spelling in
             (f"{model}@1", f"{model}/1", f"models/{model}/versions/1", f"{model}@latest")}  # fmt: skip
    as_model = run("show", model)

    assert names == {f"models/{model}/versions/1"}
    assert as_model.code == 0 and model in as_model.out


def test_a_missing_version_exits_3_with_one_error_line(run: Any) -> None:
    result = run("show", f"{unique('absent')}@1")

    assert result.code == cli.EXIT_NOT_FOUND
    assert result.err.startswith("error: ") and result.err.count("\n") == 1 and "[" in result.err


def test_an_invalid_model_name_exits_7(run: Any) -> None:
    result = run("show", "Bad_Name!")

    assert result.code == cli.EXIT_INVALID
    assert "INVALID_NAME" in result.err


def test_promote_history_and_rollback(run: Any) -> None:
    model = unique("fraud")
    register(run, model, 0.90)
    register(run, model, 0.92)

    first = run("promote", f"{model}@1", "production", "--reason", "first release")
    second = run("promote", f"{model}@2", "production", "--reason", "better auc")
    back = run("rollback", model, "production", "--reason", "latency regression")
    history = run("history", model, "--json")

    assert (first.code, second.code, back.code) == (0, 0, 0)
    assert run("show", f"{model}@production", "--json").json()["number"] == 1
    assert [c["reason"] for c in history.json()["changes"]][:3] == ["latency regression", "better auc", "first release"]


def test_rollback_dry_run_names_what_the_rollback_then_brings_back_and_changes_nothing(run: Any) -> None:
    model = unique("fraud")
    for number, auc in enumerate((0.90, 0.91, 0.92), start=1):
        register(run, model, auc)
        run("promote", f"{model}@{number}", "production", "--reason", f"release {number}")
    run("rollback", model, "production", "--reason", "back to 2")

    planned = run("rollback", model, "production", "--dry-run")
    planned_json = run("rollback", model, "production", "--dry-run", "--json").json()
    holder_before = run("show", f"{model}@production", "--json").json()["number"]
    done = run("rollback", model, "production", "--reason", "back again")
    no_reason = run("rollback", model, "production")

    assert planned.code == 0 and f"{model}@1 -> production: validated (would replace {model}@2)" in planned.out
    assert planned_json["state"] == "validated" and planned_json["version"].endswith("/versions/1")
    assert holder_before == 2
    assert done.code == 0 and run("show", f"{model}@production", "--json").json()["number"] == 1
    assert no_reason.code == cli.EXIT_USAGE and "--reason" in no_reason.err


def test_rollback_to_puts_back_a_named_earlier_holder_and_refuses_one_that_never_held_it(run: Any) -> None:
    model = unique("fraud")
    for number, auc in enumerate((0.90, 0.91, 0.92, 0.93), start=1):
        register(run, model, auc)
        if number < 4:
            run("promote", f"{model}@{number}", "production", "--reason", f"release {number}")

    planned = run("rollback", model, "production", "--to", "v1", "--dry-run")
    never = run("rollback", model, "production", "--to", "4", "--reason", "try")
    done = run("rollback", model, "production", "--to", "1", "--reason", "v1 served best")

    assert planned.code == 0 and f"{model}@1 -> production: validated (would replace {model}@3)" in planned.out
    assert never.code == cli.EXIT_PRECONDITION and "never held" in never.err
    assert done.code == 0 and run("show", f"{model}@production", "--json").json()["number"] == 1


def test_rollback_without_a_previous_holder_exits_4(run: Any) -> None:
    model = unique("fraud")
    register(run, model, 0.90)

    result = run("rollback", model, "production", "--reason", "nothing to go back to")

    assert result.code == cli.EXIT_PRECONDITION


def test_diff_and_lineage_render(run: Any) -> None:
    model = unique("fraud")
    register(run, model, 0.90, "--data-version", "census=2026-01")
    register(run, model, 0.95, "--data-version", "census=2026-02")

    diff = run("diff", f"{model}@1", f"{model}@2")
    lineage = run("lineage", f"{model}@2", "--up")

    assert diff.code == 0 and "auc" in diff.out and "+0.05" in diff.out
    assert lineage.code == 0 and "datasets/census@2026-02" in lineage.out


def test_lineage_edges_read_as_child_relation_parent(run: Any) -> None:
    base, distilled = unique("bert"), unique("distil")
    register(run, base, 0.90)
    register(run, distilled, 0.88, "--parent", f"{base}@1=distilled_from")

    lineage = run("lineage", f"{distilled}@1", "--up")

    assert lineage.code == 0
    assert f"models/{distilled}/versions/1 --distilled_from--> models/{base}/versions/1" in lineage.out, lineage.out


def test_no_daemon_exits_5(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "RETRY_DELAYS", (0.0, 0.0, 0.0))

    code = cli.main(["--address", f"unix:///tmp/sb-none-{uuid.uuid4().hex[:8]}.sock", "models"])

    assert code == cli.EXIT_UNAVAILABLE
    assert "studbook serve" in capsys.readouterr().err


def test_watch_prints_one_json_event_per_line(shared_daemon: Any, run: Any) -> None:
    model = unique("fraud")
    register(run, model, 0.90)
    command = [sys.executable, "-m", "studbook.cli.commands", "--address", shared_daemon.address, "watch", "--from", "0", "--json",
               "--filter", f'model = "{model}"']  # fmt: skip
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        event = json.loads(watcher.stdout.readline())
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=10)

    assert event["model"] == model
    assert watcher.returncode == 0


def test_demo_loads_its_data_once(run_alone: Any) -> None:
    first = run_alone("demo", "--json")
    second = run_alone("demo", "--json")
    production = run_alone("show", "fraud-detector@production", "--json")

    assert first.code == second.code == 0
    assert first.json()["daemon_pid"] is None  # the test daemon already answers
    assert second.json()["loaded"] is False
    assert production.json()["number"] == 9  # after the demo's promotions and its rollback


@pytest.fixture
def fresh_socket() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="sb-", dir="/tmp"))  # short: socket paths are limited
    yield folder / "studbook.sock"
    shutil.rmtree(folder, ignore_errors=True)


def test_demo_starts_a_daemon_when_none_answers(
    fresh_socket: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"unix://{fresh_socket}"

    code = cli.main(["--address", address, "--json", "demo", "--data-dir", str(tmp_path / "data")])

    data = json.loads(capsys.readouterr().out)
    try:
        assert code == 0
        assert data["daemon_pid"] and data["loaded"] is True
        assert cli.main(["--address", address, "status"]) == 0
        capsys.readouterr()
        # The demo daemon watches a drop folder: one drop registers itself, one is quarantined.
        with Client(address) as client:
            wait_for(lambda: client.list_quarantined_drops().drops and _has_model(client, "tiny-mlp"),
                     "the demo's drops to settle")  # fmt: skip
            quarantined = client.list_quarantined_drops().drops
            assert [d.reason for d in quarantined] == ["HEADER_TOO_LARGE"]
            assert client.get_version("tiny-mlp", "latest").format == "safetensors"
    finally:
        if data.get("daemon_pid"):
            os.kill(data["daemon_pid"], signal.SIGTERM)


def _has_model(client: Client, model: str) -> bool:
    try:
        client.get_model(model)
    except StudbookError:
        return False
    return True
