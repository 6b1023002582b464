"""The promote dialog: the next stage picked, the daemon's dry run shown at once, a reason and enter.

And the dialogs that change the registry (promote, roll back, approve/reject) fit at 80×24:
every part of them lies inside the dialog and on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.client.clients import Client
from studbook.tui.screens.decision import DecisionDialog
from studbook.tui.screens.promote import NEW_ALIAS, PromoteDialog, suggested_target, target_choices
from studbook.tui.screens.rollback import RollbackDialog
from studbook.v1 import resources_pb2, stages_pb2
from textual.geometry import Region
from textual.widgets import Button, Select

SMALL = (80, 24)
# Production waits for one approval and runs several gates, one of them with a long detail.
POLICY = """
[[models]]
pattern = "pol-*"
[models.gates.production]
require = ["model_card", "tag:team"]
metrics = ["auc >= 0.9"]
beat_holder = ["auc"]
approvals = 1
"""


async def open_dialog(app: Any, pilot: Any, ui: Any, ref: str, target: str = "") -> PromoteDialog:
    """Opens the dialog on `ref` and waits for the first dry run (or its refusal) to be on screen."""
    app.start_promote(ref, target)
    await ui.wait_for(pilot, lambda: isinstance(app.screen, PromoteDialog) and app.screen.model, "dialog")
    dialog: PromoteDialog = app.screen
    await ui.wait_for(pilot, lambda: dialog.dry_run is not None or "refused" in ui.text(app), "the dry run")
    # The verdicts are on screen once the gate rows are painted.
    await ui.wait_for(pilot, lambda: " version_ready " in ui.text(app) or "refused" in ui.text(app), "the gates")
    return dialog


def holder(client: Client, model: str, stage: str) -> str:
    return client.get_model(model).stage_holders.get(stage, "")


def inside(part: Region, whole: Region) -> bool:
    return part.area > 0 and whole.contains_region(part)


async def test_a_version_in_staging_opens_on_production_with_the_gates_already_listed(
    shared_daemon, seeder, model_id, ui
) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "staging", reason="candidate")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_dialog(app, pilot, ui, f"{model_id}@1")
        text = ui.text(app)
        picked = dialog.query_one("#target", Select).value
        focused = app.focused.id if app.focused else None

    assert picked == "production"
    # Listed without any key pressed: the verdicts of the dry run, and what it would do.
    assert "pass version_ready" in text and "pass not_current_holder" in text
    assert "production is empty: nothing is replaced" in text
    assert "applies at once: no approvals needed" in text
    assert focused == "reason"
    assert holder(seeder.client, model_id, "production") == ""  # the dry run changed nothing


async def test_a_refused_gate_disables_confirm_and_enter_changes_nothing(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "staging", reason="candidate")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        # v1 already holds staging: the not_current_holder gate refuses.
        dialog = await open_dialog(app, pilot, ui, f"{model_id}@1", "staging")
        disabled = dialog.query_one("#promote", Button).disabled
        text = ui.text(app)
        await pilot.press(*"again", "enter")
        await pilot.pause()
        after_enter = ui.text(app)
        still_open = app.screen is dialog

    assert disabled
    assert "FAIL not_current_holder" in text and "the daemon will refuse this" in text
    assert "the gates refuse this promotion" in after_enter
    assert still_open
    assert len(seeder.client.stage_history(model_id).changes) == 1


async def test_changing_the_target_checks_it_again(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "staging", reason="candidate")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_dialog(app, pilot, ui, f"{model_id}@1")
        enabled_for_production = not dialog.query_one("#promote", Button).disabled
        dialog.query_one("#target", Select).value = "staging"
        await ui.wait_for(pilot, lambda: dialog.checked_target == "staging", "the dry run of staging")
        disabled_for_staging = dialog.query_one("#promote", Button).disabled

    assert enabled_for_production and disabled_for_staging


async def test_typing_a_reason_and_enter_promotes(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "development", reason="trained")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=SMALL) as pilot:
        await open_dialog(app, pilot, ui, f"{model_id}@1")
        await pilot.press(*"ready for shadow traffic", "enter")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, PromoteDialog), "dialog closed")

    assert holder(seeder.client, model_id, "staging") == f"models/{model_id}/versions/1"
    assert seeder.client.stage_history(model_id).changes[0].reason == "ready for shadow traffic"


async def test_a_model_changed_meanwhile_is_checked_again_before_promoting(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=SMALL) as pilot:
        dialog = await open_dialog(app, pilot, ui, f"{model_id}@1")
        seeder.client.promote(f"{model_id}@2", "staging", reason="elsewhere")  # the etag the dialog read is stale
        await pilot.press(*"first cut", "enter")
        await ui.wait_for_text(pilot, "the model changed meanwhile")
        not_yet = holder(seeder.client, model_id, "development")
        await ui.wait_for(pilot, lambda: not dialog.query_one("#promote", Button).disabled, "checked again")
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, PromoteDialog), "dialog closed")

    assert not_yet == ""
    assert holder(seeder.client, model_id, "development") == f"models/{model_id}/versions/1"
    assert seeder.client.stage_history(model_id).changes[0].reason == "first cut"


async def test_a_promotion_needs_a_reason(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=SMALL) as pilot:
        dialog = await open_dialog(app, pilot, ui, f"{model_id}@1")
        await pilot.press("enter")
        await ui.wait_for_text(pilot, "give a reason")
        still_open = app.screen is dialog
        await pilot.press("escape")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, PromoteDialog), "dialog closed by escape")

    assert still_open
    assert seeder.client.get_model(model_id).stage_holders == {}


async def test_production_asks_for_the_model_name(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "staging", reason="candidate")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=SMALL) as pilot:
        await open_dialog(app, pilot, ui, f"{model_id}@1")
        await pilot.press(*"beats the holder", "enter")
        await ui.wait_for_text(pilot, f"type {model_id} exactly")
        not_yet = holder(seeder.client, model_id, "production")
        focused = app.focused.id if app.focused else None
        await pilot.press(*model_id, "enter")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, PromoteDialog), "dialog closed")

    assert not_yet == ""
    assert focused == "confirm"
    assert holder(seeder.client, model_id, "production") == f"models/{model_id}/versions/1"


async def test_a_new_alias_is_typed_in_the_picker(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_dialog(app, pilot, ui, f"{model_id}@1")
        dialog.query_one("#target", Select).value = NEW_ALIAS
        await pilot.pause()
        dialog.query_one("#alias").focus()
        await pilot.press(*"champion")
        await ui.wait_for(pilot, lambda: dialog.checked_target == "champion", "the dry run of the alias")
        text = ui.text(app)
        dialog.query_one("#reason").focus()
        await pilot.press(*"best so far", "enter")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, PromoteDialog), "dialog closed")

    assert "creates alias champion on v1" in text
    assert seeder.client.get_model(model_id).aliases["champion"] == f"models/{model_id}/versions/1"


async def test_a_target_given_on_the_command_line_is_picked(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "stable", reason="pinned")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_dialog(app, pilot, ui, f"{model_id}@1", "stable")
        picked = dialog.query_one("#target", Select).value
        text = ui.text(app)

    assert picked == "stable"  # the existing alias, not a new one
    assert "FAIL not_current_holder" in text


@pytest.fixture
def policy_daemon(daemon_factory, short_dir: Path) -> str:  # type: ignore[no-untyped-def]
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY)
    return str(daemon_factory("--policy", str(policy)).address)


async def test_a_promotion_that_waits_for_approval_says_so(policy_daemon: str, ui) -> None:
    client = Client(policy_daemon)
    client.register("pol-a", uri="s3://b/pol-a", metrics={"auc": 0.95}, tags={"team": "risk"},
                    model_card="# card", environment=False, git=False)  # fmt: skip
    client.promote("pol-a@1", "staging", reason="candidate")
    app = ui.app(policy_daemon)

    async with app.run_test(size=SMALL) as pilot:
        dialog = await open_dialog(app, pilot, ui, "pol-a@1")
        before = ui.text(app)
        await pilot.press(*"ship it", "tab", *"pol-a", "enter")
        await ui.wait_for_text(pilot, "not promoted yet")
        after = ui.text(app)
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, PromoteDialog), "dialog closed")
        result = dialog.waiting

    assert "then waits for 1 approval" in before
    assert "waits for 1 approval; nothing changed" in after and "promoted" not in after.replace("not promoted", "")
    assert result is not None and result.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL
    assert client.get_model("pol-a").stage_holders.get("production") is None
    client.close()


@pytest.mark.parametrize("size", [SMALL, (100, 39), (120, 40)], ids=["80x24", "100x39", "120x40"])
async def test_every_part_of_the_promote_dialog_is_inside_it(policy_daemon: str, ui, size: tuple[int, int]) -> None:
    with Client(policy_daemon) as client:
        client.register("pol-b", uri="s3://b/pol-b", metrics={"auc": 0.8}, environment=False, git=False)
        client.promote("pol-b@1", "staging", reason="candidate")
    app = ui.app(policy_daemon)

    async with app.run_test(size=size) as pilot:
        dialog = await open_dialog(app, pilot, ui, "pol-b@1")
        await pilot.press(*"try", "enter")  # a refusal fills the result line
        await ui.wait_for_text(pilot, "the gates refuse")
        box = dialog.query_one("#dialog").region
        screen = Region(0, 0, *size)
        parts = {name: dialog.query_one(name).region for name in
                 ("#target", "#gates", "#promote-outcome", "#reason", "#confirm", "#promote-result", "#promote",
                  "#cancel")}  # fmt: skip
        gates = dialog.query_one("#gates")
        failed = [g.gate for g in dialog.dry_run.gate_results if not g.passed] if dialog.dry_run else []

    assert inside(box, screen)
    for name, region in parts.items():
        assert inside(region, box), f"{name} at {region} is not inside the dialog at {box}"
    assert len(failed) >= 3
    if size == SMALL:  # more gates than room: they scroll inside the dialog rather than push the rest out
        assert gates.virtual_size.height > gates.size.height


async def test_at_80x24_the_rollback_and_decision_dialogs_fit(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    seeder.client.promote(f"{model_id}@1", "production", reason="first")
    seeder.client.promote(f"{model_id}@2", "production", reason="second")
    app = ui.app(shared_daemon.address)
    screen = Region(0, 0, *SMALL)

    async with app.run_test(size=SMALL) as pilot:
        app.start_rollback(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, RollbackDialog), "rollback dialog")
        await ui.wait_for_text(pilot, "brings back v1")
        rollback = app.screen
        rollback_box = rollback.query_one("#dialog").region
        rollback_parts = [rollback.query_one(n).region for n in ("#rollback-context", "#reason", "#confirm", "#cancel")]
        await pilot.press("escape")
        app.push_screen(DecisionDialog("Reject the promotion of fraud v9 to production", "Reason", "Reject",
                                       required=True))  # fmt: skip
        await pilot.pause()
        await pilot.press("enter")
        await ui.wait_for_text(pilot, "a reason is required")
        decision = app.screen
        decision_box = decision.query_one("#dialog").region
        decision_parts = [decision.query_one(n).region for n in ("#decision-text", "#decision-problem", "#confirm")]

    assert inside(rollback_box, screen) and inside(decision_box, screen)
    assert all(inside(part, rollback_box) for part in rollback_parts)
    assert all(inside(part, decision_box) for part in decision_parts)


# ---- the rules behind the picker ----

STAGES = st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=5, unique=True)


@given(STAGES, st.data())
def test_the_suggested_target_is_the_stage_after_the_highest_held(stages: list[str], data: st.DataObject) -> None:
    held = data.draw(st.lists(st.sampled_from(stages), unique=True))
    version = resources_pb2.ModelVersion(stages=held)

    target = suggested_target(version, stages)

    if not held:
        assert target == stages[0]
    else:
        highest = max(stages.index(s) for s in held)
        assert target == stages[min(highest + 1, len(stages) - 1)]


@given(STAGES, st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.integers(1, 99), max_size=3))
def test_the_picker_lists_the_stages_in_order_then_aliases_then_a_new_alias(
    stages: list[str], aliases: dict[str, int]
) -> None:
    model = resources_pb2.Model(
        name="models/m", stages=stages, aliases={a: f"models/m/versions/{n}" for a, n in aliases.items()}
    )

    values = [value for _, value in target_choices(model)]

    assert values[: len(stages)] == stages
    assert values[len(stages) : -1] == sorted(aliases)
    assert values[-1] == NEW_ALIAS
