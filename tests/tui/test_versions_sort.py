"""The versions table: sorted by any metric by the daemon, best first; fixed metric columns that fit the terminal."""

from __future__ import annotations

from studbook.tui.config import TuiSettings
from studbook.tui.screens.sort_picker import SortPicker
from studbook.tui.screens.versions import VersionsScreen
from studbook.tui.widgets.window_table import WindowTable

SCROLLBAR_GLYPHS = "▁▂▃▄▅▆▇█▉▊▋▌▍▎▏"


async def open_versions(pilot, app, model: str, ui) -> VersionsScreen:  # type: ignore[no-untyped-def]
    app.open_versions(model)
    await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
    screen = app.screen
    await ui.wait_for(pilot, lambda: not screen.fetching, "the first page")
    return screen


def headers(screen: VersionsScreen) -> list[str]:
    return [column.label.plain for column in screen.query_one(WindowTable).ordered_columns]


def numbers(screen: VersionsScreen) -> list[int]:
    return [version.number for version in screen.versions]


async def test_picking_a_metric_sorts_every_version_best_first(shared_daemon, seeder, model_id, ui) -> None:
    # Older than the first page: the best auc and the lowest loss must still come first.
    seeder.version(model_id, {"auc": 0.97, "val_loss": 0.40})
    seeder.version(model_id, {"auc": 0.91, "val_loss": 0.12})
    for number in range(25):
        seeder.version(model_id, {"auc": 0.80 + number / 1000, "val_loss": 0.5 + number / 100})
    app = ui.app(shared_daemon.address, settings=TuiSettings(page_size=10, key_metrics=("auc",)))

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_versions(pilot, app, model_id, ui)
        await pilot.press("S")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, SortPicker), "the sort picker")
        await pilot.press(*"val_loss", "enter")
        await ui.wait_for(pilot, lambda: screen.sort.metric == "val_loss" and not screen.fetching, "sorted by loss")
        by_loss = numbers(screen)[:3]
        loss_text = ui.text(app)
        await pilot.press("S")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, SortPicker), "the sort picker")
        await pilot.press(*"auc", "enter")
        await ui.wait_for(pilot, lambda: screen.sort.metric == "auc" and not screen.fetching, "sorted by auc")
        by_auc = numbers(screen)[:3]
        auc_text = ui.text(app)
        cursor = screen.selected()

    assert by_loss == [2, 1, 3]  # lower loss is better
    assert "sorted by val_loss, best first (lowest)" in loss_text
    assert "VAL_LOSS ▲" in loss_text  # the sorted column is shown, and which way
    assert by_auc == [1, 2, 27]
    assert "sorted by auc, best first (highest)" in auc_text
    assert "AUC ▼" in auc_text
    assert cursor is not None and cursor.number == 1  # the best one is under the cursor


async def test_the_picker_offers_worst_first_and_keys_no_loaded_row_has(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.70, "recall": 0.5})
    seeder.version(model_id, {"auc": 0.90})
    app = ui.app(shared_daemon.address, settings=TuiSettings(key_metrics=("auc",)))

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_versions(pilot, app, model_id, ui)
        await pilot.press("S")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, SortPicker), "the sort picker")
        await pilot.press(*"auc", "down", "enter")
        await ui.wait_for(pilot, lambda: screen.sort.metric == "auc" and not screen.fetching, "sorted worst first")
        worst_first = numbers(screen)
        await pilot.press("S")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, SortPicker), "the sort picker")
        await pilot.press(*"recall", "enter")
        await ui.wait_for(pilot, lambda: screen.sort.metric == "recall" and not screen.fetching, "sorted by recall")
        by_recall = numbers(screen)
        recall_headers = headers(screen)

    assert worst_first == [1, 2]
    assert by_recall == [1, 2]  # versions without it come last
    assert "RECALL ▼" in recall_headers


async def test_s_steps_from_the_fixed_orders_to_each_metric_column(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.95, "f1": 0.2})
    seeder.version(model_id, {"auc": 0.90, "f1": 0.8})
    seeder.version(model_id, {"auc": 0.85, "f1": 0.5})
    # No version has recall: `s` skips it rather than showing an order nothing decides.
    app = ui.app(shared_daemon.address, settings=TuiSettings(key_metrics=("auc", "recall", "f1")))

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_versions(pilot, app, model_id, ui)
        newest = numbers(screen)
        seen = []
        for _ in range(5):
            await pilot.press("s")
            await ui.wait_for(pilot, lambda: not screen.fetching, "the sorted rows")
            seen.append((screen.sort.label, numbers(screen)))
        await pilot.press("s")
        await ui.wait_for(pilot, lambda: not screen.fetching, "back to newest")
        back = screen.sort.label

    assert newest == [3, 2, 1]
    assert seen[0] == ("oldest first", [1, 2, 3])
    assert seen[3] == ("auc, best first (highest)", [1, 2, 3])
    assert seen[4] == ("f1, best first (highest)", [2, 3, 1])
    assert back == "newest first"


async def test_metric_columns_come_from_the_settings_and_stay_while_versions_arrive(
    shared_daemon, seeder, model_id, ui
) -> None:
    seeder.version(model_id, {"auc": 0.9, "f1": 0.7, "loss": 0.3})
    app = ui.app(shared_daemon.address, settings=TuiSettings(page_size=10, key_metrics=("auc", "f1")))

    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_versions(pilot, app, model_id, ui)
        before = headers(screen)
        # A training run that logs only auc, long enough to push the first version off the first page.
        for number in range(15):
            seeder.version(model_id, {"auc": 0.8 + number / 100})
        await ui.wait_for(pilot, lambda: screen.total == 16 and not screen.fetching, "the new versions")
        await pilot.press("r")
        await ui.wait_for(pilot, lambda: not screen.fetching and screen.versions[0].number == 16, "reloaded")
        after = headers(screen)

    assert [h for h in before if h in ("AUC", "F1", "LOSS")] == ["AUC", "F1"]
    assert after == before


async def test_at_80_by_24_columns_are_left_out_whole_never_cut(shared_daemon, seeder, model_id, ui) -> None:
    for number in range(30):
        seeder.version(model_id, {"auc": 0.9 + number / 1000, "f1": 1e-7 * number, "precision": 0.5})
    settings = TuiSettings(key_metrics=("auc", "f1", "precision", "recall", "accuracy"))
    app = ui.app(shared_daemon.address, settings=settings)

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_versions(pilot, app, model_id, ui)
        await pilot.pause(0.2)
        text = ui.text(app)
        shown = headers(screen)
        table = screen.query_one(WindowTable)
        widths = [column.width for column in table.ordered_columns]
        header_line = next(line for line in text.splitlines() if "VERSION" in line)

    assert all(len(title) <= width for title, width in zip(shown, widths))
    assert sum(width + 2 for width in widths) <= 80 - 2  # the table's width less its vertical scrollbar
    for title in ("VERSION", "STAGE", "STATUS", "AUC"):
        assert title in header_line.split()
    assert "BY" not in shown  # left out whole to make room
    assert "RECALL" not in shown and "ACCURACY" not in shown  # chosen, but no version has them
    assert "1.2e-06" in text or "1.20e-06" in text  # a tiny value in a short fixed width
    assert not any(glyph in text.splitlines()[-2] for glyph in SCROLLBAR_GLYPHS)


async def test_a_metric_column_shows_the_value_the_order_is_decided_by(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.80})
    seeder.client.log_metrics(f"{model_id}@1", {"auc": 0.99}, split="test")  # its best split
    seeder.version(model_id, {"auc": 0.90})
    for step, loss in enumerate((0.9, 0.5, 0.3), 1):
        seeder.client.log_metrics(f"{model_id}@2", {"loss": loss}, step=step, split="train")
    app = ui.app(shared_daemon.address, settings=TuiSettings(key_metrics=("auc", "loss")))

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_versions(pilot, app, model_id, ui)
        await pilot.press("S", *"auc", "enter")
        await ui.wait_for(pilot, lambda: screen.sort.metric == "auc" and not screen.fetching, "sorted by auc")
        rows = [line.split() for line in ui.text(app).splitlines() if "ready" in line]

    assert [row[0] for row in rows] == ["1", "2"]
    assert "0.99" in rows[0] and "0.8" not in rows[0]
    assert "0.3" in rows[1]  # a loss logged per step shows its last step


async def test_r_gives_a_chosen_metric_logged_meanwhile_its_column(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address, settings=TuiSettings(key_metrics=("auc", "f1")))

    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_versions(pilot, app, model_id, ui)
        before = headers(screen)
        seeder.version(model_id, {"auc": 0.91, "f1": 0.7})
        await ui.wait_for(pilot, lambda: screen.total == 2 and not screen.fetching, "the new version")
        await pilot.pause(0.3)
        live = headers(screen)
        await pilot.press("r")
        await ui.wait_for(pilot, lambda: "F1" in headers(screen), "the f1 column")

    assert "F1" not in before
    assert live == before  # a live arrival never moves the columns
