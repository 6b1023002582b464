"""A model with thousands of versions: the table holds a window of pages, `G` goes straight to the end."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.seed import seed_catalog
from conftest import Daemon, start_daemon, stop_daemon
from studbook.client import calls
from studbook.client.clients import Client
from studbook.tui.app import StudbookApp
from studbook.tui.config import TuiSettings
from studbook.tui.messages import Resynced
from studbook.tui.screens.versions import MARK, VersionsScreen
from studbook.tui.widgets.vim_table import VimTable
from studbook.tui.widgets.window_table import WindowTable
from studbook.v1 import registry_pb2, resources_pb2
from textual import events
from textual.coordinate import Coordinate

MODEL = "model-0"  # seed_catalog's name for its first model
VERSIONS = 3000
PAGE = 50
# Scrolling tests use short pages, so a few keys cross many of them and the window (100 rows).
SHORT_PAGE = 10
SIZE = (160, 24)
MODELS = 80


@pytest.fixture(scope="module")
def long_history() -> Iterator[Daemon]:
    """A daemon over a catalog seeded with one model of `VERSIONS` versions (registering them one by one is slow)."""
    root = Path(tempfile.mkdtemp(prefix="sb-"))  # short: socket paths have a length limit
    data = root / "data"
    data.mkdir()
    seed_catalog(data / "catalog.duckdb", models=1, versions_per_model=VERSIONS, metrics_per_version=1)
    daemon = start_daemon(data, root / "s.sock")
    yield daemon
    stop_daemon(daemon)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def many_models() -> Iterator[Daemon]:
    """A daemon over a catalog of more models than a screen shows."""
    root = Path(tempfile.mkdtemp(prefix="sb-"))
    data = root / "data"
    data.mkdir()
    seed_catalog(data / "catalog.duckdb", models=MODELS, versions_per_model=2, metrics_per_version=1)
    daemon = start_daemon(data, root / "s.sock")
    yield daemon
    stop_daemon(daemon)
    shutil.rmtree(root, ignore_errors=True)


class Requests:
    """Wraps the app client's ListModelVersions and keeps the arguments of every page asked for
    (those with `skip`: the models screen underneath asks for each model's latest version too)."""

    def __init__(self, app: StudbookApp, *, delay: float = 0.0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.delay = delay  # before each page is asked for, as on a slow link
        self._call = app.client.list_versions
        app.client.list_versions = self  # type: ignore[method-assign]

    async def __call__(self, *args: Any, **kwargs: Any) -> registry_pb2.ListModelVersionsResponse:
        if "skip" in kwargs:
            self.calls.append(kwargs)
            await asyncio.sleep(self.delay)
        return await self._call(*args, **kwargs)


async def open_long_model(app: StudbookApp, pilot, ui) -> tuple[VersionsScreen, WindowTable]:  # type: ignore[no-untyped-def]
    app.open_versions(MODEL)
    await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.versions, "first page")
    screen = app.screen
    await ui.wait_for(pilot, lambda: not screen.fetching, "the viewport filled")
    table = screen.query_one(WindowTable)
    table.focus()
    return screen, table


def contiguous(screen: VersionsScreen) -> bool:
    """The window is one unbroken run of the list, newest first, starting at `first_row`."""
    numbers = [v.number for v in screen.versions]
    return numbers == list(range(VERSIONS - screen.first_row, VERSIONS - screen.first_row - len(numbers), -1))


async def test_G_lands_on_version_1_with_one_request_for_the_last_page(long_history, ui) -> None:
    app = ui.app(long_history.address, settings=TuiSettings(page_size=PAGE))

    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_long_model(app, pilot, ui)
        requests = Requests(app)
        await pilot.press("G")
        await ui.wait_for(pilot, lambda: screen.versions[-1].number == 1 and not screen.fetching, "the last page")
        await pilot.pause()
        chosen = screen.selected()
        status = ui.text(app)

    assert chosen is not None and chosen.number == 1
    assert table.cursor_row == table.row_count - 1
    assert 1 <= len(requests.calls) <= 2, [(c["skip"], c["page_size"]) for c in requests.calls]
    assert requests.calls[0]["skip"] == VERSIONS - PAGE and requests.calls[0]["page_size"] == PAGE
    assert f"rows {VERSIONS - PAGE + 1:,}–{VERSIONS:,} of {VERSIONS:,}" in status, status
    assert contiguous(screen)


async def test_a_change_read_again_while_G_is_on_its_way_does_not_undo_it(long_history, ui) -> None:
    """A resync (or another client's change) during `G`: the re-read waits, and reads the last page's place."""
    app = ui.app(long_history.address, settings=TuiSettings(page_size=PAGE))

    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_long_model(app, pilot, ui)
        requests = Requests(app, delay=0.5)  # `G`'s page is still on its way when the re-read is asked for
        await pilot.press("G")
        await ui.wait_for(pilot, lambda: requests.calls, "G's request")
        screen.post_message(Resynced())
        await ui.wait_for(pilot, lambda: len(requests.calls) >= 2 and not screen.fetching, "the re-read")
        chosen = screen.selected()

    assert [call["skip"] for call in requests.calls[:2]] == [VERSIONS - PAGE] * 2  # G's place, read again
    assert chosen is not None and chosen.number == 1
    assert contiguous(screen) and screen.versions[-1].number == 1


async def test_scrolling_down_a_long_way_holds_only_the_window(long_history, ui) -> None:
    app = ui.app(long_history.address, settings=TuiSettings(page_size=SHORT_PAGE))

    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_long_model(app, pilot, ui)
        largest = 0
        for _ in range(12):
            await pilot.press("pagedown")
            await ui.wait_for(pilot, lambda: not screen.fetching, "the next page")
            largest = max(largest, table.row_count)
        chosen = screen.selected()
        absolute = screen.first_row + table.cursor_row
        window = screen.window_rows

    assert screen.first_row > 0  # pages far above were dropped
    assert largest <= window < VERSIONS
    assert table.row_count == len(screen.versions) and contiguous(screen)
    assert chosen is not None and chosen.number == VERSIONS - absolute


async def test_scrolling_back_up_from_the_end_reloads_earlier_pages_and_keeps_the_cursor(long_history, ui) -> None:
    app = ui.app(long_history.address, settings=TuiSettings(page_size=SHORT_PAGE))

    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_long_model(app, pilot, ui)
        await pilot.press("G")
        await ui.wait_for(pilot, lambda: screen.versions[-1].number == 1 and not screen.fetching, "the last page")
        after_g = screen.first_row
        for _ in range(8):
            await pilot.press(*["k"] * 5)
            await ui.wait_for(pilot, lambda: not screen.fetching, "an earlier page")
        chosen = screen.selected()
        contiguous_before = contiguous(screen)
        at_end = screen.first_row
        await pilot.press("g")
        await ui.wait_for(pilot, lambda: screen.first_row == 0 and not screen.fetching, "the first page")
        top = screen.selected()

    assert at_end < after_g and contiguous_before  # earlier pages came back, in order
    assert chosen is not None and chosen.number == 41  # 40 rows up from version 1
    assert screen.first_row == 0
    assert top is not None and top.number == VERSIONS and table.cursor_row == 0


async def test_the_wheel_loads_pages_and_the_view_never_jumps(long_history, ui) -> None:
    app = ui.app(long_history.address, settings=TuiSettings(page_size=SHORT_PAGE))

    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_long_model(app, pilot, ui)
        tops = [0.0]  # the row at the top of the view, counted in the whole list
        for _ in range(80):
            table.post_message(events.MouseScrollDown(table, 0, 0, 0, 0, 0, False, False, False))
            await pilot.pause()
            await ui.wait_for(pilot, lambda: not screen.fetching, "the next page")
            tops.append(screen.first_row + table.scroll_y)
        window = screen.window_rows

    steps = {after - before for before, after in zip(tops, tops[1:])}
    assert screen.first_row > 0 and contiguous(screen)  # pages above were dropped
    assert steps <= {0.0, 1.0, 2.0, 3.0}  # only ever down by a wheel tick, across every page change
    assert tops[-1] > window / 2 and table.row_count <= window


async def test_a_change_read_again_while_scrolled_moves_neither_the_view_nor_the_cursor(long_history, ui) -> None:
    """Another client's change makes the screen read its window again: the rows on screen stay put."""
    app = ui.app(long_history.address, settings=TuiSettings(page_size=SHORT_PAGE))

    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_long_model(app, pilot, ui)
        for _ in range(12):  # far enough that pages above were dropped
            await pilot.press("pagedown")
            await ui.wait_for(pilot, lambda: not screen.fetching, "the next page")
        for _ in range(12):  # and the cursor left off screen
            table.post_message(events.MouseScrollDown(table, 0, 0, 0, 0, 0, False, False, False))
            await pilot.pause()
            await ui.wait_for(pilot, lambda: not screen.fetching, "the next page")
        before = (screen.first_row + table.scroll_y, screen.selected())
        requests = Requests(app)
        with Client(long_history.address) as client:
            client.update_model(resources_pb2.Model(name=f"models/{MODEL}", owner="zoe"), ["owner"])
        await ui.wait_for(pilot, lambda: requests.calls and not screen.fetching, "the window read again")
        await pilot.pause()
        after = (screen.first_row + table.scroll_y, screen.selected())

    assert screen.first_row > 0 and before[1] is not None
    assert requests.calls[0]["skip"] == screen.first_row  # the window's own place, read again
    assert after == before


async def test_marks_are_kept_by_name_while_the_window_moves(long_history, ui) -> None:
    app = ui.app(long_history.address, settings=TuiSettings(page_size=PAGE))

    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_long_model(app, pilot, ui)
        await pilot.press("space")  # the newest, and the cursor moves down
        await pilot.press("G")
        await ui.wait_for(pilot, lambda: screen.versions[-1].number == 1 and not screen.fetching, "the last page")
        await pilot.press("space")
        last_mark = table.get_cell_at(Coordinate(table.row_count - 1, 0)).plain
        await pilot.press("g")
        await ui.wait_for(pilot, lambda: screen.first_row == 0 and not screen.fetching, "the first page")
        first_mark = table.get_cell_at(Coordinate(0, 0)).plain
        second_mark = table.get_cell_at(Coordinate(1, 0)).plain
        status = ui.text(app)

    assert screen.marked == [f"models/{MODEL}/versions/{VERSIONS}", f"models/{MODEL}/versions/1"]
    assert last_mark == MARK and first_mark == MARK and second_mark == ""
    assert f"marked v{VERSIONS}, v1" in status


async def test_the_models_list_read_again_keeps_the_rows_the_wheel_scrolled_to(many_models, ui) -> None:
    """A registration reloads the models screen: the rows in view stay in view, the cursor where the wheel left it."""
    app = ui.app(many_models.address)

    async with app.run_test(size=SIZE) as pilot:
        await ui.wait_for(
            pilot, lambda: app.screen.query(VimTable) and app.screen.query_one(VimTable).row_count == MODELS
        )
        table = app.screen.query_one(VimTable)
        await ui.wait_for_text(pilot, "● connected")
        for _ in range(15):
            table.post_message(events.MouseScrollDown(table, 0, 0, 0, 0, 0, False, False, False))
            await pilot.pause()
        top = int(table.scroll_y)
        shown = table.coordinate_to_cell_key(Coordinate(top + 2, 0)).row_key.value
        before = (table.scroll_y, table.cursor_row)
        with Client(many_models.address) as client:
            client.register_version(calls.register_request(str(shown), uri="s3://models/new/", metrics={"auc": 0.5}))
        await ui.wait_for(pilot, lambda: "v3" in str(table.get_row(str(shown))), "the list read again")
        await pilot.pause()
        after = (table.scroll_y, table.cursor_row)

    assert top > 0 and before[1] == 0  # the wheel left the cursor on the first row, off screen
    assert after == before
