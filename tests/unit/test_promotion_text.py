"""Promotion names as typed (`m/7`), the approvals count read from the gates, and the pending hint."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.cli.promotion_text import approvals_text, gate_counts, required_approvals, waiting_line
from studbook.client import calls, names
from studbook.v1 import stages_pb2

model_ids = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)


@given(model_ids, st.integers(min_value=0, max_value=10**9))
def test_short_and_full_promotion_names_mean_the_same_promotion(model: str, number: int) -> None:
    full = f"models/{model}/promotions/{number}"

    assert names.promotion_name(f"{model}/{number}") == full
    assert names.promotion_name(full) == full
    assert names.short_promotion(full) == f"{model}/{number}"


@pytest.mark.parametrize("text", ["fraud", "fraud@3", "fraud/x", "models/fraud/versions/3", "/3", "fraud/-1", "a/b/c"])
def test_text_that_is_not_a_promotion_is_refused(text: str) -> None:
    with pytest.raises(names.InvalidName):
        names.promotion_name(text)


def test_decisions_send_the_full_promotion_name() -> None:
    call = calls.approve_promotion("fraud/7", comment="ok")

    assert call.request.name == "models/fraud/promotions/7"  # type: ignore[attr-defined]
    assert call.request.comment == "ok"  # type: ignore[attr-defined]


def test_the_actor_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(calls.ACTOR_ENV, "ana@lab")

    assert calls.actor() == "ana@lab"


def pending(approvals: int, approvers: tuple[str, ...] = ()) -> stages_pb2.Promotion:
    promotion = stages_pb2.Promotion(
        name="models/fraud/promotions/7",
        actor="asker",
        state=stages_pb2.PROMOTION_STATE_PENDING_APPROVAL,
        required_approvals=approvals,
    )
    promotion.gate_results.add(gate="version_ready", passed=True)
    promotion.gate_results.add(gate="metrics.auc", passed=False, detail="metrics.auc 0.8 < 0.9")
    promotion.gate_results.add(gate="approvals", passed=True, detail=f"needs {approvals} approval(s), none from x")
    for who in approvers:
        promotion.approvals.add(actor=who)
    return promotion


def test_the_number_of_approvals_needed_comes_from_the_promotion() -> None:
    promotion = pending(2, ("ana",))

    assert required_approvals(promotion) == 2
    assert approvals_text(promotion) == "1/2"
    assert gate_counts(promotion) == (2, 1)


def test_a_pending_promotion_says_how_many_approvals_it_waits_for_and_how_to_give_one() -> None:
    assert waiting_line(pending(2)).startswith("waiting for 2 approvals: studbook approve fraud/7 (anyone but asker)")
    assert waiting_line(pending(2, ("ana",))).startswith("waiting for 1 more approval: studbook approve fraud/7")
    assert waiting_line(stages_pb2.Promotion(state=stages_pb2.PROMOTION_STATE_APPLIED)) == ""
