"""`studbook promotions / approve / reject / cancel` against a daemon whose policy asks for two approvals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from support.cli import ActorRunner

POLICY = """
[[models]]
pattern = "appr-*"
[models.gates.production]
approvals = 2
"""
ASKER = "asker@lab"


@pytest.fixture
def run(
    daemon_factory: Any, short_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> ActorRunner:
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY)
    daemon = daemon_factory("--policy", str(policy))
    return ActorRunner(daemon.address, capsys, monkeypatch, ASKER)


def pending_promotion(run: ActorRunner, model: str) -> str:
    """Registers version 1 of `model`, asks for production, and returns the promotion as `model/N`."""
    code, _, err = run("register", model, "--uri", f"s3://b/{model}", "--metric", "auc=0.9", "--no-env")
    assert code == 0, err
    code, _, err = run("promote", f"{model}@1", "production", "--reason", "ship it")
    assert code == cli.EXIT_PENDING_APPROVAL, err
    code, out, _ = run("promotions", model, "--pending", "--json")
    [promotion] = cli_json(out)["promotions"]
    return str(promotion["name"]).removeprefix("models/").replace("/promotions/", "/")


def cli_json(text: str) -> Any:
    return json.loads(text)


def test_a_promotion_needing_approvals_says_what_it_waits_for_and_is_listed_as_pending(run: ActorRunner) -> None:
    run("register", "appr-a", "--uri", "s3://b/a", "--no-env")

    code, out, _ = run("promote", "appr-a@1", "production", "--reason", "ship it")
    listed_code, listed, _ = run("promotions", "--pending")

    assert code == cli.EXIT_PENDING_APPROVAL  # accepted, not applied: a pipeline must not go on
    assert "pending approval" in out
    assert "waiting for 2 approvals: studbook approve appr-a/" in out
    assert listed_code == 0
    assert "appr-a/" in listed and "pending approval" in listed and ASKER in listed and "0/2" in listed


def test_approving_your_own_promotion_exits_4_with_self_approval(run: ActorRunner) -> None:
    promotion = pending_promotion(run, "appr-b")

    code, _, err = run("approve", promotion, actor=ASKER)

    assert code == cli.EXIT_PRECONDITION
    assert "SELF_APPROVAL" in err


def test_two_other_approvers_apply_the_promotion(run: ActorRunner) -> None:
    promotion = pending_promotion(run, "appr-c")

    first_code, first, _ = run("approve", promotion, "--comment", "looks good", actor="ana@lab")
    second_code, second, _ = run("approve", f"models/{promotion.replace('/', '/promotions/')}", actor="ben@lab")
    _, shown, _ = run("show", "appr-c@production", "--json")
    _, still_pending, _ = run("promotions", "appr-c", "--pending", "--json")

    assert (first_code, second_code) == (0, 0)
    assert "waiting for 1 more approval" in first and "looks good" in first
    assert "applied" in second and "ana@lab" in second and "ben@lab" in second
    assert "production" in cli_json(shown)["stages"]
    assert cli_json(still_pending)["promotions"] == []


def test_the_same_approver_twice_counts_once(run: ActorRunner) -> None:
    promotion = pending_promotion(run, "appr-d")
    run("approve", promotion, actor="ana@lab")

    code, _, err = run("approve", promotion, actor="ana@lab")

    assert code == cli.EXIT_PRECONDITION
    assert "ALREADY_APPROVED" in err


def test_a_rejected_promotion_leaves_the_pending_list(run: ActorRunner) -> None:
    promotion = pending_promotion(run, "appr-e")

    code, out, _ = run("reject", promotion, "--reason", "auc too low", "--json", actor="ana@lab")
    _, pending, _ = run("promotions", "appr-e", "--pending", "--json")
    _, listed, _ = run("promotions", "appr-e", "--json")

    assert code == 0
    assert cli_json(out)["state"] == "rejected"
    assert "auc too low" in cli_json(out)["reason"]
    assert cli_json(pending)["promotions"] == []
    assert [p["state"] for p in cli_json(listed)["promotions"]] == ["rejected"]
    assert "auc too low" in cli_json(listed)["promotions"][0]["reason"], "the reason is kept, not only answered"


def test_a_cancelled_promotion_can_no_longer_be_approved(run: ActorRunner) -> None:
    promotion = pending_promotion(run, "appr-f")
    cancel_code, _, _ = run("cancel", promotion, "--reason", "wrong version")

    code, _, err = run("approve", promotion, actor="ana@lab")

    assert cancel_code == 0
    assert code == cli.EXIT_PRECONDITION
    assert "PROMOTION_NOT_PENDING" in err


def test_an_unknown_promotion_exits_3_and_a_malformed_one_is_a_usage_error(run: ActorRunner) -> None:
    missing, _, missing_err = run("approve", "appr-g/99", actor="ana@lab")
    malformed, _, _ = run("approve", "appr-g@3", actor="ana@lab")

    assert missing == cli.EXIT_NOT_FOUND and "PROMOTION_NOT_FOUND" in missing_err
    assert malformed == cli.EXIT_USAGE
