"""`studbook metrics` and the JSON scripts get from every command."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from studbook.cli import commands as cli
from studbook.client.clients import Client
from support.cli import Result, runner

LOSS = [0.9, 0.5, 0.3, 0.25, 0.2]


@pytest.fixture
def run(shared_daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(shared_daemon.address, capsys)


@pytest.fixture
def trained(shared_daemon: Any, run: Any) -> str:
    """A version with a scalar auc on two splits and a loss logged at five steps."""
    model = f"metrics-{uuid.uuid4().hex[:8]}"
    registered = run("register", model, "--uri", f"s3://bucket/{model}", "--metric", "auc=0.93", "--no-env")
    assert registered.code == 0, registered.err
    with Client(shared_daemon.address) as client:
        client.log_metrics(f"{model}@1", {"auc": 0.95}, split="validation")
        for step, loss in enumerate(LOSS):
            client.log_metrics(f"{model}@1", {"loss": loss}, step=step * 100, split="train")
    return model


def rows(result: Result) -> list[list[str]]:
    return [line.split() for line in result.out.splitlines()[2:]]


def test_metrics_shows_each_series_with_its_steps_range_and_sparkline(run: Any, trained: str) -> None:
    result = run("metrics", f"{trained}@1")

    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == f"{trained}@1"
    assert rows(result) == [
        ["auc", "-", "-", "0.93", "0.93", "0.93", "0.93"],
        ["auc", "validation", "-", "0.95", "0.95", "0.95", "0.95"],
        ["loss", "train", "5", "0.9", "0.2", "0.2", "0.9", "█▄▂▁▁"],
    ]


def test_one_key_lists_every_step_and_a_split_narrows_it(run: Any, trained: str) -> None:
    steps = run("metrics", trained, "--key", "loss")
    auc = run("metrics", f"{trained}@latest", "--key", "auc", "--split", "validation")

    assert steps.code == 0, steps.err
    assert [row[:3] for row in rows(steps)] == [[str(i * 100), "train", str(v)] for i, v in enumerate(LOSS)]
    assert all(row[5].startswith(("+", "-")) for row in rows(steps))  # each time carries its zone
    assert [row[:3] for row in rows(auc)] == [["-", "validation", "0.95"]]


def test_metrics_json_is_keyed_by_metric_then_split_with_every_step(run: Any, trained: str) -> None:
    data = run("metrics", f"{trained}@1", "--json").json()

    assert data["version"] == f"models/{trained}/versions/1"
    assert set(data["metrics"]) == {"auc", "loss"}
    assert [(p["step"], p["value"]) for p in data["metrics"]["loss"]["train"]] == [
        (i * 100, v) for i, v in enumerate(LOSS)]  # fmt: skip
    assert data["metrics"]["auc"]["validation"][0]["step"] is None
    assert datetime.fromisoformat(data["metrics"]["auc"][""][0]["time"]).tzinfo is not None


def test_a_key_the_version_lacks_is_not_found_and_the_ones_it_has_are_named(run: Any, trained: str) -> None:
    result = run("metrics", f"{trained}@1", "--key", "los")

    assert result.code == cli.EXIT_NOT_FOUND
    assert "has no metric los" in result.err and "auc, loss" in result.err


def test_a_version_without_metrics_says_so_and_a_missing_version_is_not_found(run: Any) -> None:
    model = f"bare-{uuid.uuid4().hex[:8]}"
    run("register", model, "--uri", f"s3://bucket/{model}", "--no-env")

    empty = run("metrics", f"{model}@1")
    missing = run("metrics", f"{model}@7")

    assert (empty.code, empty.out) == (0, f"{model}@1 has no metrics\n")
    assert run("metrics", f"{model}@1", "--json").json() == {"version": f"models/{model}/versions/1", "metrics": {}}
    assert missing.code == cli.EXIT_NOT_FOUND


# ---- the shape of --json ------------------------------------------------------------


def test_show_versions_and_promote_give_numbers_plain_words_and_metrics_by_name(run: Any, trained: str) -> None:
    shown = run("show", f"{trained}@1", "--json").json()
    listed = run("versions", trained, "--json").json()
    promoted = run("promote", f"{trained}@1", "staging", "--reason", "try it", "--json").json()
    model = run("show", trained, "--json").json()

    assert (shown["number"], shown["status"], shown["file_count"]) == (1, "ready", 0)
    # The version keeps the last value of each (key, split): two splits of auc make a list.
    assert [(m["split"], m["value"]) for m in shown["metrics"]["auc"]] == [("", 0.93), ("validation", 0.95)]
    assert (shown["metrics"]["loss"]["value"], shown["metrics"]["loss"]["step"]) == (0.2, 400)
    assert listed["versions"][0]["number"] == 1 and listed["versions"][0]["status"] == "ready"
    assert (promoted["state"], promoted["target"]) == ("applied", "staging")
    assert model["version_count"] == 1
    assert datetime.fromisoformat(shown["create_time"]).tzinfo is not None


def test_history_json_times_are_rfc_3339_with_a_zone(run: Any, trained: str) -> None:
    run("promote", f"{trained}@1", "production", "--reason", "ship it")

    changes = run("history", trained, "--json").json()["changes"]

    assert [c["stage"] for c in changes] == ["production"]
    assert datetime.fromisoformat(changes[0]["time"]).tzinfo is not None
