"""Tables fit the terminal: whole columns of less use are left out, headers are never cut, no horizontal scrollbar."""

from __future__ import annotations

from studbook.tui.screens.models import ModelsScreen
from studbook.tui.widgets.key_value_table import KeyValueTable
from studbook.tui.widgets.vim_table import VimTable
from textual.app import App, ComposeResult

SCROLLBAR_GLYPHS = "▁▂▃▄▅▆▇█▉▊▋▌▍▎▏"


async def test_models_at_80_by_24_keep_the_key_metric_whole(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.93612})
    seeder.client.promote(f"{model_id}@1", "production", reason="first")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(80, 24)) as pilot:
        await ui.wait_for(pilot, lambda: "auc 0.9361" in ui.text(app), "the key metric")
        screen = app.screen
        table = screen.query_one(VimTable)
        titles = [column.label.plain for column in table.ordered_columns]
        widths = [column.get_render_width(table) for column in table.ordered_columns]
        text = ui.text(app)

    assert isinstance(screen, ModelsScreen)
    header = next(line for line in text.splitlines() if "MODEL" in line)
    for title in ("MODEL", "PRODUCTION", "LATEST", "KEY METRIC"):
        assert title in header
    assert "OWNER" not in titles  # left out whole, not cut to 'O'
    assert sum(widths) <= 80 - 2
    row = next(line for line in text.splitlines() if model_id in line)
    assert "auc 0.9361" in row
    below = text.splitlines()[-2]  # between the table and the footer
    assert not any(glyph in below for glyph in SCROLLBAR_GLYPHS)


async def test_a_wide_terminal_shows_every_models_column(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for(pilot, lambda: "auc 0.9" in ui.text(app), "the key metric")
        titles = [column.label.plain for column in app.screen.query_one(VimTable).ordered_columns]

    assert titles == [
        "MODEL",
        "PRODUCTION",
        "STAGING",
        "ALIASES",
        "LATEST",
        "VERSIONS",
        "KEY METRIC",
        "OWNER",
        "CHANGED",
    ]


async def test_resizing_the_terminal_lays_the_columns_out_again(shared_daemon, seeder, model_id, ui) -> None:
    from studbook.tui.screens.versions import VersionsScreen

    seeder.version(model_id, {"auc": 0.9, "f1": 0.8})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for(pilot, lambda: "auc 0.9" in ui.text(app), "the key metric")
        models_wide = [column.label.plain for column in app.screen.query_one(VimTable).ordered_columns]
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        models_narrow = [column.label.plain for column in app.screen.query_one(VimTable).ordered_columns]
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        await pilot.pause(0.3)
        versions_narrow = [column.label.plain for column in app.screen.query_one(VimTable).ordered_columns]
        await pilot.resize_terminal(160, 40)
        await pilot.pause(0.3)
        versions_wide = [column.label.plain for column in app.screen.query_one(VimTable).ordered_columns]
        rows = app.screen.query_one(VimTable).row_count

    assert "OWNER" in models_wide and "OWNER" not in models_narrow
    assert "BY" not in versions_narrow and "BY" in versions_wide
    assert rows == 1  # the rows are drawn again in the new columns


class _Params(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyValueTable("KEY", "VALUE")


async def test_a_table_drawn_right_after_its_rows_arrive_shows_them_whole() -> None:
    """A frame may come before the table's next idle (when DataTable measures new rows on its own),
    and what it draws stays cached: its columns must already fit the rows, not only their titles."""
    app = _Params()
    async with app.run_test(size=(60, 8)):
        table = app.query_one(KeyValueTable)
        table.show([("precision", "0.83"), ("max_depth", "8")])
        drawn = [table.render_line(y).text for y in range(3)]

    assert "precision" in drawn[1] and "max_depth" in drawn[2], drawn
