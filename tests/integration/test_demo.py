"""`studbook demo`: its own registry and socket, a policy with one promotion waiting, two weeks of
history written in seconds, and `studbook stop --demo` to end it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from studbook import locations
from studbook.cli import commands as cli
from studbook.cli import demo
from studbook.client import calls
from studbook.client.clients import Client


@pytest.fixture
def demo_run(capsys: pytest.CaptureFixture[str]) -> Iterator[dict[str, Any]]:
    """`studbook --json demo` with no address: the demo's own daemon, stopped afterwards."""
    code = cli.main(["--json", "demo"])
    data = json.loads(capsys.readouterr().out)
    try:
        assert code == cli.EXIT_OK  # inside the try: a demo that failed to load still has its daemon stopped
        yield data
    finally:
        if data.get("daemon_pid"):
            try:
                os.kill(data["daemon_pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass


def test_the_demo_keeps_to_its_own_data_dir_and_socket(demo_run: dict[str, Any]) -> None:
    assert demo_run["address"] == demo.default_address() != locations.default_address()
    assert demo_run["data_dir"] == str(locations.data_dir().parent / "studbook-demo")
    assert (Path(demo_run["data_dir"]) / "catalog.duckdb").exists()
    # The user's registry: neither a catalog nor a daemon came into being.
    assert not (locations.data_dir() / "catalog.duckdb").exists()
    assert not locations.default_socket_path().exists()
    assert demo_run["stop"] == "studbook stop --demo"


def test_the_demo_leaves_one_promotion_waiting_under_its_policy(demo_run: dict[str, Any]) -> None:
    with Client(demo_run["address"]) as client:
        pending = client.list_promotions("-", filter=calls.PENDING_FILTER).promotions
        policy = client.get_policy_status()
        applied = [p for p in client.list_promotions("fraud-detector").promotions
                   if p.target == "production" and p.approvals]  # fmt: skip

    assert [(p.version.rsplit("/", 1)[-1], p.target, p.actor) for p in pending] == [
        ("12", "production", demo.REQUESTER)
    ]
    assert policy.in_force and policy.path == str(Path(demo_run["data_dir"]) / "policy.toml")
    assert applied and all(a.actor == demo.APPROVER for p in applied for a in p.approvals)


def test_the_demo_history_is_spread_over_days(demo_run: dict[str, Any]) -> None:
    with Client(demo_run["address"]) as client:
        changes = client.stage_history("fraud-detector").changes
        versions = client.list_versions("-", page_size=100).versions

    change_times = [c.time.ToDatetime() for c in changes]
    created = sorted(v.create_time.ToDatetime() for v in versions)
    assert max(change_times) - min(change_times) > timedelta(days=3)
    assert created[-1] - created[0] > timedelta(days=7)
    # Newest first, as written: the simulated clock never runs backwards.
    assert change_times == sorted(change_times, reverse=True)


def test_stop_demo_ends_the_demo_daemon_and_a_second_demo_reuses_its_data(
    demo_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    user_stop = cli.main(["stop"])
    hint = capsys.readouterr().err
    stopped = cli.main(["stop", "--demo"])
    capsys.readouterr()

    again = cli.main(["--json", "demo"])
    second = json.loads(capsys.readouterr().out)
    try:
        assert user_stop == cli.EXIT_UNAVAILABLE and "studbook stop --demo" in hint
        assert stopped == cli.EXIT_OK
        assert again == cli.EXIT_OK and second["daemon_pid"] and second["loaded"] is False
    finally:
        assert cli.main(["stop", "--demo"]) == cli.EXIT_OK


def test_a_simulated_clock_is_refused_for_a_catalog_that_holds_changes(daemon_factory: Any, short_dir: Path) -> None:
    first = daemon_factory()
    with Client(first.address) as client:
        client.create_model("kept")
    first.kill(signal.SIGTERM)

    refused = subprocess.run(
        [sys.executable, "-m", "studbook.daemon", "--data-dir", str(first.data_dir), "--socket", str(first.socket),
         "--simulated-days", "14", "--simulated-writes", "10"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert refused.returncode == 1
    assert "simulated clock only starts an empty catalog" in refused.stderr


def test_the_demo_ends_with_its_production_monitor_in_breach_naming_an_earlier_holder(
    demo_run: dict[str, Any],
) -> None:
    with Client(demo_run["address"]) as client:
        states = client.list_monitor_states(demo.MARKER_MODEL, breached_only=True)
        candidate = client.rollback_candidate(demo.MARKER_MODEL, demo.MARKER_STAGE)
        record = client.production_record(demo.MARKER_MODEL, stage=demo.MARKER_STAGE)
        drift = client.get_input_drift(demo.MARKER_MODEL, demo.MARKER_STAGE)
        holder = client.get_version(demo.MARKER_MODEL, demo.MARKER_STAGE).number

    assert [(s.stage, s.breached) for s in states] == [(demo.MARKER_STAGE, True)]
    assert candidate.version and candidate.version.rsplit("/", 1)[-1] != str(holder)
    assert states[0].candidate.version == candidate.version
    # Every holder served some of the record, the current one and the earlier ones alike.
    measured = {h.version.rsplit("/", 1)[-1] for h in record.holders if any(s.samples for s in h.series)}
    assert str(holder) in measured and len(measured) > 1
    # The inputs drifted in one window: `studbook drift` and the monitor's drift rule see it.
    assert [w for w in drift if w.max_psi > 0.2] and [w for w in drift if w.max_psi < 0.2]
    # The simulated clock spread the feedback over days: the rounds after the rollback are apart.
    # planned_writes counted every write: had the clock run out early, the last windows would
    # come moments apart, at the end of the load, rather than hours.
    ends = sorted(w.window_end.ToDatetime() for w in drift)
    assert min(later - earlier for earlier, later in zip(ends, ends[1:])) > timedelta(hours=1)
