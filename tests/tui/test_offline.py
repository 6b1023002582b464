"""With the daemon away, opening a model shows the screen's frame, a notice saying what to do, and one error;
when the daemon answers again the screen loads by itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from studbook.client.clients import Client
from studbook.tui import live
from studbook.tui.app import StudbookApp
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.version import VersionScreen
from studbook.tui.screens.versions import VersionsScreen

HINT = "studbook serve"


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect attempts a few milliseconds apart, so the test does not wait out real backoff."""
    monkeypatch.setattr(live, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(live, "BACKOFF_CAP", 0.05)


def record_notifications(app: StudbookApp) -> list[tuple[str, str, str]]:
    """Every notification raised from now on, as (title, message, severity)."""
    seen: list[tuple[str, str, str]] = []
    notify = app.notify

    def recording(message: str, *, title: str = "", severity: str = "information", **rest: object) -> None:
        seen.append((title, message, severity))
        notify(message, title=title, severity=severity, **rest)  # type: ignore[arg-type]

    app.notify = recording  # type: ignore[method-assign]
    return seen


async def settle(pilot, screen) -> None:  # type: ignore[no-untyped-def]
    """Until every worker the screen started has ended, and what they posted has been handled."""
    for _ in range(400):
        if all(worker.is_finished for worker in pilot.app.workers if worker.node is screen):
            break
        await pilot.pause(0.025)
    await pilot.pause(0.1)


def words(text: str) -> str:
    """The screen's words in order, without the box drawn around the notice or the wrapping."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def errors_about(seen: list[tuple[str, str, str]], title: str) -> list[tuple[str, str, str]]:
    return [n for n in seen if n[2] == "error" and n[0] == title]


async def test_a_model_opened_while_no_daemon_answers_says_what_to_do_and_loads_once_it_does(
    daemon_factory, short_dir: Path, quick_backoff, model_id, ui
) -> None:
    address = f"unix://{short_dir}/s.sock"  # where the daemon will listen, once started
    app = ui.app(address)

    async with app.run_test(size=(80, 24)) as pilot:
        await ui.wait_for_text(pilot, "✕ offline")
        seen = record_notifications(app)
        await pilot.press("colon")
        await ui.type_into(pilot, f"versions {model_id}")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.offline, "offline")
        screen = app.screen
        await settle(pilot, screen)  # every worker of the screen has failed by now
        offline_text = ui.text(app)
        errors = errors_about(seen, model_id)
        await pilot.press("r")  # the same news again: the notice stays, no second notification
        await settle(pilot, screen)
        errors_after_refresh = errors_about(seen, model_id)

        daemon = daemon_factory()
        with Client(daemon.address) as client:
            client.register(model_id, uri="s3://m/1", metrics={"auc": 0.9}, environment=False, git=False)
        await ui.wait_for(pilot, lambda: screen.versions and screen.model, "the screen loaded by itself", 20)
        await pilot.pause(0.2)
        online_text = ui.text(app)

    assert f"cannot be reached at {address}." in words(offline_text)
    assert HINT in offline_text and "make run" in offline_text
    assert "models › " + model_id in offline_text  # the screen's frame: its crumb and its footer
    assert "? Help" in offline_text
    assert len(errors) == 1, seen
    assert len(errors_after_refresh) == 1, seen
    assert HINT not in online_text and "cannot be reached" not in online_text
    assert not screen.offline


Opener = Callable[[StudbookApp, str], object]


async def _from_the_models_list(app, pilot, ui, model_id: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("enter")


async def _from_the_command_line(app, pilot, ui, model_id: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("colon")
    await ui.type_into(pilot, f"versions {model_id}")


async def _pick_in_the_palette(pilot, ui, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await pilot.press(*text)
    # Typed in the prompt, then offered under it: the palette knows the model without the daemon.
    await ui.wait_for(pilot, lambda: ui.text(pilot.app).count(text) >= 2, f"{text!r} offered", 15)
    await pilot.press("enter")


async def _from_the_palette(app, pilot, ui, model_id: str) -> None:  # type: ignore[no-untyped-def]
    await _pick_in_the_palette(pilot, ui, f"versions {model_id}")


async def _a_version_from_the_palette(app, pilot, ui, model_id: str) -> None:  # type: ignore[no-untyped-def]
    await _pick_in_the_palette(pilot, ui, f"open {model_id}@latest")


@pytest.mark.parametrize(
    "opener", [_from_the_models_list, _from_the_command_line, _from_the_palette, _a_version_from_the_palette]
)
async def test_a_model_opened_after_the_daemon_stopped_shows_the_notice_and_one_error(
    daemon_factory, model_id, ui, opener
) -> None:  # type: ignore[no-untyped-def]
    daemon = daemon_factory()
    with Client(daemon.address) as client:
        client.register(model_id, uri="s3://m/1", metrics={"auc": 0.9}, environment=False, git=False)
    app = ui.app(daemon.address, live=False)

    async with app.run_test(size=(120, 40)) as pilot:
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen) and app.screen.models, "models listed")
        bottom = app.screen
        daemon.kill()
        seen = record_notifications(app)
        await opener(app, pilot, ui, model_id)
        await ui.wait_for(pilot, lambda: app.screen is not bottom and getattr(app.screen, "offline", False), "offline")
        screen = app.screen
        await settle(pilot, screen)
        text = ui.text(app)

    assert isinstance(screen, (VersionsScreen, VersionScreen)) and isinstance(screen, RegistryScreen)
    assert HINT in text and "cannot be reached" in text
    errors = [n for n in seen if n[2] == "error"]
    assert len(errors) == 1, errors


async def test_a_failure_every_worker_of_a_screen_meets_is_notified_once_and_again_after_r(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    app = ui.app(shared_daemon.address, live=False)

    async with app.run_test(size=(120, 40)) as pilot:
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen), "models")
        seen = record_notifications(app)
        app.open_versions("no-such-model")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and errors_about(seen, "no-such-model"))
        await settle(pilot, app.screen)  # both the model and its versions were asked for, and both refused
        first = len(errors_about(seen, "no-such-model"))
        await pilot.press("r")
        await ui.wait_for(pilot, lambda: len(errors_about(seen, "no-such-model")) > first, "the refresh's failure")
        await settle(pilot, app.screen)
        after_r = len(errors_about(seen, "no-such-model"))

    assert first == 1
    assert after_r == 2


async def test_online_the_palette_offers_models_the_daemon_lists_now(shared_daemon, model_id, ui) -> None:  # type: ignore[no-untyped-def]
    """The contrast to offline: models registered after the models screen listed are offered too."""
    with Client(shared_daemon.address) as client:
        client.register(f"{model_id}-old", uri="s3://m/0", metrics={"auc": 0.8}, environment=False, git=False)
    app = ui.app(shared_daemon.address, live=False)

    async with app.run_test(size=(120, 40)) as pilot:
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen) and app.screen.models, "models")
        with Client(shared_daemon.address) as client:
            client.register(model_id, uri="s3://m/1", metrics={"auc": 0.9}, environment=False, git=False)
        listed_before = app.known_models()
        await _pick_in_the_palette(pilot, ui, f"versions {model_id}")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "its versions")

    assert listed_before and model_id not in listed_before
