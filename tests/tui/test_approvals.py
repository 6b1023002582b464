"""The pending-approvals screen: gates with their figures, approve with a comment, reject with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from studbook.client import calls
from studbook.client.clients import Client
from studbook.tui.screens.approvals import ApprovalsScreen
from studbook.tui.screens.decision import DecisionDialog
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import stages_pb2

POLICY = """
[[models]]
pattern = "ui-*"
[models.gates.production]
metrics = ["auc >= 0.9"]
approvals = 1
"""
ASKER = "asker@lab"


@pytest.fixture
def address(daemon_factory, short_dir: Path) -> str:  # type: ignore[no-untyped-def]
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY)
    return str(daemon_factory("--policy", str(policy)).address)


def ask_for_production(
    address: str, models: list[str], monkeypatch: pytest.MonkeyPatch, actor: str = ASKER
) -> list[str]:
    """Registers each model and asks, as `actor` (not this user), to promote it; returns the promotions."""
    monkeypatch.setenv("STUDBOOK_ACTOR", actor)
    with Client(address) as client:
        names = []
        for model in models:
            client.register(model, uri=f"s3://b/{model}", metrics={"auc": 0.95}, environment=False, git=False)
            names.append(client.promote(f"{model}@1", "production", reason="ship it").name)
    monkeypatch.delenv("STUDBOOK_ACTOR")
    return names


def state_of(address: str, name: str) -> int:
    with Client(address) as client:
        return client.get_promotion(name).state


async def open_with_rows(app: Any, pilot: Any, ui: Any, count: int, key: str = "") -> ApprovalsScreen:
    """Opens the screen with `key` from the models screen, else through the app's verb."""
    if key:
        await pilot.press(key)
    else:
        app.open_approvals()
    await ui.wait_for(pilot, lambda: isinstance(app.screen, ApprovalsScreen), "approvals screen")
    screen = app.screen
    await ui.wait_for(pilot, lambda: len(screen.promotions) == count, f"{count} pending promotions")
    assert isinstance(screen, ApprovalsScreen)
    return screen


def point_at(screen: ApprovalsScreen, name: str) -> None:
    row = [p.name for p in screen.promotions].index(name)
    screen.query_one(VimTable).move_cursor(row=row)


async def test_an_approver_approves_one_promotion_and_rejects_another(
    address: str, monkeypatch: pytest.MonkeyPatch, ui: Any
) -> None:
    approved, rejected = ask_for_production(address, ["ui-a", "ui-b"], monkeypatch)
    app = ui.app(address)

    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_with_rows(app, pilot, ui, 2, key="A")
        point_at(screen, approved)
        await ui.wait_for_text(pilot, "metrics.auc 0.95 >= 0.9")  # the gate's figures, under the list
        await pilot.press("a")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog), "comment dialog")
        await ui.type_into(pilot, "fine by me")
        await ui.wait_for(pilot, lambda: approved not in [p.name for p in screen.promotions], "approved one leaves")
        point_at(screen, rejected)
        await pilot.press("x")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog), "reason dialog")
        await ui.type_into(pilot, "")  # a rejection needs a reason: the dialog stays
        assert isinstance(app.screen, DecisionDialog)
        await ui.type_into(pilot, "too risky")
        await ui.wait_for(pilot, lambda: not screen.promotions, "rejected one leaves")
        await ui.wait_for_text(pilot, "no promotions waiting for approval")

    assert state_of(address, approved) == stages_pb2.PROMOTION_STATE_APPLIED
    assert state_of(address, rejected) == stages_pb2.PROMOTION_STATE_REJECTED


async def test_approving_your_own_promotion_shows_the_reason_code(
    address: str, monkeypatch: pytest.MonkeyPatch, ui: Any
) -> None:
    [own] = ask_for_production(address, ["ui-c"], monkeypatch, actor=calls.actor())
    app = ui.app(address)

    # The refusal is told in a notification (tests run without them unless asked) and on the status
    # line, which a live reload may have rewritten by the time it is read.
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await open_with_rows(app, pilot, ui, 1)
        await pilot.press("a")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog), "comment dialog")
        await ui.type_into(pilot, "")
        await ui.wait_for_text(pilot, "SELF_APPROVAL")

    assert state_of(address, own) == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL


async def test_a_readonly_ui_lists_pending_promotions_but_cannot_decide(
    address: str, monkeypatch: pytest.MonkeyPatch, ui: Any
) -> None:
    ask_for_production(address, ["ui-d"], monkeypatch)
    app = ui.app(address, readonly=True)

    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_with_rows(app, pilot, ui, 1)
        await pilot.press("a", "x")
        await pilot.pause(0.1)

        assert app.screen is screen
        assert "Approve" not in ui.text(app)


async def test_the_pane_shows_a_long_reason_and_every_gate_whole_at_80_by_24(
    address: str, monkeypatch: pytest.MonkeyPatch, ui: Any
) -> None:
    reason = " ".join(f"because{n:02d}" for n in range(30))
    monkeypatch.setenv("STUDBOOK_ACTOR", ASKER)
    with Client(address) as client:
        for model, why in (("ui-long", reason), ("ui-short", "short one")):
            client.register(model, uri=f"s3://b/{model}", metrics={"auc": 0.95}, environment=False, git=False)
            client.promote(f"{model}@1", "production", reason=why)
    monkeypatch.delenv("STUDBOOK_ACTOR")
    app = ui.app(address)

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_with_rows(app, pilot, ui, 2)
        short = next(p.name for p in screen.promotions if p.model == "models/ui-short")
        point_at(screen, short)
        await ui.wait_for(pilot, lambda: ui.pane_field(app, "reason")[0] == "short one", "the pane on ui-short")
        # The pane follows the cursor.
        await pilot.press("k" if screen.query_one(VimTable).cursor_row else "j")
        await ui.wait_for_text(pilot, "because00")
        await pilot.pause(0.1)

        shown, rows = ui.pane_field(app, "reason")
        assert len(rows) > 1 and shown == reason
        # Each gate on its own line, with its verdict and the daemon's figures.
        assert "gate      pass metrics.auc  metrics.auc 0.95 >= 0.9" in ui.text(app)


async def test_the_pane_says_which_version_approving_replaces_now(
    address: str, monkeypatch: pytest.MonkeyPatch, ui: Any
) -> None:
    """Asked for while v1 held production; v2 took it since: approving replaces v2, and the pane says so."""
    [first] = ask_for_production(address, ["ui-swap"], monkeypatch)
    with Client(address) as client:
        client.approve_promotion(first)  # this user approves: v1 holds production
        for _ in range(2):
            client.register("ui-swap", uri="s3://b/ui-swap", metrics={"auc": 0.95}, environment=False, git=False)
    monkeypatch.setenv("STUDBOOK_ACTOR", ASKER)
    with Client(address) as client:
        waiting = client.promote("ui-swap@3", "production", reason="the newest").name
        second = client.promote("ui-swap@2", "production", reason="a quick fix").name
    monkeypatch.delenv("STUDBOOK_ACTOR")
    with Client(address) as client:
        client.approve_promotion(second)  # v2 holds production now
    app = ui.app(address)

    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_with_rows(app, pilot, ui, 1)
        point_at(screen, waiting)
        await ui.wait_for_text(pilot, "replacing v2 now (v1 when asked)")
