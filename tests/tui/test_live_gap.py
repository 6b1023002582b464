"""The live view starts where the first rows were read: a change in between is shown, no refresh needed."""

from __future__ import annotations

import pytest
from studbook.client.clients import Client
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.versions import VersionsScreen


async def test_a_version_registered_between_the_first_rows_and_the_live_connection_appears(
    shared_daemon, model_id, ui, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    with Client(shared_daemon.address) as client:
        client.register(model_id, uri="s3://m/1", environment=False, git=False)
    app = ui.app(shared_daemon.address)
    # The live connection is held back once the first rows are shown, as a slow start would.
    held: list[int | None] = []
    connect = app.connect
    monkeypatch.setattr(app, "connect", lambda since=None: held.append(since))
    name = f"models/{model_id}"

    async with app.run_test(size=(120, 30)) as pilot:
        await ui.wait_for(pilot, lambda: held, "the first rows shown")
        screen = app.screen
        assert isinstance(screen, ModelsScreen) and screen.models[name].version_count == 1
        with Client(shared_daemon.address) as client:
            client.register(model_id, uri="s3://m/2", environment=False, git=False)
        connect(held[0])
        await ui.wait_for_text(pilot, "● connected")
        await ui.wait_for(pilot, lambda: screen.models[name].version_count == 2, "the version registered meanwhile")
        assert screen.models[name].latest_version == 2
        row = next(line for line in ui.text(app).splitlines() if f" {model_id} " in line)
        assert " v2 " in row


async def test_a_screen_read_before_a_live_connection_of_unknown_start_is_read_again_once_it_answers(
    shared_daemon, model_id, ui, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The versions screen, opened first, asks to connect from its first page's revision. A live
    connection started without one (start-up ran out of time, or a screen with no listing revision
    opened first) re-reads what was shown once the stream has said where it starts, so a change
    in between is not lost either."""
    with Client(shared_daemon.address) as client:
        client.register(model_id, uri="s3://m/1", environment=False, git=False)
    app = ui.app(shared_daemon.address)
    held: list[int | None] = []
    connect = app.connect
    monkeypatch.setattr(app, "connect", lambda since=None: held.append(since))

    async with app.run_test(size=(120, 30)) as pilot:
        app.open_versions(model_id)  # before the models screen was ever painted
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "versions")
        screen = app.screen
        assert isinstance(screen, VersionsScreen) and len(screen.versions) == 1
        await ui.wait_for(pilot, lambda: held, "the versions screen asking to connect")
        await pilot.pause(0.2)
        assert None not in held  # every screen asked from the revision its rows reflect
        with Client(shared_daemon.address) as client:
            client.register(model_id, uri="s3://m/2", environment=False, git=False)
        connect(None)
        await ui.wait_for_text(pilot, "● connected")
        await ui.wait_for(pilot, lambda: len(screen.versions) == 2, "the version registered meanwhile")
