"""The connection: the top bar follows the daemon going away and coming back, and nothing is missed."""

from __future__ import annotations

import pytest
from studbook.client.clients import Client
from studbook.tui import live
from studbook.tui.screens.versions import VersionsScreen


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect attempts a few milliseconds apart, so the test does not wait out real backoff."""
    monkeypatch.setattr(live, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(live, "BACKOFF_CAP", 0.05)


async def test_the_top_bar_shows_offline_then_connected_and_changes_meanwhile_appear(
    daemon_factory, quick_backoff, model_id, ui
) -> None:
    daemon = daemon_factory()
    with Client(daemon.address) as client:
        client.register(model_id, uri="s3://m/1", metrics={"auc": 0.9}, environment=False, git=False)
    app = ui.app(daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for_text(pilot, "● connected")
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        screen = app.screen
        daemon.kill()
        await ui.wait_for_text(pilot, "✕ offline")
        daemon = daemon_factory()
        with Client(daemon.address) as client:
            client.register(model_id, uri="s3://m/2", metrics={"auc": 0.95}, environment=False, git=False)
        await ui.wait_for_text(pilot, "● connected")
        await ui.wait_for(pilot, lambda: len(screen.versions) == 2, "the version registered while offline")


async def test_a_screen_opened_at_once_still_follows_the_registry(shared_daemon, model_id, ui) -> None:  # type: ignore[no-untyped-def]
    """The live connection starts after the first frame, whichever screen that frame shows."""
    with Client(shared_daemon.address) as client:
        client.register(model_id, uri="s3://m/1", environment=False, git=False)
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 30)) as pilot:
        app.open_versions(model_id)  # before the models screen was ever painted
        await ui.wait_for_text(pilot, "● connected")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        with Client(shared_daemon.address) as client:
            client.register(model_id, uri="s3://m/2", environment=False, git=False)
        screen = app.screen
        await ui.wait_for(pilot, lambda: len(screen.versions) == 2, "the version registered after opening")
