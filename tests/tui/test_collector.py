"""The garbage collector while the UI starts: paused by the process that runs it, collecting again once
the first screen has shown its rows or its error, with what start-up built left out of its passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from studbook.client.clients import Client
from studbook.tui import app as app_module
from studbook.tui import collector
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.widgets.vim_table import VimTable


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up never times out: only the first screen can say it is over."""
    monkeypatch.setattr(app_module, "STARTUP_GRACE", 3600.0)


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """Whatever a test does to the collector, the test process collects as before afterwards."""
    yield
    collector.resume()
    gc.unfreeze()
    gc.enable()


def test_resume_without_a_pause_leaves_the_collector_as_it_was(restored_collector: None) -> None:
    frozen = gc.get_freeze_count()
    collector.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
    gc.disable()  # someone else's choice: not ours to undo
    collector.resume()
    assert not gc.isenabled()


def test_a_pause_stops_collecting_until_resumed_which_freezes_what_exists(restored_collector: None) -> None:
    collector.pause()
    assert not gc.isenabled() and collector.paused()
    built = [[] for _ in range(1000)]  # start-up's objects
    collector.resume()
    assert gc.isenabled() and not collector.paused()
    assert gc.get_freeze_count() >= len(built)
    collector.resume()  # once is enough; again changes nothing
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_someone_else_disabled_alone(restored_collector: None) -> None:
    gc.disable()
    collector.pause()
    collector.resume()
    assert not gc.isenabled() and gc.get_freeze_count() == 0


async def test_the_app_collects_again_once_its_first_rows_are_shown(
    shared_daemon, ui, restored_collector, no_grace
) -> None:  # type: ignore[no-untyped-def]
    with Client(shared_daemon.address) as client:
        client.register("collected", uri="s3://b/collected/1")
    collector.pause()
    app = ui.app(shared_daemon.address, live=False)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        assert not gc.isenabled()  # the first frame is drawn without collecting
        await ui.wait_for(pilot, lambda: screen.query_one(VimTable).row_count, "the models listed")
        await ui.wait_for(pilot, gc.isenabled, "collecting again")
    assert gc.get_freeze_count() > 0


async def test_the_app_collects_again_when_its_first_rows_cannot_be_loaded(
    short_dir: Path, ui, restored_collector, no_grace
) -> None:  # type: ignore[no-untyped-def]
    collector.pause()
    app = ui.app(f"unix://{short_dir}/nobody.sock", live=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await ui.wait_for(pilot, lambda: app.screen.offline, "the daemon found away", 20)
        await ui.wait_for(pilot, gc.isenabled, "collecting again")


async def test_start_up_is_over_after_a_grace_even_if_the_first_rows_never_come(
    shared_daemon, ui, restored_collector, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app_module, "STARTUP_GRACE", 0.2)
    monkeypatch.setattr(ModelsScreen, "reload", lambda self: None)  # a first fetch that never ends
    collector.pause()
    app = ui.app(shared_daemon.address, live=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await ui.wait_for(pilot, gc.isenabled, "collecting again")
