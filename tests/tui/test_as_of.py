"""The history tab answers "who held production at TIME", and every absolute time carries its zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from conftest import stop_daemon  # type: ignore[import-not-found]
from studbook.client.clients import Client
from studbook.tui.screens.version import VersionScreen
from studbook.tui.timefmt import TimeFormat, to_datetime
from studbook.tui.widgets.as_of_bar import AsOfBar, AsOfInput

# Well before the daemon's own clock: relative times are not what these tests check.
FIXED_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INDIA = timezone(timedelta(hours=5, minutes=30))


async def open_history(app: Any, pilot: Any, ui: Any, ref: str, changes: int) -> VersionScreen:
    app.open_version(ref)
    await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
    screen = app.screen
    assert isinstance(screen, VersionScreen)
    await ui.wait_for(pilot, lambda: len(screen.history_changes) == changes, f"{changes} stage changes")
    return screen


async def ask(pilot: Any, ui: Any, when: str) -> None:
    await pilot.press("a")
    await ui.wait_for(pilot, lambda: isinstance(pilot.app.focused, AsOfInput), "the as-of input has the focus")
    await ui.type_into(pilot, when)


async def test_as_of_names_the_holder_since_when_and_by_which_promotion(shared_daemon, seeder, model_id, ui) -> None:
    for auc in (0.90, 0.92):
        seeder.version(model_id, {"auc": auc})
    first = seeder.client.promote(f"{model_id}@1", "production", reason="first release")
    second = seeder.client.promote(f"{model_id}@2", "production", reason="beats v1 on auc")
    older, newer = sorted(seeder.client.stage_history(model_id).changes, key=lambda c: c.revision)
    between = to_datetime(older.time) + (to_datetime(newer.time) - to_datetime(older.time)) / 2
    app = ui.app(shared_daemon.address, times=TimeFormat(lambda: FIXED_NOW, zone=INDIA))

    # Wide, so each answer stays on one line whatever this machine's user and host names are.
    async with app.run_test(size=(200, 40)) as pilot:
        await open_history(app, pilot, ui, f"{model_id}@2", 2)
        await ask(pilot, ui, between.isoformat())
        await ui.wait_for_text(pilot, "production v1 since")
        answer = ui.text(app)
        assert f"by promotion {model_id}/{first.name.rsplit('/', 1)[1]} of " in answer
        assert '"first release"' in answer and "production v2" not in answer
        # The change that made the holder is under the cursor, its reason whole in the pane.
        assert ui.pane_field(app, "reason")[0] == "first release"

        await ask(pilot, ui, "2099-01-01 00:00")
        await ui.wait_for_text(pilot, "production v2 since")
        assert f"by promotion {model_id}/{second.name.rsplit('/', 1)[1]} of " in ui.text(app)
        assert ui.pane_field(app, "reason")[0] == "beats v1 on auc"

        # Before any promotion: nothing held, and it says so instead of naming a holder.
        await ask(pilot, ui, (to_datetime(older.time) - timedelta(seconds=1)).isoformat())
        await ui.wait_for_text(pilot, "was held yet")


async def test_a_moment_that_cannot_be_read_says_which_forms_can(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "staging", reason="try it")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(app, pilot, ui, f"{model_id}@1", 1)
        await ask(pilot, ui, "the day before yesterday")
        await ui.wait_for_text(pilot, "optionally followed by 'ago'")
        assert screen.query_one(AsOfBar).has_class("-error")
        await pilot.press("escape")  # back to the list, still on the version screen
        assert app.screen is screen and not isinstance(app.focused, AsOfInput)


async def test_history_times_carry_their_zone(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    seeder.client.promote(f"{model_id}@1", "staging", reason="try it")
    [change] = seeder.client.stage_history(model_id).changes
    local = to_datetime(change.time).astimezone(INDIA).strftime("%Y-%m-%d %H:%M:%S")
    app = ui.app(shared_daemon.address, times=TimeFormat(lambda: FIXED_NOW, zone=INDIA))

    async with app.run_test(size=(120, 40)) as pilot:
        await open_history(app, pilot, ui, f"{model_id}@1", 1)
        await pilot.press("8")
        await ui.wait_for_text(pilot, f"{local} +05:30")
        assert ui.pane_field(app, "when")[0].startswith(f"{local} +05:30 (")


async def test_when_the_daemon_cannot_answer_the_bar_says_why(daemon_factory, ui) -> None:
    daemon = daemon_factory()
    with Client(daemon.address) as client:
        client.register("offline", uri="s3://b/offline", environment=False, git=False)
        client.promote("offline@1", "staging", reason="try it")
    app = ui.app(daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_history(app, pilot, ui, "offline@1", 1)
        stop_daemon(daemon)
        await ask(pilot, ui, "now")
        bar = screen.query_one(AsOfBar)
        await ui.wait_for(pilot, lambda: bar.has_class("-error"), "the failure in the bar", timeout=30)
        assert "asking the registry" not in ui.text(app) and "UNAVAILABLE" in ui.text(app)
