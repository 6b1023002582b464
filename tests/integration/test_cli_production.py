"""`studbook observe` and `studbook production`, and the client's `observe` and `production_record`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from support.cli import runner


@pytest.fixture
def run(shared_daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(shared_daemon.address, capsys)


@pytest.fixture
def served(shared_daemon: Any, run: Any) -> str:
    """A model whose v1 held production, then v2: each with its evaluation auc."""
    model = f"prod-{uuid.uuid4().hex[:8]}"
    for number, auc in ((1, "0.93"), (2, "0.95")):
        registered = run("register", model, "--uri", f"s3://bucket/{model}/{number}", "--metric", f"auc={auc}",
                         "--no-env")  # fmt: skip
        assert registered.code == 0, registered.err
        promoted = run("promote", f"{model}@{number}", "production", "--reason", "better")
        assert promoted.code == 0, promoted.err
    return model


def test_observe_says_what_it_recorded_and_to_which_version(run: Any, served: str) -> None:
    result = run("observe", f"{served}@production", "--metric", "auc=0.91", "--metric", "latency_ms=12",
                 "--segment", "eu")  # fmt: skip
    as_json = run("--json", "observe", f"{served}@production", "--metric", "auc=0.9", "--request-id", "r-1").json()
    again = run("--json", "observe", f"{served}@production", "--metric", "auc=0.9", "--request-id", "r-1").json()

    assert result.code == 0, result.err
    assert f"recorded 2 points on {served}@production (held by {served}@2)" in result.out
    lines = [line.split() for line in result.out.splitlines()[2:]]
    assert [(row[0], row[1], row[2], row[-1]) for row in lines] == [("auc", "0.91", "eu", f"{served}@2"),
                                                                    ("latency_ms", "12", "eu", f"{served}@2")]  # fmt: skip
    assert as_json == {"recorded": 1, "versions": [f"models/{served}/versions/2"], "changed": []}
    assert again == as_json


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--metric", "auc"], "expected KEY=NUMBER"),
        (["--metric", "auc=high"], "expected KEY=NUMBER"),
        (["--metric", "auc=0.9", "--metric", "auc=0.8"], "given more than once"),
        (["--metric", "auc=0.9", "--window-end", "soon"], "--window-end"),
    ],
)
def test_observe_refuses_what_it_cannot_send(run: Any, served: str, argv: list[str], says: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    try:
        code = run("observe", f"{served}@production", *argv)
        err = code.err
        code = code.code
    except SystemExit as exited:
        code, err = exited.code, capsys.readouterr().err

    assert code == 2
    assert says in err


def test_observe_at_a_time_nobody_held_the_stage_exits_with_the_precondition_code(run: Any, served: str) -> None:
    result = run("observe", f"{served}@production", "--metric", "auc=0.9", "--window-end", "2020-01-01T00:00Z")

    assert result.code == 4
    assert "no version of" in result.err and "2020-01-01T00:00:00Z" in result.err


def test_production_lists_each_holder_its_tenures_and_series(run: Any, served: str, shared_daemon: Any) -> None:
    with Client(shared_daemon.address) as client:
        history = client.stage_history(served, stage="production")
        second = history.changes[0].time.ToDatetime(tzinfo=UTC)
        for value in (0.80, 0.84, 0.82):
            client.observe(f"{served}@production", {"auc": value}, window_end=second - timedelta(microseconds=1))
        for value in (0.90, 0.92):
            client.observe(served, {"auc": value}, stage="production")
        record = client.production_record(f"{served}@production", keys=["auc"])

    result = run("production", f"{served}@production")
    as_json = run("production", f"{served}@production", "--format", "json", "--key", "auc").json()
    since_second = run("production", f"{served}@production", "--since", second.isoformat())

    assert [h.version for h in record.holders] == [f"models/{served}/versions/1", f"models/{served}/versions/2"]
    assert result.code == 0, result.err
    text = result.out
    assert f"{served}@production: 2 holders" in text
    first, later = text.index(f"{served}@1"), text.index(f"{served}@2")
    assert first < later
    v1_row = next(line.split() for line in text[first:later].splitlines() if line.strip().startswith("auc"))
    v2_row = next(line.split() for line in text[later:].splitlines() if line.strip().startswith("auc"))
    # KEY SEGMENT COUNT LAST MEAN EVALUATION TREND
    assert v1_row[:6] == ["auc", "-", "3", "0.82", "0.82", "0.93"] and len(v1_row[6]) == 3
    assert v2_row[:6] == ["auc", "-", "2", "0.92", "0.91", "0.95"]
    assert "-> now  promotion" in text[later:]
    assert [h["version"] for h in as_json["holders"]] == [f"models/{served}/versions/1", f"models/{served}/versions/2"]
    assert [s["value"] for s in as_json["holders"][0]["series"][0]["samples"]] == [0.8, 0.84, 0.82]
    assert as_json["holders"][1]["evaluation"] == {"auc": 0.95}
    assert f"{served}@1" not in since_second.out and f"{served}@production: 1 holder" in since_second.out


def test_the_client_names_the_stage_once_and_refuses_a_version(shared_daemon: Any, served: str) -> None:
    with Client(shared_daemon.address) as client:
        with pytest.raises(ValueError, match="name a stage"):
            client.observe(f"{served}@2", {"auc": 0.9})
        with pytest.raises(ValueError, match="already names stage"):
            client.observe(f"{served}@production", {"auc": 0.9}, stage="staging")
        with pytest.raises(StudbookError) as refused:
            client.observe(f"{served}@production", {"auc": 0.9},
                           window_end=datetime.now(UTC) + timedelta(hours=1))  # fmt: skip

    assert refused.value.reason == "WINDOW_END_IN_FUTURE"
