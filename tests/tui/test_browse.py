"""Browsing a real registry: models, filters, paged versions, version tabs, lineage, help and `:` commands."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from studbook.tui.config import TuiSettings
from studbook.tui.messages import Resynced
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.version import VersionScreen
from studbook.tui.screens.versions import VersionsScreen
from studbook.tui.widgets.file_tree import FileTree
from studbook.tui.widgets.lineage_tree import LineageTree
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import resources_pb2
from textual import events
from textual.widgets import DataTable, TabbedContent


async def test_models_screen_shows_holders_latest_version_and_key_metric(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.91})
    seeder.version(model_id, {"auc": 0.93})
    seeder.client.promote(f"{model_id}@1", "production", reason="first")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for(pilot, lambda: model_id in ui.text(app) and "auc 0.93" in ui.text(app), "models loaded")
        await ui.wait_for_text(pilot, "● connected")
        screen = app.screen
        line = next(row for row in ui.text(app).splitlines() if model_id in row)

    assert isinstance(screen, ModelsScreen)
    assert "v1" in line  # production holder
    assert "v2 1.0.1" in line  # latest version with its semver
    assert "auc 0.93" in line


async def test_filter_goes_to_the_daemon_and_its_refusal_is_shown_inline(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.update_model(resources_pb2.Model(name=f"models/{model_id}", owner="zoe"), ["owner"])
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for_text(pilot, model_id)
        await pilot.press("slash")
        await ui.type_into(pilot, 'owner = "zoe"')
        await ui.wait_for_text(pilot, 'filter: owner = "zoe"')
        filtered = app.screen.query_one(VimTable).row_count
        await pilot.press("slash", *"owner >>> 1", "enter")  # typed key by key, as a person would
        await ui.wait_for_text(pilot, "INVALID_FILTER")
        text = ui.text(app)

    assert filtered == 1
    assert "INVALID_FILTER" in text


async def test_a_live_reload_while_a_filter_is_on_its_way_keeps_the_filter(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.update_model(resources_pb2.Model(name=f"models/{model_id}", owner="yves"), ["owner"])
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for_text(pilot, model_id)
        screen = app.screen
        list_models = app.client.list_models

        async def slow(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("filter"):
                await asyncio.sleep(0.6)  # still on its way when the reload begins
            return await list_models(*args, **kwargs)

        app.client.list_models = slow  # type: ignore[method-assign]
        await pilot.press("slash")
        await ui.type_into(pilot, 'owner = "yves"')
        screen.post_message(Resynced())  # as when the daemon was away, or another client changed a model
        await ui.wait_for_text(pilot, 'filter: owner = "yves"')
        await pilot.pause(0.5)
        rows = screen.query_one(VimTable).row_count
        status = ui.text(app)

    assert rows == 1
    assert 'filter: owner = "yves"' in status


async def test_versions_are_paged_from_the_daemon_as_the_user_scrolls(shared_daemon, seeder, model_id, ui) -> None:
    for number in range(45):
        seeder.version(model_id, {"auc": 0.8 + number / 1000})
    app = ui.app(shared_daemon.address, settings=TuiSettings(page_size=10))

    async with app.run_test(size=(160, 20)) as pilot:
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "first page")
        screen = app.screen
        await ui.wait_for(pilot, lambda: not screen.fetching, "the viewport filled")
        first_pages = len(screen.versions)
        table = screen.query_one(VimTable)
        table.focus()
        await pilot.press("j", "j", "k")
        cursor_after_jk = table.cursor_row
        await pilot.press("G")
        await ui.wait_for(pilot, lambda: screen.versions[-1].number == 1 and not screen.fetching, "the last page")
        at_end = screen.selected()
        await pilot.press("g")
        await ui.wait_for(pilot, lambda: screen.first_row == 0 and not screen.fetching, "the first page")
        at_top = screen.selected()

    assert first_pages < 45  # what fills the screen, never everything at once
    assert cursor_after_jk == 1
    assert at_end is not None and at_end.number == 1  # one `G` lands on the oldest version
    assert at_top is not None and at_top.number == 45 and table.cursor_row == 0
    assert [v.number for v in screen.versions[:3]] == [45, 44, 43]


async def test_scrolling_near_the_end_fetches_the_next_page(shared_daemon, seeder, model_id, ui) -> None:
    for number in range(70):
        seeder.version(model_id, {"auc": 0.8 + number / 1000})
    app = ui.app(shared_daemon.address, settings=TuiSettings(page_size=10))

    async with app.run_test(size=(160, 24)) as pilot:
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "first page")
        screen = app.screen
        await ui.wait_for(pilot, lambda: not screen.fetching, "the viewport filled")
        await pilot.pause(0.2)
        filled = len(screen.versions)
        await pilot.press("pagedown", "pagedown")
        await ui.wait_for(pilot, lambda: len(screen.versions) > filled and not screen.fetching, "more pages")
        scrolled = len(screen.versions)

    assert 10 <= filled < 70  # enough to fill the screen, not the whole history
    assert filled < scrolled


async def test_enter_drills_from_models_to_versions_to_a_version(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for_text(pilot, model_id)
        await pilot.press("slash")
        await ui.type_into(pilot, f'name = "{model_id}"')
        await pilot.press("escape")
        await ui.wait_for(pilot, lambda: app.screen.query_one(VimTable).row_count == 1, "filtered to one model")
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen), "version screen")
        await ui.wait_for_text(pilot, "s3://models/")
        await pilot.press("escape", "escape")
        back_home = app.screen

    assert isinstance(back_home, ModelsScreen)


async def test_version_tabs_show_metrics_params_files_card_environment_history(
    shared_daemon, seeder, model_id, ui
) -> None:
    seeder.version(model_id, {"auc": 0.9}, card="# Fraud model\n\nTrained on **January**.")
    version = seeder.version(model_id, {"auc": 0.92}, params={"max_depth": 8}, card="# Fraud model v2")
    seeder.client.log_metrics(f"{model_id}@2", {"loss": 0.9}, step=1, split="train")
    seeder.client.log_metrics(f"{model_id}@2", {"loss": 0.5}, step=2, split="train")
    seeder.client.promote(f"{model_id}@2", "staging", reason="candidate")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        app.open_version(f"{model_id}@2")
        await ui.wait_for_text(pilot, version.semver)
        seen = {}
        for key, tab, expected in (
            ("2", "metrics", "auc across versions"),
            ("3", "params", "max_depth"),
            ("6", "card", "Fraud model v2"),
            ("7", "environment", "scikit-learn"),
            ("8", "history", "candidate"),
        ):
            await pilot.press(key)
            await ui.wait_for_text(pilot, expected)
            seen[tab] = app.screen.query_one(TabbedContent).active
        await pilot.press("2")
        table = app.screen.query_one("#metric-table", DataTable)
        table.focus()
        await pilot.press("down")
        await ui.wait_for_text(pilot, "loss per step")

    assert seen == {t: t for t in seen}


async def test_files_tab_is_a_tree_of_folders_with_sizes_hashes_and_safety_flags(
    shared_daemon, seeder, model_id, ui, flagged_artifact: Path
) -> None:
    seeder.folder(model_id, flagged_artifact)
    head_sha = hashlib.sha256((flagged_artifact / "weights/head.pkl").read_bytes()).hexdigest()
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        app.open_version(f"{model_id}@1")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
        await pilot.press("5")
        await ui.wait_for_text(pilot, "model.pkl")
        closed = ui.text(app)
        await pilot.press("j", "space")  # the cursor starts on the root; folders come first
        await ui.wait_for_text(pilot, "head.pkl")
        await pilot.press("j")
        await ui.wait_for_text(pilot, head_sha)
        opened = ui.text(app)
        focused = app.focused

    assert isinstance(focused, FileTree)
    pickle_row = next(line for line in closed.splitlines() if "model.pkl" in line)
    assert "16 B" in pickle_row and "pickle" in pickle_row
    assert "unsafe-format" in pickle_row and "dangerous-global:os.system" in pickle_row
    assert "weights/" in closed and "head.pkl" not in closed  # folders open on demand
    assert "4 files" in closed and "2 flagged" in closed  # totals on the root
    head_row = next(line for line in opened.splitlines() if "head.pkl" in line)
    assert head_sha[:12] in head_row and "unknown-global:my_project.heads.Head" in head_row
    assert "imports my_project.heads.Head, which is not on the allow-list" in opened  # the highlighted file's detail


async def test_lineage_tree_expands_upstream_and_downstream_lazily(shared_daemon, seeder, model_id, ui) -> None:
    base = seeder.version(model_id, {"auc": 0.9}, data={"census": "2025"})
    seeder.version(model_id, {"auc": 0.92}, parents=((f"{model_id}@{base.number}", "fine_tuned_from"),))
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        app.open_version(f"{model_id}@1", tab="lineage")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
        tree = app.screen.query_one(LineageTree)
        upstream, downstream = tree.root.children
        before = len(upstream.children)
        upstream.expand()
        downstream.expand()
        await ui.wait_for(pilot, lambda: upstream.data.loaded and downstream.data.loaded, "both branches fetched")
        up_labels = [str(node.label) for node in upstream.children]
        down_labels = [str(node.label) for node in downstream.children]

    assert before == 0  # nothing fetched until opened
    assert any("census" in label for label in up_labels)
    assert any(f"{model_id} v2" in label or "v2" in label for label in down_labels)


async def test_help_lists_the_current_screens_bindings_with_their_ids(shared_daemon, ui) -> None:
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("question_mark")
        await ui.wait_for_text(pilot, "Keys of models")
        text = ui.text(app)
        await pilot.press("G")  # the commands follow the keys, at the end of the body
        await pilot.pause()
        text += ui.text(app)
        await pilot.press("escape")
        closed = not app.screen.is_modal

    assert "models.filter" in text and "models.sort" in text and "app.palette" in text
    assert ":versions MODEL" in text
    assert closed


async def test_command_line_opens_screens_and_explains_mistakes(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("colon")
        await ui.type_into(pilot, f"versions {model_id}")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen), "versions screen")
        await pilot.press("colon")
        await ui.type_into(pilot, "frobnicate")
        await ui.wait_for_text(pilot, "unknown command :frobnicate")
        await pilot.press("escape")
        await pilot.press("colon", *"models", "enter")  # typed key by key
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen), "models screen")
        await pilot.press("colon", "q", "enter")
        await pilot.pause()

    assert app.return_code == 0 or app.return_code is None


async def test_keymap_from_the_config_file_remaps_bindings_by_id(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address, settings=TuiSettings(keymap={"app.command": "ctrl+o"}))

    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("ctrl+o")
        await ui.type_into(pilot, f"versions {model_id}")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen), "versions screen via ctrl+o")


async def test_s_saves_a_kept_versions_files_into_a_folder_checked_by_sha256(
    shared_daemon, seeder, model_id, ui, flagged_artifact: Path, tmp_path: Path
) -> None:
    seeder.folder(model_id, flagged_artifact)
    app = ui.app(shared_daemon.address)
    expected = {p.relative_to(flagged_artifact).as_posix(): p.read_bytes()
                for p in flagged_artifact.rglob("*") if p.is_file()}  # fmt: skip

    def saved() -> dict[str, bytes]:
        return {p.relative_to(tmp_path / "saved").as_posix(): p.read_bytes()
                for p in (tmp_path / "saved").rglob("*") if p.is_file()}  # fmt: skip

    async with app.run_test(size=(120, 32)) as pilot:
        app.open_version(f"{model_id}@1")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
        await pilot.press("5", "s")
        await ui.wait_for_text(pilot, "into the folder")
        await ui.type_into(pilot, str(tmp_path / "saved"))
        await ui.wait_for(pilot, lambda: saved() == expected, "every file saved")

    assert not list((tmp_path / "saved").rglob("*.studbook-part"))


async def test_a_screen_opened_while_the_app_lacks_focus_takes_the_keys_once_it_has_it(
    shared_daemon, seeder, model_id, ui
) -> None:  # type: ignore[no-untyped-def]
    """As in a browser tab, which starts without focus: the table is focused all the same, so keys move it."""
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        app.post_message(events.AppBlur())
        await ui.wait_for(pilot, lambda: not app.app_focus, "the app without focus")
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and len(app.screen.versions) == 2)
        app.post_message(events.AppFocus())
        await pilot.press("j")
        screen = app.screen
        assert isinstance(screen, VersionsScreen)
        await ui.wait_for(pilot, lambda: screen.query_one(VimTable).cursor_row == 1, "the cursor moved by j")
