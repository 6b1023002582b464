"""`studbook register --reference-stats` and `studbook drift`, against a real daemon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from studbook.client import Client
from support.cli import runner

EDGES = [0, 18, 30, 50, 120]
REFERENCE = {"features": [{"feature": "age", "edges": EDGES, "counts": [10, 40, 30, 20]},
                          {"feature": "country", "categories": {"de": 12, "fr": 8}}]}  # fmt: skip


@pytest.fixture
def run(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(daemon.address, capsys)


def test_reference_stats_from_a_file_and_the_drift_of_logged_windows(run: Any, daemon: Any, tmp_path: Path) -> None:
    stats = tmp_path / "reference.json"
    stats.write_text(json.dumps(REFERENCE))
    registered = run("register", "fraud", "--uri", "s3://b/fraud/1", "--no-env", "--reference-stats", str(stats))
    assert registered.code == cli.EXIT_OK, registered.err
    promoted = run("promote", "fraud@1", "production", "--reason", "release")
    assert promoted.code == cli.EXIT_OK, promoted.out + promoted.err
    with Client(daemon.address) as client:
        client.log_input_statistics("fraud", "production", REFERENCE)
        client.log_input_statistics("fraud", "production", {
            "age": {"edges": EDGES, "counts": [70, 10, 10, 10]}, "country": {"categories": {"de": 1, "it": 19}},
            "income": {"edges": [0, 1], "counts": [3]},
        })  # fmt: skip

    text = run("drift", "fraud@production", "--last", "5")
    as_json = run("drift", "fraud@production", "--format", "json").json()

    assert text.code == cli.EXIT_OK, text.err
    header, newest, oldest = text.out.strip().split("\n")
    assert header.split()[:2] == ["WINDOW", "END"]
    assert "v1" in newest and newest.index("country") < newest.index("age")  # worst first
    assert "1 without reference" in newest and "0.000" in oldest
    windows = as_json["windows"]
    assert len(windows) == 2 and windows[0]["max_psi"] > 0.2 and windows[1]["max_psi"] == pytest.approx(0, abs=1e-9)
    assert {f["feature"] for f in windows[0]["features"]} == {"age", "country", "income"}
    assert len(run("drift", "fraud@production", "--last", "1", "--json").json()["windows"]) == 1


def test_drift_names_a_stage_and_a_bad_statistics_file_is_refused(run: Any, tmp_path: Path) -> None:
    assert run("drift", "fraud").code == cli.EXIT_USAGE
    assert run("drift", "fraud@3").code == cli.EXIT_USAGE
    broken = tmp_path / "broken.json"
    broken.write_text('{"features": [{"feature": "age", "edges": [0, 1]}]}')
    refused = run("register", "fraud", "--uri", "s3://b/x", "--no-env", "--reference-stats", str(broken))
    assert refused.code != cli.EXIT_OK and "counts" in refused.err
    run("register", "fraud", "--uri", "s3://b/y", "--no-env")
    run("promote", "fraud@1", "production", "--reason", "release")
    empty = run("drift", "fraud@production")
    assert empty.code == cli.EXIT_OK and "no input windows" in empty.out


def test_observe_inputs_logs_a_window_beside_metrics_or_alone(run: Any, tmp_path: Path) -> None:
    stats = tmp_path / "window.json"
    stats.write_text(json.dumps(REFERENCE))
    run("register", "fraud", "--uri", "s3://b/fraud/1", "--no-env", "--reference-stats", str(stats))
    run("promote", "fraud@1", "production", "--reason", "release")
    shifted = tmp_path / "shifted.json"
    shifted.write_text(json.dumps({"features": [{"feature": "age", "edges": EDGES, "counts": [70, 10, 10, 10]}]}))

    alone = run("observe", "fraud@production", "--inputs", str(stats), "--segment", "eu")
    both = run("observe", "fraud@production", "--metric", "auc=0.9", "--inputs", str(shifted), "--json",
               "--request-id", "r-1")  # fmt: skip
    again = run("observe", "fraud@production", "--metric", "auc=0.9", "--inputs", str(shifted), "--json",
                "--request-id", "r-1")  # fmt: skip

    assert alone.code == cli.EXIT_OK, alone.err
    assert "inputs of 2 features logged for v1" in alone.out and "max psi 0.000" in alone.out
    assert both.code == cli.EXIT_OK, both.err
    answer = both.json()
    assert answer["metrics"]["recorded"] == 1 and answer["inputs"]["max_psi"] > 0.2
    assert again.json() == answer
    windows = run("drift", "fraud@production", "--json").json()["windows"]
    assert [w["segment"] for w in windows] == ["", "eu"]


def test_observe_with_a_bad_inputs_file_records_nothing(run: Any, daemon: Any, tmp_path: Path) -> None:
    run("register", "fraud", "--uri", "s3://b/fraud/1", "--no-env")
    run("promote", "fraud@1", "production", "--reason", "release")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    refused = run("observe", "fraud@production", "--metric", "auc=0.9", "--inputs", str(broken))
    neither = run("observe", "fraud@production")

    assert refused.code != cli.EXIT_OK and "broken.json" in refused.err
    assert neither.code == cli.EXIT_USAGE
    record = run("production", "fraud@production", "--json").json()
    assert all(not h["series"] for h in record["holders"])
