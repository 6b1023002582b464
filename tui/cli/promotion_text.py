"""Promotions as text: the listing table, gate counts and the "waiting for approvals" hint."""

from __future__ import annotations

from collections.abc import Iterable

from studbook.cli.output import PLAIN, Painter, enum_label, format_time, table
from studbook.client.names import short_promotion, short_version
from studbook.client.safe_text import shows_user_text
from studbook.v1 import stages_pb2

STATE_COLOURS = {"applied": "green", "failed": "red", "rejected": "red", "pending_approval": "yellow",
                 "cancelled": "dim"}  # fmt: skip


def state_label(promotion: stages_pb2.Promotion) -> str:
    """`pending_approval` -> `pending approval`."""
    return enum_label(stages_pb2.PromotionState, promotion.state).replace("_", " ")


def is_pending(promotion: stages_pb2.Promotion) -> bool:
    return promotion.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL


def required_approvals(promotion: stages_pb2.Promotion) -> int | None:
    """How many approvals the policy asks for, or None when it asks for none."""
    return promotion.required_approvals or None


@shows_user_text
def approvals_text(promotion: stages_pb2.Promotion) -> str:
    """`1/2`, or the bare count when the number needed is unknown."""
    needed = required_approvals(promotion)
    given = len(promotion.approvals)
    return f"{given}/{needed}" if needed is not None else str(given)


def gate_counts(promotion: stages_pb2.Promotion) -> tuple[int, int]:
    """(passed, failed) over the promotion's gate results."""
    passed = sum(1 for gate in promotion.gate_results if gate.passed)
    return passed, len(promotion.gate_results) - passed


@shows_user_text
def gates_text(promotion: stages_pb2.Promotion) -> str:
    passed, failed = gate_counts(promotion)
    return f"{passed} passed" + (f", {failed} failed" if failed else "")


@shows_user_text
def waiting_line(promotion: stages_pb2.Promotion) -> str:
    """What a pending promotion waits for and the command that moves it on; "" when not pending."""
    if not is_pending(promotion):
        return ""
    needed = required_approvals(promotion)
    if needed is None:
        count = "approval"
    else:
        missing = max(needed - len(promotion.approvals), 1)
        more = " more" if promotion.approvals else ""
        count = f"{missing}{more} approval{'s' if missing != 1 else ''}"
    short = short_promotion(promotion.name)
    asker = promotion.actor or "the requester"
    return f"waiting for {count}: studbook approve {short} (anyone but {asker}); studbook reject {short} --reason ..."


@shows_user_text
def promotions_table(promotions: Iterable[stages_pb2.Promotion], paint: Painter = PLAIN) -> str:
    rows = []
    for p in promotions:
        state = enum_label(stages_pb2.PromotionState, p.state)
        colour = STATE_COLOURS.get(state)
        passed, failed = gate_counts(p)
        gates = f"{passed}/{failed}"
        rows.append((
            short_promotion(p.name),
            short_version(p.version),
            p.target + (" (alias)" if p.is_alias else ""),
            paint(state_label(p), colour) if colour else state_label(p),
            p.actor,
            paint(gates, "red") if failed else gates,
            approvals_text(p),
            format_time(p.create_time),
        ))  # fmt: skip
    return table(("PROMOTION", "VERSION", "TARGET", "STATE", "ACTOR", "GATES OK/FAILED", "APPROVALS", "CREATED"),
                 rows, paint=paint)  # fmt: skip
