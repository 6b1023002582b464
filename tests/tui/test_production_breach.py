"""A stage in breach in the UI: a badge on the models screen, the findings and the candidate on the
version screen, and `c` putting the candidate back after the daemon's dry run of exactly that rollback.

v1 served production well, v2 less so, v3 badly: the monitor breaches on v3, and its candidate
is v1, although a plain rollback would bring back v2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from studbook.client import calls
from studbook.client.clients import Client
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.rollback import RollbackDialog
from studbook.tui.screens.version import VersionScreen
from textual.widgets import Input, Static

MODEL = "mon-fraud"
POLICY = """
[[models]]
pattern = "mon-*"
[models.monitors.production]
metrics = ["auc >= 0.90"]
"""


def observe(client: Client, auc: float) -> None:
    client.observe(f"{MODEL}@production", {"auc": auc})


@pytest.fixture
def breached(daemon_factory, short_dir: Path) -> str:  # type: ignore[no-untyped-def]
    """A daemon whose policy watches production's auc, with production in breach on v3."""
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY)
    address = str(daemon_factory("--policy", str(policy)).address)
    with Client(address) as client:
        for auc in (0.93, 0.94, 0.95):
            client.register_version(
                calls.register_request(MODEL, uri=f"s3://m/{auc}/", metrics={"auc": auc}, git=False)
            )
        for number, production_auc in ((1, 0.96), (2, 0.91), (3, 0.80)):
            client.promote(f"{MODEL}@{number}", "production", reason=f"v{number} is better")
            observe(client, production_auc)
    return address


async def test_the_models_screen_badges_a_model_in_breach(breached: str, ui: Any) -> None:
    app = ui.app(breached, live=False)
    async with app.run_test(size=(100, 24)) as pilot:
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen) and app.screen.breached, "badge")
        assert app.screen.breached == {f"models/{MODEL}": ["production"]}
        row = next(line for line in ui.text(app).splitlines() if MODEL in line)
        assert "⚠ production" in row


async def test_c_shows_the_candidates_dry_run_and_rolls_back_with_the_typed_reason(breached: str, ui: Any) -> None:
    app = ui.app(breached, live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_version(f"{MODEL}@3")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.breaches, "breach")
        await ui.wait_for_text(pilot, "candidate v1")
        shown = " ".join(ui.text(app).split())  # the notice wraps at 80 columns
        assert "⚠ production in breach" in shown and "(held by this version)" in shown
        # The candidate on a line of its own (no escaped newline between them).
        assert "auc >= 0.90: auc at 0.8 candidate v1 (c puts it back): v1 held production" in shown
        await ui.wait_for_text(pilot, "c Candidate")  # the footer offers the key only now
        assert "candidate v1 (c puts it back)" in shown

        await pilot.press("c")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, RollbackDialog), "dialog")
        dialog: RollbackDialog = app.screen
        await ui.wait_for_text(pilot, "rolling back brings back v1")
        shown = " ".join(ui.text(app).split())
        assert f"Roll back production of {MODEL} to v1?" in shown
        context = str(dialog.query_one("#rollback-context", Static).content)
        assert context.startswith("production is held by v3; rolling back brings back v1\nv1 held production from")
        # Every key goes to the reason: a letter typed can never confirm.
        assert isinstance(app.focused, Input) and app.focused.id == "reason"
        await pilot.press(*"auc fell to 0.8")
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: app.screen is not dialog, "the dialog closed")

    with Client(breached) as client:
        assert client.get_version(f"{MODEL}@production").number == 1
        change = client.stage_history(MODEL, stage="production").changes[0]
    assert change.rollback and change.reason == "auc fell to 0.8"


async def test_without_a_breach_the_key_does_nothing_and_is_not_offered(breached: str, ui: Any) -> None:
    with Client(breached) as client:
        client.register_version(calls.register_request("other", uri="s3://o/", metrics={"auc": 0.9}, git=False))
    app = ui.app(breached, live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_version("other@1")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
        await pilot.pause(0.3)
        await pilot.press("c")
        await pilot.pause(0.2)
        assert isinstance(app.screen, VersionScreen)
        assert "c Candidate" not in ui.text(app)


async def test_the_badge_comes_and_goes_with_drift_events(breached: str, ui: Any) -> None:
    """Live: the models screen follows drift.detected and drift.cleared without a refresh."""
    with Client(breached) as client:
        observe(client, 0.95)  # v3 recovers: drift.cleared
    app = ui.app(breached)
    async with app.run_test(size=(100, 24)) as pilot:
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen) and app.screen.models, "models")
        await pilot.pause(0.5)
        assert not app.screen.breached
        with Client(breached) as client:
            observe(client, 0.7)
        await ui.wait_for_text(pilot, "⚠ production")
        with Client(breached) as client:
            observe(client, 0.96)
        await ui.wait_for(pilot, lambda: "⚠ production" not in ui.text(app), "the badge gone")


async def test_help_lists_the_candidate_key(breached: str, ui: Any) -> None:
    app = ui.app(breached, live=False)
    async with app.run_test(size=(100, 40)) as pilot:
        app.open_version(f"{MODEL}@3")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.breaches, "breach")
        await pilot.press("question_mark")
        await ui.wait_for_text(pilot, "version.candidate")
        row = next(line for line in ui.text(app).splitlines() if "version.candidate" in line)
        assert " c " in row and "Candidate" in row


async def test_the_notice_follows_the_monitor_live(breached: str, ui: Any) -> None:
    with Client(breached) as client:
        observe(client, 0.95)  # recovered before the screen opens
    app = ui.app(breached)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_version(f"{MODEL}@3", "production")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
        await ui.wait_for_text(pilot, "held production")
        assert "in breach" not in ui.text(app)
        with Client(breached) as client:
            observe(client, 0.7)
        await ui.wait_for_text(pilot, "⚠ production in breach")
        await ui.wait_for_text(pilot, "c Candidate")
        with Client(breached) as client:
            observe(client, 0.97)
        await ui.wait_for(pilot, lambda: "in breach" not in ui.text(app), "the notice gone")
        await ui.wait_for(pilot, lambda: "c Candidate" not in ui.text(app), "the key withdrawn")
