"""The version screen's production tab against a real daemon: a version's series over its tenures, live.

A stage changes hands three times (v1 promoted, replaced by v2, v1 rolled back to), production
points are logged in each tenure, and the tab of v1 shows its record only: two runs of points,
the three marks, its evaluation auc as the reference line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studbook.client.clients import Client
from studbook.tui.screens.version import VersionScreen
from studbook.tui.widgets.production_chart import ProductionChart
from studbook.tui.widgets.production_pane import ProductionPane
from textual.widgets import DataTable

SMALL = (80, 24)


def log(
    client: Client, model: str, points: list[tuple[str, float, datetime | None, str]], stage: str = "production"
) -> None:
    """Production points of one of `model`'s stages: (key, value, window end or now, segment)."""
    for key, value, end, segment in points:
        client.observe(model, {key: value}, stage=stage, window_end=end, segment=segment)


def seed(seeder: Any, model: str) -> None:
    """v1 promoted, v2 promoted over it, v1 rolled back to; two auc points (two segments) in each tenure."""
    client: Client = seeder.client
    seeder.version(model, {"auc": 0.93})
    seeder.version(model, {"auc": 0.95})
    client.promote(f"{model}@1", "production", reason="first")
    log(client, model, [("auc", 0.92, None, ""), ("auc", 0.90, None, "eu")])
    client.promote(f"{model}@2", "production", reason="better")
    log(client, model, [("auc", 0.80, None, ""), ("auc", 0.79, None, "eu")])
    client.rollback(model, "production", reason="worse in production")
    log(client, model, [("auc", 0.91, None, ""), ("auc", 0.89, None, "eu"), ("latency_ms", 40.0, None, "")])


async def open_production(app: Any, pilot: Any, ui: Any, ref: str) -> VersionScreen:
    app.open_version(ref, "production")
    await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
    screen: VersionScreen = app.screen
    await ui.wait_for(pilot, lambda: screen.query_one(ProductionPane).choices, "production series")
    return screen


async def test_the_tab_charts_the_versions_own_record_with_its_tenures_marked(
    shared_daemon, seeder, model_id, ui
) -> None:  # type: ignore[no-untyped-def]
    seed(seeder, model_id)
    app = ui.app(shared_daemon.address, live=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_production(app, pilot, ui, f"{model_id}@1")
        pane = screen.query_one(ProductionPane)
        assert [(c.key, c.segment_text, c.points) for c in pane.choices] == [
            ("auc", "every segment", 4),
            ("auc", "all traffic", 2),  # v2's 0.80 is v2's, not v1's
            ("auc", "eu", 2),
            ("latency_ms", "all traffic", 1),
        ]
        shown = ui.text(app)
        assert "held production: promoted" in shown and "; rolled back" in shown and "→ now" in shown
        chart = screen.query_one(ProductionChart).plot
        assert chart.reference == 0.93
        assert [m.kind for m in chart.marks] == ["promoted", "replaced", "rolled back"]
        assert all(len(line.runs) == 2 for line in chart.lines)  # one run per tenure, never joined across v2's
        assert "evaluation 0.93" in shown and "▲ promoted" in shown

        # The cursor picks the series charted: latency has no evaluation figure to draw.
        screen.query_one("#production-table", DataTable).focus()
        await pilot.press("G")
        await ui.wait_for(pilot, lambda: screen.query_one(ProductionChart).plot.title.startswith("latency_ms"))
        assert screen.query_one(ProductionChart).plot.reference is None


async def test_a_version_that_never_held_the_stage_says_so(shared_daemon, seeder, model_id, ui) -> None:  # type: ignore[no-untyped-def]
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address, live=False)
    async with app.run_test(size=SMALL) as pilot:
        app.open_version(f"{model_id}@1", "production")
        await ui.wait_for_text(pilot, "never held production")
        await ui.wait_for_text(pilot, "no production metrics were logged while this version held production")


async def test_a_version_that_left_its_stage_shows_the_record_it_made_there(
    shared_daemon, seeder, model_id, ui
) -> None:  # type: ignore[no-untyped-def]
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    seeder.client.promote(f"{model_id}@1", "staging")
    log(seeder.client, model_id, [("auc", 0.88, None, "")], stage="staging")
    seeder.client.promote(f"{model_id}@2", "staging")
    app = ui.app(shared_daemon.address, live=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_production(app, pilot, ui, f"{model_id}@1")
        assert "held staging: promoted" in ui.text(app) and "→ now" not in ui.text(app)
        assert screen.query_one(ProductionChart).plot.title == "auc in staging · all traffic"


async def test_the_chart_follows_points_as_they_are_logged(shared_daemon, seeder, model_id, ui) -> None:  # type: ignore[no-untyped-def]
    seed(seeder, model_id)
    app = ui.app(shared_daemon.address)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_production(app, pilot, ui, f"{model_id}@1")
        pane = screen.query_one(ProductionPane)
        log(seeder.client, model_id, [("auc", 0.88, None, ""), ("errors", 3.0, None, "")])
        await ui.wait_for(pilot, lambda: any(c.key == "errors" for c in pane.choices), "the new key listed")
        assert next(c for c in pane.choices if c.segment == "").points == 3
        # The chart kept its series: a live update never moves the user's cursor.
        assert screen.query_one(ProductionChart).plot.title == "auc in production"


async def test_a_version_that_held_several_stages_switches_between_their_records(
    shared_daemon, seeder, model_id, ui
) -> None:  # type: ignore[no-untyped-def]
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    client: Client = seeder.client
    client.promote(f"{model_id}@1", "staging", reason="try it")
    log(client, model_id, [("auc", 0.87, None, ""), ("auc", 0.86, None, "")], stage="staging")
    client.promote(f"{model_id}@2", "staging", reason="next candidate")
    client.promote(f"{model_id}@1", "production", reason="release")
    log(client, model_id, [("auc", 0.93, None, ""), ("errors", 2.0, None, "")])
    app = ui.app(shared_daemon.address, live=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_production(app, pilot, ui, f"{model_id}@1")
        pane = screen.query_one(ProductionPane)
        chart = screen.query_one(ProductionChart)
        await ui.wait_for(pilot, lambda: pane.stages == ["production", "staging"], "both stages offered")
        # The stage it holds first; the line names the other and the key; so does the footer.
        await ui.wait_for_text(pilot, "t Next stage")
        shown = ui.text(app)
        assert "[production]" in shown and "staging" in shown and "t: next stage" in shown
        assert "held production: promoted" in shown
        assert chart.plot.title == "auc in production · all traffic"
        assert [c.key for c in pane.choices] == ["auc", "errors"]

        await pilot.press("t")
        await ui.wait_for(pilot, lambda: pane.stage == "staging" and chart.plot.title == "auc in staging · all traffic",
                          "staging's record")  # fmt: skip
        shown = ui.text(app)
        assert "[staging]" in shown and "held staging: promoted" in shown and "→ now" not in shown
        assert [(c.key, c.points) for c in pane.choices] == [("auc", 2)]
        assert [m.kind for m in chart.plot.marks] == ["promoted", "replaced"]

        # A reload (here: the user's) keeps the stage chosen; the key goes round to the first.
        await pilot.press("r")
        await pilot.pause(0.3)
        await ui.wait_for(pilot, lambda: "held staging" in ui.text(app), "still staging")
        await pilot.press("t")
        await ui.wait_for(
            pilot, lambda: pane.stage == "production" and chart.plot.title.startswith("auc in production")
        )


async def test_a_version_of_one_stage_offers_no_other(shared_daemon, seeder, model_id, ui) -> None:  # type: ignore[no-untyped-def]
    seed(seeder, model_id)
    app = ui.app(shared_daemon.address, live=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_production(app, pilot, ui, f"{model_id}@1")
        pane = screen.query_one(ProductionPane)
        await ui.wait_for(pilot, lambda: screen.history_changes, "history")
        await pilot.press("t")
        await pilot.pause(0.2)
        shown = ui.text(app)
        assert pane.stages == ["production"] and pane.stage == "production"
        assert "Next stage" not in shown and "next stage" not in shown


async def test_the_stage_line_names_the_key_the_users_keymap_gave_it(shared_daemon, seeder, model_id, ui) -> None:  # type: ignore[no-untyped-def]
    from studbook.tui.config import TuiSettings

    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "staging", reason="try it")
    log(seeder.client, model_id, [("auc", 0.87, None, "")], stage="staging")
    seeder.client.promote(f"{model_id}@1", "production", reason="release")
    log(seeder.client, model_id, [("auc", 0.93, None, "")])
    app = ui.app(shared_daemon.address, live=False, settings=TuiSettings(keymap={"version.next_stage": "n"}))
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_production(app, pilot, ui, f"{model_id}@1")
        pane = screen.query_one(ProductionPane)
        await ui.wait_for_text(pilot, "n: next stage")
        first = pane.stage
        await pilot.press("n")
        await ui.wait_for(pilot, lambda: pane.stage != first and pane.choices, "the other stage's record")
        assert "t: next stage" not in ui.text(app) and "n: next stage" in ui.text(app)
