"""What the user sees at the two sizes the UI must work at: usable at 80×24, readable at 120×40.

The same seeded registry as test_snapshots.py; times are hidden (TimeFormat(hidden=True)).
Update the pictures with `pytest tests/tui/test_snapshot_sizes.py --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from studbook.tui.app import StudbookApp
from studbook.tui.config import TuiSettings
from studbook.tui.live import ConnectionState
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.screens.help import HelpScreen
from studbook.tui.screens.version import VersionScreen
from studbook.tui.screens.versions import VersionsScreen
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.lineage_tree import LineageTree
from textual.pilot import Pilot
from tui.test_snapshots import app_for, prepare, registry, until  # noqa: F401  (registry is a fixture)

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
# Nothing listens here, and the path is the same on every machine, so the notice reads the same.
NOWHERE = "unix:///nonexistent/studbook.sock"


@SIZES
def test_models(registry: str, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        pass

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


@SIZES
def test_versions(registry: str, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_versions("fraud-detector")
        await until(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.model and app.screen.versions)

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


@SIZES
def test_version_overview(registry: str, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("fraud-detector@3")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.metric_rows)

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


@SIZES
def test_version_lineage(registry: str, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """Both branches opened with the keys, the cursor on the data the version was trained on."""

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("fraud-detector@2", "lineage")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version)
        tree = app.screen.query_one(LineageTree)
        await until(pilot, lambda: tree.has_focus)
        upstream, downstream = tree.root.children
        await pilot.press("G", "l")
        await until(pilot, lambda: downstream.data.loaded)
        await pilot.press("g", "j", "l")
        await until(pilot, lambda: upstream.data.loaded)
        await pilot.press("l")  # to the first thing it came from

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


@pytest.fixture
def usual_config_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Help names the settings file; where every user has it, so the picture is the same on any machine."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(Path.home() / ".config"))


@SIZES
@pytest.mark.usefixtures("usual_config_dir")
def test_help(registry: str, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


@SIZES
@pytest.mark.usefixtures("usual_config_dir")
def test_help_scrolled_to_its_end(registry: str, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("G")

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


@SIZES
def test_a_model_opened_offline(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = StudbookApp(NOWHERE, settings=TuiSettings(), times=TimeFormat(hidden=True), live=False)

    async def run_before(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.offline)
        app.connection = ConnectionState.OFFLINE
        app.clear_notifications()  # the models screen's own; the picture shows the versions screen's
        app.open_versions("fraud-detector")
        await until(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.offline)
        await pilot.pause(0.5)  # the screen's other worker has failed too, quietly

    assert snap_compare(app, terminal_size=size, run_before=run_before)
