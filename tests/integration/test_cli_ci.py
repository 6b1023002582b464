"""What a CI pipeline runs: `promote --wait` for approvals, `gate --format junit|json`, and
`policy check FILE` before a policy change is merged."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from support.cli import ActorRunner
from support.waiting import wait_for

POLICY = """
[[models]]
pattern = "ci-*"
[models.gates.staging]
metrics = ["auc >= 0.90", "loss <= 0.5"]
[models.gates.production]
approvals = 1
"""
PIPELINE = "ci-runner"


@pytest.fixture
def run(
    daemon_factory: Any, short_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> ActorRunner:
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY)
    return ActorRunner(daemon_factory("--policy", str(policy)).address, capsys, monkeypatch, PIPELINE)


def register(run: ActorRunner, model: str, auc: float = 0.95, loss: float = 0.2) -> None:
    code, _, err = run("register", model, "--uri", f"s3://b/{model}", "--metric", f"auc={auc}",
                       "--metric", f"loss={loss}", "--no-env")  # fmt: skip
    assert code == 0, err


def pending(run: ActorRunner, model: str) -> str | None:
    """The promotion of `model` waiting for approval, as MODEL/N, once there is one."""
    _, out, _ = run("promotions", model, "--pending", "--json")
    found = json.loads(out)["promotions"]
    return str(found[0]["name"]).removeprefix("models/").replace("/promotions/", "/") if found else None


def test_promote_wait_returns_0_once_an_approver_approves(run: ActorRunner) -> None:
    register(run, "ci-wait")
    waiting = run.start("promote", "ci-wait@1", "production", "--reason", "release 4.2", "--wait", "--timeout", "2m")
    try:
        promotion = wait_for(lambda: pending(run, "ci-wait"), "the promotion to wait for approval", 60)
        approved, _, err = run("approve", promotion, "--comment", "looks good", actor="approver@lab")
        out, said = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()

    assert approved == 0, err
    assert waiting.returncode == cli.EXIT_OK, said
    assert "waits for approval; waiting" in said and "applied" in out
    assert run("show", "ci-wait@production", "--json")[0] == 0


def test_promote_wait_returns_4_when_rejected_and_11_when_still_pending_at_its_timeout(run: ActorRunner) -> None:
    register(run, "ci-reject")
    register(run, "ci-slow")
    rejected = run.start("promote", "ci-reject@1", "production", "--reason", "r", "--wait", "--json")
    try:
        promotion = wait_for(lambda: pending(run, "ci-reject"), "the promotion to wait for approval", 60)
        run("reject", promotion, "--reason", "not this week", actor="approver@lab")
        out, _ = rejected.communicate(timeout=60)
    finally:
        if rejected.poll() is None:
            rejected.kill()
    timed_out = run("promote", "ci-slow@1", "production", "--reason", "r", "--wait", "--timeout", "1s")

    assert rejected.returncode == cli.EXIT_PRECONDITION
    assert json.loads(out)["state"] == "rejected"
    assert timed_out[0] == cli.EXIT_PENDING_APPROVAL and "pending approval" in timed_out[1]


def test_gate_as_junit_has_one_test_case_per_gate_and_a_failure_for_each_refusal(run: ActorRunner) -> None:
    register(run, "ci-gate", auc=0.85, loss=0.2)

    code, out, _ = run("gate", "ci-gate@1", "staging", "--format", "junit")

    suite = ET.fromstring(out).find("testsuite")
    assert code == cli.EXIT_PRECONDITION
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"version_ready", "not_current_holder", "metrics.auc", "metrics.loss"}
    assert [name for name, case in cases.items() if case.find("failure") is not None] == ["metrics.auc"]
    assert cases["metrics.auc"].find("failure").get("message") == "metrics.auc 0.85 < 0.9"  # type: ignore[union-attr]


def test_gate_passing_exits_0_and_json_lists_every_gate(run: ActorRunner) -> None:
    register(run, "ci-pass")

    code, out, _ = run("gate", "ci-pass@1", "staging", "--format", "json")
    junit_code, junit, _ = run("gate", "ci-pass@1", "staging", "--format", "junit")

    assert code == junit_code == cli.EXIT_OK
    report = json.loads(out)
    assert report["state"] == "validated" and all(g["passed"] for g in report["gate_results"])
    assert len(report["gate_results"]) == 4 and ET.fromstring(junit).find("testsuite").get("failures") == "0"  # type: ignore[union-attr]


def test_policy_check_accepts_a_valid_file_and_refuses_a_bad_one_as_the_daemon_would(
    tmp_path: Path, short_dir: Path
) -> None:
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(POLICY)
    bad.write_text(POLICY.replace("auc >= 0.90", "auc >> 0.90"))

    valid = _studbook("policy", "check", str(good))
    as_json = _studbook("policy", "check", str(bad), "--json")
    invalid = _studbook("policy", "check", str(bad))
    daemon = subprocess.run([sys.executable, "-m", "studbook.daemon", "--data-dir", str(short_dir / "d"),
                             "--socket", str(short_dir / "s.sock"), "--policy", str(bad)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip

    assert valid.returncode == 0 and "a valid policy (1 model rules, 2 stage gates" in valid.stdout
    assert as_json.returncode == invalid.returncode == cli.EXIT_INVALID
    error = json.loads(as_json.stdout)
    assert error["valid"] is False and error["reason"] == "INVALID_POLICY"
    assert daemon.returncode == 1 and error["error"] in daemon.stderr  # the daemon's own words
    assert error["error"] in invalid.stderr and "Traceback" not in invalid.stderr


def _studbook(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studbook.cli.commands", *argv], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
