"""The models screen paints before anything it does not need is loaded: grpc, the generated
client, the other screens (charts, markdown, diff, dialogs) come after the first frame."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rich.console import RenderableType
from studbook.client.clients import AsyncClient, Client
from studbook.tui.app import StudbookApp
from studbook.tui.config import TuiSettings
from studbook.tui.live import ConnectionState
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.widgets.key_footer import KeyFooter
from studbook.tui.widgets.vim_table import VimTable
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.screen import Screen

# What `studbook` imports before its first frame: the command line, the app and its first screen.
FIRST_FRAME = """
import json, sys
import studbook.cli.commands
from studbook.tui.app import StudbookApp
import studbook.tui.screens.models
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_before_first_frame() -> set[str]:
    # A fresh interpreter: this test process has long imported everything.
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_no_grpc_and_no_generated_client_before_the_first_frame() -> None:
    loaded = _loaded_before_first_frame()
    assert {m for m in loaded if m == "grpc" or m.startswith(("grpc.", "grpc_"))} == set()
    assert "studbook.client.clients" not in loaded
    assert "studbook.client.environment" not in loaded  # package metadata: only for registering


def test_no_generated_message_module_before_the_first_frame() -> None:
    """The generated protobuf modules (building their descriptors takes about 10 ms) come with the
    client, after the first frame: the UI names their types only in annotations before that."""
    assert {m for m in _loaded_before_first_frame() if m.startswith("studbook.v1.")} == set()


def test_the_error_details_are_loaded_only_once_a_call_fails() -> None:
    """The client the first fetch builds decodes a failure's details with grpc_status and the
    error-detail protos; before the first rows nothing has failed, so neither is loaded."""
    script = FIRST_FRAME.replace("print(", "import studbook.client.clients\nprint(")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "studbook.client.clients" in loaded
    assert {m for m in loaded if m.startswith("grpc_status")} == set()
    assert {"google.rpc.error_details_pb2", "google.rpc.code_pb2"} & loaded == set()


# Runs the app in a fresh interpreter until the models table has rows, then names every module loaded.
UNTIL_ROWS = """
import asyncio, json, sys
from studbook.tui.app import StudbookApp
from studbook.tui.config import TuiSettings
from studbook.tui.widgets.vim_table import VimTable

async def main():
    app = StudbookApp(sys.argv[1], settings=TuiSettings(), live=False)
    async with app.run_test(size=(120, 30)):
        while not app.screen.query_one(VimTable).row_count:
            await asyncio.sleep(0.01)
        print(json.dumps(sorted(sys.modules)))

asyncio.run(main())
"""


def test_the_first_rows_do_not_load_the_emoji_table_of_rich(shared_daemon) -> None:  # type: ignore[no-untyped-def]
    """DataTable reads a str column label as markup, and the first markup read loads rich's table
    of emoji names (a few ms): the models table's labels are given as text."""
    with Client(shared_daemon.address) as client:
        client.register("no-emoji", uri="s3://b/no-emoji/1")
    out = subprocess.run([sys.executable, "-c", UNTIL_ROWS, shared_daemon.address], capture_output=True, text=True,
                         check=True, timeout=60).stdout  # fmt: skip
    assert "rich._emoji_codes" not in set(json.loads(out))


def test_only_the_models_screen_is_loaded_before_the_first_frame() -> None:
    screens = {m for m in _loaded_before_first_frame() if m.startswith("studbook.tui.screens.")}
    assert screens == {"studbook.tui.screens.base", "studbook.tui.screens.models"}


CLIENT = ("client", -1, -1)


def note_frames(app: StudbookApp) -> list[tuple[str, int, int]]:
    """What each frame Textual hands to the terminal shows: its screen, the models table's rows and
    the footer's keys; and `CLIENT` where the app built its client, which loads grpc: the first fetch began."""
    frames: list[tuple[str, int, int]] = []
    display, new_client = app._display, app._new_client

    def building(*, retries: bool) -> AsyncClient:
        frames.append(CLIENT)
        return new_client(retries=retries)

    # Textual's one door to the terminal; frames held back by a batch never pass it.
    def noting(screen: Screen[object], renderable: RenderableType | None) -> None:
        if renderable is not None and not app._batch_count:
            rows = screen.query_one(VimTable).row_count if isinstance(screen, ModelsScreen) else -1
            frames.append((type(screen).__name__, rows, len(screen.query_one(KeyFooter).children)))
        display(screen, renderable)

    app._display = noting  # type: ignore[method-assign]
    app._new_client = building  # type: ignore[method-assign]
    return frames


def note_rows(app: StudbookApp, events: list[str]) -> None:
    """Appends "rows" to `events` at each frame Textual hands to the terminal that shows the
    models screen with rows in its table."""
    display = app._display

    def noting(screen: Screen[object], renderable: RenderableType | None) -> None:
        if renderable is not None and isinstance(screen, ModelsScreen) and screen.query_one(VimTable).row_count:
            events.append("rows")
        display(screen, renderable)

    app._display = noting  # type: ignore[method-assign]


async def test_the_first_frame_on_the_terminal_is_the_models_screen_before_its_rows(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    """Its top bar, headers and footer show at once, before grpc even loads: the first fetch starts
    after the first frame (a fetch started before it would hold it back, loading grpc and perhaps
    waiting for the rows), and the rows come in a later frame."""
    with Client(shared_daemon.address) as client:
        client.register("first-frame", uri="s3://b/first-frame/1")
    app = StudbookApp(shared_daemon.address, settings=TuiSettings(), live=False)
    frames = note_frames(app)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        await ui.wait_for(pilot, lambda: screen.query_one(VimTable).row_count, "the models listed")
        await pilot.pause()
    first_screen, first_rows, first_keys = frames[0]
    assert (first_screen, first_rows) == ("ModelsScreen", 0)
    assert first_keys >= 5  # ? : / s r ... : the footer is drawn with the frame, not composed after it
    built = frames.index(CLIENT)
    assert built > 0
    assert any(rows > 0 for _, rows, _ in frames[built:])


async def test_every_widget_of_the_first_screen_is_styled_as_a_full_restyle_would_style_it(shared_daemon) -> None:  # type: ignore[no-untyped-def]
    """The first screen is not restyled as a whole when it first shows (each widget was styled
    as it mounted): what it shows is what restyling every widget would give, footer keys included."""
    app = StudbookApp(shared_daemon.address, settings=TuiSettings(), live=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        nodes = list(screen.walk_children(with_self=True))
        assert any(isinstance(node, KeyFooter) for node in nodes)
        shown = [dict(node._css_styles.get_rules()) for node in nodes]
        app.stylesheet.update(screen)
        assert [dict(node._css_styles.get_rules()) for node in nodes] == shown


async def test_a_screen_loads_once_when_it_opens(shared_daemon) -> None:  # type: ignore[no-untyped-def]
    """Textual runs each class's own on_mount: a screen whose on_mount also called the shared one
    loaded twice on opening (a fetch begun and cancelled) and followed the connection twice."""
    from studbook.tui.screens.approvals import ApprovalsScreen
    from studbook.tui.screens.drops import DropsScreen

    loads: list[str] = []

    def counted(screen_class: type[Screen[None]]) -> type[Screen[None]]:
        class Counted(screen_class):  # type: ignore[valid-type,misc]
            def reload(self) -> None:
                loads.append(screen_class.__name__)
                super().reload()

        return Counted

    app = StudbookApp(shared_daemon.address, settings=TuiSettings(), live=False)
    app.get_default_screen = lambda: counted(ModelsScreen)()  # type: ignore[method-assign,assignment]
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        for screen_class in (ApprovalsScreen, DropsScreen):
            await app.push_screen(counted(screen_class)())
            await pilot.pause()
            await pilot.pause()
    assert loads == ["ModelsScreen", "ApprovalsScreen", "DropsScreen"]


def _cells(update: RenderableType) -> int:
    """How many of the terminal's cells one update from Textual paints."""
    if isinstance(update, LayoutUpdate):
        return update.region.area
    if isinstance(update, ChopsUpdate):
        return sum(x2 - x1 + 1 for _, x1, x2 in update.spans)
    return 0


async def test_the_models_screen_is_drawn_whole_once_before_its_rows(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    """Textual's first showing of a screen lays it out and draws it whole, then asked for the whole
    screen again (its own repaint request, and the screen's first size change): the same frame
    twice on the terminal before the rows. Now the frames before the rows add up to one screen
    and a few small updates (the footer's and top bar's keys settling)."""
    with Client(shared_daemon.address) as client:
        client.register("drawn-once", uri="s3://b/drawn-once/1")
    app = StudbookApp(shared_daemon.address, settings=TuiSettings(), live=False)
    painted: list[tuple[int, int]] = []  # (cells painted, rows in the table then)
    display = app._display

    def noting(screen: Screen[object], renderable: RenderableType | None) -> None:
        if renderable is not None and isinstance(screen, ModelsScreen):
            painted.append((_cells(renderable), screen.query_one(VimTable).row_count))
        display(screen, renderable)

    app._display = noting  # type: ignore[method-assign]
    width, height = 120, 30
    async with app.run_test(size=(width, height)) as pilot:
        await ui.wait_for(pilot, lambda: any(rows for _, rows in painted), "the rows painted")
    before_rows = [cells for cells, rows in painted if not rows]
    assert before_rows and before_rows[0] == width * height  # the first frame: the whole screen
    assert sum(before_rows) < 1.5 * width * height


async def test_the_first_rows_are_on_the_terminal_before_any_key_metric_is_looked_up(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    """The key metric column needs one call per model (its latest version); those calls begin
    once the rows are shown, so the frame with the rows never waits for them, and then fill in."""
    with Client(shared_daemon.address) as client:
        for name in ("rows-first-a", "rows-first-b"):
            client.register(name, uri=f"s3://b/{name}/1", metrics={"auc": 0.9})
    app = StudbookApp(shared_daemon.address, settings=TuiSettings(), live=False)
    events: list[str] = []
    new_client = app._new_client

    def building(*, retries: bool) -> AsyncClient:
        built = new_client(retries=retries)
        list_versions = built.list_versions

        async def noted(*args: object, **kwargs: object) -> object:
            events.append("lookup")
            return await list_versions(*args, **kwargs)  # type: ignore[arg-type]

        built.list_versions = noted  # type: ignore[method-assign,assignment]
        return built

    note_rows(app, events)
    app._new_client = building  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        await ui.wait_for(pilot, lambda: "models/rows-first-b" in screen.latest, "the key metrics looked up")
        await ui.wait_for_text(pilot, "auc")
    assert "rows" in events and "lookup" in events
    assert events.index("rows") < events.index("lookup")


async def test_the_live_connection_starts_once_the_first_rows_are_shown(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    """The follower's own channel, its health check and the indicator it repaints come after the
    models screen's first rows, not between its first frame and them; it still connects."""
    with Client(shared_daemon.address) as client:
        client.register("live-after-rows", uri="s3://b/live-after-rows/1")
    app = StudbookApp(shared_daemon.address, settings=TuiSettings())
    events: list[str] = []
    new_client = app._new_client

    def building(*, retries: bool) -> AsyncClient:
        events.append("client" if retries else "watch client")
        return new_client(retries=retries)

    note_rows(app, events)
    app._new_client = building  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await ui.wait_for_text(pilot, "● connected")
    assert events.index("client") < events.index("rows") < events.index("watch client")


async def test_the_live_connection_starts_when_the_first_listing_fails_too(tmp_path, ui) -> None:  # type: ignore[no-untyped-def]
    """No daemon: the listing's error is shown, and the follower starts, to say when one answers."""
    app = StudbookApp(f"unix://{tmp_path / 'nobody.sock'}", settings=TuiSettings())
    async with app.run_test(size=(120, 30)) as pilot:
        await ui.wait_for(pilot, lambda: app.connection is not ConnectionState.CONNECTING, "the follower's verdict")
        await ui.wait_for_text(pilot, "reconnecting")


def _stylesheets(app: StudbookApp) -> set[str]:
    """The names of the stylesheet files the app has read so far."""
    return {Path(path).name for path, _ in app.stylesheet.source if path.endswith(".tcss")}


async def test_the_other_screens_rules_are_read_when_the_first_of_them_opens(shared_daemon) -> None:  # type: ignore[no-untyped-def]
    """Only the models screen's (and the shared frame's) rules are parsed before the first frame;
    the other screens' come in with the first of them, and style it as before."""
    app = StudbookApp(shared_daemon.address, settings=TuiSettings(), live=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert _stylesheets(app) == {"studbook.tcss"}
        app.open_help()
        await pilot.pause()
        assert _stylesheets(app) == {"studbook.tcss", "screens.tcss"}
        assert app.screen.query_one(".help").outer_size.width == 100  # `.help { width: 100 }`


async def test_a_settings_problem_found_at_start_shows_as_a_notification(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    """The notification rack is hidden from the first frame on; a notification still shows it."""
    app = ui.app(shared_daemon.address, problems=("keymap: unknown action 'models.fly'",))

    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await ui.wait_for_text(pilot, "unknown action 'models.fly'")
        app.notify("a later notice")
        await ui.wait_for_text(pilot, "a later notice")
