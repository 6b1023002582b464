"""Changing the registry from the UI: diff, promote (dry run first), refusals, rollback, read-only mode."""

from __future__ import annotations

from studbook.tui.screens.diff import DiffScreen
from studbook.tui.screens.promote import PromoteDialog
from studbook.tui.screens.rollback import RollbackDialog
from studbook.tui.screens.versions import VersionsScreen
from studbook.tui.widgets.change_table import ChangeTable
from studbook.tui.widgets.vim_table import VimTable
from textual.widgets import Button, Input


async def test_two_marked_versions_are_diffed_side_by_side(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.90, "loss": 0.30}, params={"lr": 0.1, "depth": 6}, card="# v1\nold text")
    seeder.version(model_id, {"auc": 0.93, "loss": 0.35}, params={"lr": 0.1, "depth": 8}, card="# v2\nnew text")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        await pilot.press("space", "space", "d")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff, "diff")
        text = ui.text(app)
        params = app.screen.query_one("#section-params", ChangeTable)
        every_param = params.row_count
        await pilot.press("u")
        only_changed = params.row_count

    assert f"{model_id} v1" in text and f"{model_id} v2" in text  # older one is the base
    assert "+0.03 (+3.3%) ▲" in text  # auc went up: better
    assert "+0.05 (+16.7%) ▼" in text  # loss went up: worse
    assert "compatible" in text
    assert "+# v2" in text and "-# v1" in text
    assert every_param == 2 and only_changed == 1


async def test_promotion_checks_gates_first_and_production_needs_the_model_name(
    shared_daemon, seeder, model_id, ui
) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        app.start_promote(f"{model_id}@1", "production")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, PromoteDialog) and app.screen.model, "dialog")
        dialog = app.screen
        # The dry run runs on opening: no key needed to see the gates.
        await ui.wait_for(pilot, lambda: dialog.checked_target == "production", "dry run passed")
        await ui.wait_for_text(pilot, "pass version_ready")
        after_dry_run = seeder.client.get_model(model_id).stage_holders.get("production")
        gates_text = ui.text(app)
        await pilot.press(*"first release", "enter")
        await ui.wait_for_text(pilot, f"type {model_id} exactly")
        dialog.query_one("#confirm", Input).value = model_id
        dialog.query_one("#promote", Button).press()
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, PromoteDialog), "dialog closed")

    assert after_dry_run is None  # the dry run changed nothing
    assert "pass version_ready" in gates_text
    assert seeder.client.get_model(model_id).stage_holders["production"] == f"models/{model_id}/versions/1"
    history = seeder.client.stage_history(model_id).changes
    assert history[0].reason == "first release"


async def test_promoting_an_archived_version_is_refused_before_anything_is_confirmed(
    shared_daemon, seeder, model_id, ui
) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    seeder.client.archive_version(f"{model_id}@1")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        app.start_promote(f"{model_id}@1", "staging")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, PromoteDialog) and app.screen.model, "dialog")
        await ui.wait_for_text(pilot, "the daemon will refuse this")
        await ui.wait_for_text(pilot, "FAIL version_ready")
        dry_run = ui.text(app)
        disabled = app.screen.query_one("#promote", Button).disabled
        await pilot.press(*"try it", "enter")
        await ui.wait_for_text(pilot, "the gates refuse this promotion")
        still_open = isinstance(app.screen, PromoteDialog)

    assert "FAIL version_ready" in dry_run
    assert disabled and still_open
    assert "staging" not in seeder.client.get_model(model_id).stage_holders


async def test_rollback_is_one_key_and_a_confirmation(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    seeder.client.promote(f"{model_id}@1", "production", reason="first")
    seeder.client.promote(f"{model_id}@2", "production", reason="second")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        await pilot.press("R")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, RollbackDialog), "confirmation")
        await ui.wait_for_text(pilot, "held by v2; rolling back brings back v1")
        await pilot.press(*"latency regression")  # a `y` in the reason types, it never confirms
        assert isinstance(app.screen, RollbackDialog)
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, RollbackDialog), "rolled back")
        await ui.wait_for(pilot, lambda: "production" in app.screen.versions[-1].stages, "table shows the new holder")

    assert seeder.client.get_model(model_id).stage_holders["production"] == f"models/{model_id}/versions/1"
    [last] = seeder.client.stage_history(model_id, stage="production", page_size=1).changes
    assert last.reason == "latency regression"


async def test_the_rollback_dialog_says_what_repeated_rollbacks_really_bring_back(
    shared_daemon, seeder, model_id, ui
) -> None:
    for number in (1, 2, 3):
        seeder.version(model_id, {"auc": 0.9})
        seeder.client.promote(f"{model_id}@{number}", "production", reason=f"v{number}")
    seeder.client.rollback(model_id, "production", reason="back to 2")
    planned = seeder.client.rollback(model_id, "production", validate_only=True)
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        app.start_rollback(model_id, "production")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, RollbackDialog), "confirmation")
        await ui.wait_for_text(pilot, f"held by v2; rolling back brings back v{planned.version.rsplit('/', 1)[-1]}")
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: not isinstance(app.screen, RollbackDialog), "rolled back")

    assert seeder.client.get_model(model_id).stage_holders["production"] == planned.version


async def test_rollback_without_a_previous_holder_shows_the_daemons_reason(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "production", reason="the only one")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        app.start_rollback(model_id, "production")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, RollbackDialog), "confirmation")
        await ui.wait_for_text(pilot, "NO_PREVIOUS_HOLDER")
        await pilot.press("enter")
        confirm = app.screen.query_one("#confirm").disabled

    assert confirm  # nothing to confirm
    assert seeder.client.get_model(model_id).stage_holders["production"] == f"models/{model_id}/versions/1"


async def test_readonly_hides_every_action_that_changes_the_registry(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address, readonly=True)

    async with app.run_test(size=(160, 50)) as pilot:
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        await ui.wait_for_text(pilot, "Mark")
        footer = ui.text(app).splitlines()[-1]
        await pilot.press("p", "R")
        await pilot.pause(0.2)
        still_versions = isinstance(app.screen, VersionsScreen)
        await pilot.press("colon")
        await ui.type_into(pilot, f"promote {model_id}@1 staging")
        await ui.wait_for_text(pilot, "changes the registry, and this UI is read-only")

    assert "Promote" not in footer and "Rollback" not in footer and "Mark" in footer
    assert still_versions


async def test_a_version_registered_elsewhere_appears_without_a_refresh(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        await ui.wait_for(pilot, lambda: app.connection.value == "connected", "watching")
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        screen = app.screen
        seeder.version(model_id, {"auc": 0.95})
        await ui.wait_for(pilot, lambda: len(screen.versions) == 2, "the new version, live")
        table_rows = screen.query_one(VimTable).row_count
        newest = screen.versions[0].number

    assert table_rows == 2 and newest == 2


async def test_a_viewer_token_turns_the_ui_read_only(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    secret = seeder.client.create_token(f"tui-{model_id}", "viewer").secret
    app = ui.app(shared_daemon.address, token=secret)

    async with app.run_test(size=(160, 50)) as pilot:
        await ui.wait_for_text(pilot, f"tui-{model_id} (viewer)")
        await ui.wait_for_text(pilot, "read-only")
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        await ui.wait_for_text(pilot, "read-only")
        footer = ui.text(app).splitlines()[-1]

    assert app.readonly
    assert "Promote" not in footer and "Rollback" not in footer


async def test_a_maintainer_token_keeps_its_actions(shared_daemon, seeder, model_id, ui) -> None:
    secret = seeder.client.create_token(f"tui-{model_id}", "maintainer").secret
    app = ui.app(shared_daemon.address, token=secret)

    async with app.run_test(size=(160, 50)) as pilot:
        await ui.wait_for_text(pilot, f"tui-{model_id} (maintainer)")
        shown = ui.text(app)

    assert not app.readonly and "read-only" not in shown


async def test_the_diff_screen_names_a_reshaped_tensor_and_the_parameter_change(shared_daemon, model_id, ui,
                                                                                 tmp_path) -> None:  # fmt: skip
    from studbook.client import calls
    from studbook.client.clients import Client
    from unit.formats.builders import safetensors_bytes

    with Client(shared_daemon.address) as client:
        for number, rows in ((1, 4), (2, 8)):
            folder = tmp_path / str(number)
            folder.mkdir()
            (folder / "model.safetensors").write_bytes(
                safetensors_bytes({"embed": ("F32", [rows, 2], bytes(rows * 2 * 4)), "bias": ("F32", [2], bytes(8))})
            )
            client.register_version(calls.register_request(model_id, path=folder, git=False, created_from="test"))
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        app.open_diff(f"{model_id}@1", f"{model_id}@2")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff, "diff")
        await pilot.press("9")
        await pilot.pause(0.1)
        text = ui.text(app)
        tensors = app.screen.query_one("#section-tensors", ChangeTable)
        every_tensor = tensors.row_count
        facts = {row.key.plain: (row.base.plain, row.target.plain)
                 for row in app.screen.query_one("#section-format", ChangeTable).rows_all}  # fmt: skip

    assert "reshaped" in text and "F32 [4, 2]" in text and "F32 [8, 2]" in text
    assert facts["parameters"] == ("10", "18")
    assert every_tensor == 2  # embed changed, bias unchanged
