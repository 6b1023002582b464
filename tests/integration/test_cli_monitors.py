"""`studbook status` shows the stages in breach with the worst finding and the candidate, and
`studbook candidate MODEL@STAGE` ranks the earlier holders, against a daemon with a policy."""

from __future__ import annotations

from typing import Any

import pytest
from studbook.v1 import production_pb2, production_pb2_grpc, resources_pb2, stages_pb2
from support.cli import runner
from support.rpc import register, stubs

POLICY = """
[[models]]
pattern = "*"
[models.monitors.production]
metrics = ["auc >= 0.90"]
windows = 2
"""


@pytest.fixture
def daemon_with_policy(daemon_factory, short_dir):
    path = short_dir / "policy.toml"
    path.write_text(POLICY)
    return daemon_factory("--policy", str(path))


def breached(daemon: Any, model: str) -> None:
    """v1 served auc 0.96, v2 0.91, v3 (holding production) falls to 0.84 for two windows."""
    with daemon.channel() as channel:
        api, production = stubs(channel), production_pb2_grpc.ProductionServiceStub(channel)
        for number, (evaluation, served) in enumerate([(0.95, [0.96]), (0.97, [0.91]), (0.96, [0.85, 0.84])], 1):
            register(api, model, metrics=[resources_pb2.Metric(key="auc", value=evaluation)],
                     storage_uri=f"s3://b/{number}")  # fmt: skip
            api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
                name=f"models/{model}/versions/{number}", target="production"))  # fmt: skip
            for value in served:
                production.LogProductionMetrics(production_pb2.LogProductionMetricsRequest(
                    model=f"models/{model}", stage="production",
                    points=[production_pb2.ProductionPoint(key="auc", value=value)]))  # fmt: skip


def test_status_shows_the_breach_its_worst_finding_and_the_candidate(daemon_with_policy, capsys):
    run = runner(daemon_with_policy.address, capsys)
    breached(daemon_with_policy, "fraud")

    text = run("status")
    data = run("status", "--json").json()

    assert text.code == 0
    block = text.out.split("Monitors\n", 1)[1]
    assert "fraud@production v3 in breach since " in block
    assert "auc 0.84 (auc >= 0.90), 2 windows" in block
    assert "candidate v1: v1 held production from " in block
    assert "`studbook promote fraud@1 production` brings back v1" in block
    (state,) = data["monitors"]
    assert state["breached"] and state["candidate"]["version"] == "models/fraud/versions/1"
    policy = text.out.split("Promotion policy\n", 1)[1].split("\n\n", 1)[0]
    assert "1 model rule, 0 stage gates, 1 monitor watching 1 stage, 1 in breach" in policy
    assert data["policy"]["monitors"] == 1


def test_the_policy_line_counts_the_stages_its_monitors_watch_and_those_in_breach(daemon_with_policy, capsys):
    run = runner(daemon_with_policy.address, capsys)
    breached(daemon_with_policy, "fraud")
    with daemon_with_policy.channel() as channel:
        api = stubs(channel)
        register(api, "calm", storage_uri="s3://b/1")
        register(api, "quiet", storage_uri="s3://b/2")

    text = run("status")

    assert "1 monitor watching 3 stages, 1 in breach" in text.out


def test_candidate_ranks_the_earlier_holders_and_names_both_commands(daemon_with_policy, capsys):
    run = runner(daemon_with_policy.address, capsys)
    breached(daemon_with_policy, "churn")

    text = run("candidate", "churn@production")
    by_evaluation = run("candidate", "churn@production", "--key=-auc", "--json").json()
    wrong = run("candidate", "churn@3")

    assert text.code == 0
    assert "candidate:            v1" in text.out and "rollback brings back: v2" in text.out
    lines = text.out.splitlines()
    ranked = [line.split()[:4] for line in lines if line[:1].isdigit()]
    assert ranked == [["1", "v1", "production", "auc"], ["2", "v2", "production", "auc"]]
    assert "`studbook rollback churn production` brings back v2" in text.out
    # Lower is better: the worse production record leads.
    assert by_evaluation["version"] == "models/churn/versions/2"
    assert wrong.code != 0 and "name a model and a stage, e.g. churn@production" in wrong.err


def test_status_says_how_many_stages_are_watched_when_none_is_in_breach(daemon_with_policy, capsys):
    run = runner(daemon_with_policy.address, capsys)
    with daemon_with_policy.channel() as channel:
        api = stubs(channel)
        register(api, "calm", storage_uri="s3://b/1")

    text = run("status")

    assert "Monitors\n  1 stage watched, none in breach" in text.out
    assert "1 model rule, 0 stage gates, 1 monitor watching 1 stage, none in breach" in text.out


def test_observe_says_when_its_window_starts_or_ends_a_breach(daemon_with_policy, capsys):
    run = runner(daemon_with_policy.address, capsys)
    with daemon_with_policy.channel() as channel:
        api = stubs(channel)
        register(api, "obs", metrics=[resources_pb2.Metric(key="auc", value=0.95)], storage_uri="s3://b/1")
        api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name="models/obs/versions/1",
                                                                             target="production"))  # fmt: skip

    outs = [run("observe", "obs@production", "--metric", f"auc={value}") for value in (0.5, 0.5, 0.95, 0.95)]

    assert [o.code for o in outs] == [0, 0, 0, 0]
    assert "drift" not in outs[0].out and "drift" not in outs[2].out
    assert "drift detected on obs@production v1: auc 0.5 (auc >= 0.90), 2 windows" in outs[1].out
    assert "production of obs has no earlier holder to put back" in outs[1].out
    assert "drift cleared on obs@production v1" in outs[3].out


DRIFT_POLICY = """
[[models]]
pattern = "auto-*"
[models.monitors.production]
drift = ["psi > 0.2"]
auto_rollback = true

[[models]]
pattern = "*"
[models.monitors.production]
drift = ["psi > 0.2"]
windows = 2
"""
EDGES = [0, 18, 30, 50, 120]
CALM = {"features": [{"feature": "age", "edges": EDGES, "counts": [10, 40, 30, 20]}]}
SHIFTED = {"features": [{"feature": "age", "edges": EDGES, "counts": [70, 10, 10, 10]}]}


@pytest.fixture
def drift_daemon(daemon_factory, short_dir):
    path = short_dir / "policy.toml"
    path.write_text(DRIFT_POLICY)
    return daemon_factory("--policy", str(path))


def test_observe_inputs_says_when_its_window_starts_or_ends_a_breach(drift_daemon, capsys, tmp_path):
    import json

    run = runner(drift_daemon.address, capsys)
    calm, shifted = tmp_path / "calm.json", tmp_path / "shifted.json"
    calm.write_text(json.dumps(CALM))
    shifted.write_text(json.dumps(SHIFTED))
    run("register", "inp", "--uri", "s3://b/1", "--no-env", "--reference-stats", str(calm))
    run("promote", "inp@1", "production", "--reason", "release")

    outs = [run("observe", "inp@production", "--inputs", str(path)) for path in (shifted, shifted, calm, calm)]

    assert [o.code for o in outs] == [0, 0, 0, 0]
    assert all(o.out.startswith("inputs of 1 features logged for v1") for o in outs)
    assert "drift" not in outs[0].out.split("\n", 1)[1] and "drift" not in outs[2].out.split("\n", 1)[1]
    detected = outs[1].out.splitlines()[1]
    assert detected.startswith("drift detected on inp@production v1: age ") and "(psi > 0.2), 2 windows" in detected
    assert "production of inp has no earlier holder to put back" in outs[1].out
    assert outs[3].out.splitlines()[1:] == ["drift cleared on inp@production v1"]


def test_observe_inputs_beside_metrics_reports_the_breach_after_its_window(drift_daemon, capsys, tmp_path):
    import json

    run = runner(drift_daemon.address, capsys)
    reference, shifted = tmp_path / "reference.json", tmp_path / "shifted.json"
    reference.write_text(json.dumps(CALM))
    shifted.write_text(json.dumps(SHIFTED))
    for number in (1, 2):
        run("register", "auto-inp", "--uri", f"s3://b/{number}", "--no-env", "--reference-stats", str(reference))
        run("promote", f"auto-inp@{number}", "production", "--reason", "release")

    text = run("observe", "auto-inp@production", "--metric", "auc=0.9", "--inputs", str(shifted))
    data = run("observe", "auto-inp@production", "--inputs", str(reference), "--json").json()

    assert text.code == 0, text.err
    lines = text.out.splitlines()
    logged = next(i for i, line in enumerate(lines) if line.startswith("inputs of 1 features logged for v2"))
    detected = lines[logged + 1]
    assert detected.startswith("drift detected on auto-inp@production v2: age ")
    assert lines[logged + 2].startswith("  v1 held production from ")
    assert lines[logged + 2].endswith("`studbook rollback auto-inp production` brings it back")
    assert lines[logged + 3].startswith("  auto_rollback: models/auto-inp/promotions/")
    assert lines[logged + 4] == "drift cleared on auto-inp@production v1"
    # The window after the rollback goes to v1, which is calm: nothing changes, and --json says so.
    assert data["version"] == "models/auto-inp/versions/1" and data["changed"] == []
    assert data["max_psi"] == pytest.approx(0, abs=1e-9)


def test_policy_check_counts_the_monitors_and_names_a_bad_rule(tmp_path):
    import subprocess
    import sys

    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(POLICY)
    bad.write_text(POLICY.replace("auc >= 0.90", "auc drop < 3%"))

    def check(path):
        return subprocess.run([sys.executable, "-m", "studbook.cli.commands", "policy", "check", str(path)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    valid, invalid = check(good), check(bad)

    assert valid.returncode == 0 and "0 stage gates, 1 monitor;" in valid.stdout
    assert invalid.returncode == 7 and "models[0].monitors.production.metrics[0]" in invalid.stderr
