"""Times typed on the command line (spans back from now, dates) and times printed with their zone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from studbook.cli import commands as cli
from support.cli import runner


@pytest.fixture
def run(shared_daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(shared_daemon.address, capsys)


@pytest.fixture
def trained(run: Any) -> str:
    model = f"times-{uuid.uuid4().hex[:8]}"
    registered = run("register", model, "--uri", f"s3://bucket/{model}", "--metric", "auc=0.93", "--no-env")
    assert registered.code == 0, registered.err
    return model


@pytest.fixture
def in_berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_history_at_a_span_back_from_now(run: Any, trained: str) -> None:
    run("promote", f"{trained}@1", "production", "--reason", "ship it")

    an_hour_ago = run("history", trained, "--at", "1h", "--json")
    two_weeks_ago = run("history", trained, "--at", "2w ago", "--json")
    now = run("history", trained, "--at", "now", "--json")
    by_date = run("history", trained, "--at", "2999-01-01", "--json")

    assert an_hour_ago.code == 0, an_hour_ago.err
    assert an_hour_ago.json()["holders_at"] == two_weeks_ago.json()["holders_at"] == {}
    assert now.json()["holders_at"] == by_date.json()["holders_at"] == {"production": f"models/{trained}/versions/1"}


def test_a_time_the_cli_cannot_read_is_a_usage_error_listing_the_forms(run: Any, trained: str) -> None:
    result = run("history", trained, "--at", "an hour ago")

    assert result.code == cli.EXIT_USAGE
    assert "30s, 15m, 1h, 3d, 2w" in result.err and "2026-01-31" in result.err


@pytest.mark.usefixtures("in_berlin")
def test_printed_times_carry_the_local_offset_or_utc_when_asked(run: Any, trained: str) -> None:
    local = run("show", f"{trained}@1")
    utc = run("show", f"{trained}@1", "--utc")
    zone_less = run("history", trained, "--at", "2999-01-01 00:00", "--utc", "--json")

    created = [line for line in local.out.splitlines() if line.startswith("created:")]
    created_utc = [line for line in utc.out.splitlines() if line.startswith("created:")]
    assert created and created[0].split()[-1] in ("+01:00", "+02:00")
    assert created_utc and created_utc[0].split()[-1] == "+00:00"
    assert zone_less.code == 0, zone_less.err


def test_versions_and_models_since_and_until_narrow_by_time(run: Any, trained: str) -> None:
    recent = run("versions", trained, "--since", "1h", "--json").json()["versions"]
    old = run("versions", trained, "--until", "2w ago", "--json").json()["versions"]
    both = run("versions", trained, "--since", "2000-01-01", "--until", "now", "--filter", "number = 1", "--json")
    models = run("models", "--since", "today", "--filter", f'name = "{trained}"', "--json").json()["models"]
    no_models = run("models", "--until", "2000-01-01T00:00Z", "--filter", f'name = "{trained}"', "--json")

    assert [v["number"] for v in recent] == [1] and old == []
    assert [v["number"] for v in both.json()["versions"]] == [1]
    assert [m["name"] for m in models] == [f"models/{trained}"] and no_models.json()["models"] == []


def test_history_since_and_until_keep_the_changes_made_between(run: Any, trained: str) -> None:
    run("promote", f"{trained}@1", "staging", "--reason", "try it")
    run("promote", f"{trained}@1", "production", "--reason", "ship it")

    recent = run("history", trained, "--since", "1h", "--json").json()["changes"]
    older = run("history", trained, "--until", "1d", "--json").json()["changes"]
    one = run("history", trained, "--since", "yesterday", "--limit", "1").out

    assert {c["reason"] for c in recent} == {"ship it", "try it"} and older == []
    assert "ship it" in one and "try it" not in one
