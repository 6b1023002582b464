"""Helpers for driving the real app against a real daemon: seeding, waiting, reading the screen."""

from __future__ import annotations

import asyncio
import difflib
import html
import inspect
import itertools
import json
import pickle
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from studbook.client import calls
from studbook.client.clients import Client
from studbook.tui.app import StudbookApp
from studbook.tui.config import TuiSettings
from studbook.tui.timefmt import TimeFormat
from studbook.v1 import resources_pb2
from textual.pilot import Pilot

SIZE = (140, 40)
FIXED_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ENVIRONMENT = resources_pb2.Environment(
    python_version="3.11.9", platform="Linux-6.1-x86_64", packages={"scikit-learn": "1.5.1", "numpy": "1.26.4"}
)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop; Pilot needs one, and no plugin is required for it."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


def screen_text(app: StudbookApp) -> str:
    """What the terminal shows right now, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def wait_for(pilot: Pilot[None], condition: Callable[[], object], what: str = "", timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds; fail with `what` and the screen if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}:\n{screen_text(pilot.app)}")  # type: ignore[arg-type]
        await pilot.pause(0.05)


async def wait_for_text(pilot: Pilot[None], text: str, timeout: float = 10.0) -> None:
    await wait_for(pilot, lambda: text in screen_text(pilot.app), f"{text!r} on screen", timeout)  # type: ignore[arg-type]


def pane_field(app: StudbookApp, label: str) -> tuple[str, list[str]]:
    """The value of one field of the screen's detail pane, as shown: (its words joined by single
    spaces, its rows from the label's column on). A continuation row is one with nothing under
    the labels, so a value that wrapped to column 1 ends the field early and fails the caller's check.
    ("", []) while the pane shows no such field, e.g. between two of its updates.
    """
    from studbook.tui.widgets.detail_pane import DetailPane

    pane = app.screen.query_one(DetailPane).scrollable_content_region
    rows = [row[pane.x : pane.right] for row in screen_text(app).split("\n")[pane.y : pane.bottom]]
    start = next((i for i, row in enumerate(rows) if row.lstrip().startswith(label + " ")), None)
    if start is None:
        return "", []
    first = rows[start]
    column = first.index(label) + len(label)
    column += len(first[column:]) - len(first[column:].lstrip())
    shown = [rows[start]] + list(itertools.takewhile(lambda row: not row[:column].strip(), rows[start + 1 :]))
    values = [row[column:] for row in shown]
    return " ".join(" ".join(values).split()), values


async def type_into(pilot: Pilot[None], text: str) -> None:
    """Fill the focused input at once (pressing each key is slow) and press enter."""
    pilot.app.focused.value = text  # type: ignore[union-attr]
    await pilot.press("enter")


def make_app(address: str, **options: object) -> StudbookApp:
    """The app as `studbook` builds it, with times written relative to a fixed clock."""
    options.setdefault("times", TimeFormat(lambda: FIXED_NOW))
    options.setdefault("settings", TuiSettings(page_size=20))
    return StudbookApp(address, **options)  # type: ignore[arg-type]


def write_artifact(folder: Path) -> Path:
    """A small model folder whose files earn flags: a pickle importing os.system (registered only
    because the seeder allows it) and one importing a class no allow-list knows.

    The pickles are written as bytes and never loaded; the daemon only reads them.
    """
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    contents = {
        "config.json": b'{"model_type": "demo"}',
        "model.pkl": b"\x80\x02cos\nsystem\nq\x00.",  # GLOBAL os.system, then STOP
        "weights/model.safetensors": struct.pack("<Q", len(header)) + header + bytes(8),
        "weights/head.pkl": b"\x80\x02cmy_project.heads\nHead\nq\x00.",  # GLOBAL of a class of its own
    }
    for name, data in contents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


@pytest.fixture
def flagged_artifact(tmp_path: Path) -> Path:
    return write_artifact(tmp_path / "artifact")


@dataclass
class Seeder:
    """Registers versions the way a training script would, with fixed request ids and provenance."""

    client: Client

    def version(
        self,
        model: str,
        metrics: dict[str, float],
        *,
        params: dict[str, object] | None = None,
        tags: dict[str, str] | None = None,
        card: str = "",
        parents: tuple[tuple[str, str], ...] = (),
        data: dict[str, str] | None = None,
        change_kind: str = "tuning",
    ) -> resources_pb2.ModelVersion:
        request = calls.register_request(
            model,
            uri=f"s3://models/{model}/",
            metrics=metrics,
            params=params or {"lr": 0.1},
            tags=tags or {"team": "risk"},
            model_card=card,
            parents=parents,
            data_versions=data or {"transactions": "2026-01"},
            change_kind=change_kind,
            seed=7,
            environment=ENVIRONMENT,
            git=False,
            created_from="test",
            entry_point="train.py",
        )
        request.version.created_by = "ana@lab"
        return self.client.register_version(request).version

    def folder(self, model: str, path: Path) -> resources_pb2.ModelVersion:
        """Register a local folder: the daemon hashes and inspects its files (letting code-running ones in)."""
        request = calls.register_request(
            model, path=path, metrics={"auc": 0.9}, environment=ENVIRONMENT, git=False, created_from="test",
            entry_point="train.py", allow_unsafe=True,
        )  # fmt: skip
        return self.client.register_version(request).version


@pytest.fixture
def seeder(shared_daemon) -> Iterator[Seeder]:  # type: ignore[no-untyped-def]
    with Client(shared_daemon.address) as client:
        yield Seeder(client)


class UI:
    """The helpers above, handed to tests as the `ui` fixture (test modules cannot import conftest)."""

    text = staticmethod(screen_text)
    wait_for = staticmethod(wait_for)
    wait_for_text = staticmethod(wait_for_text)
    type_into = staticmethod(type_into)
    pane_field = staticmethod(pane_field)
    app = staticmethod(make_app)


@pytest.fixture
def ui() -> type[UI]:
    return UI


_SVG_CELL_WIDTH = 12.2  # Textual's screenshots place each cell this many units right of the one before
_SVG_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', re.S)


def svg_rows(svg: str) -> list[str]:
    """The text of a screenshot, row by row (styles dropped), for a readable difference."""
    rows: dict[float, list[str]] = {}
    for x, y, text in _SVG_TEXT.findall(svg):
        row = rows.setdefault(float(y), [])
        column = round(float(x) / _SVG_CELL_WIDTH)
        row.extend(" " * (column - len(row)))
        row[column:] = html.unescape(text).replace("\xa0", " ")
    return ["".join(row).rstrip() for _, row in sorted(rows.items())]


@pytest.fixture
def snap_compare(snap_compare, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The plugin's comparison, which on a mismatch also prints the rows that differ: the HTML
    report it writes stays on the machine that ran the tests, the printed rows reach the log."""
    from pytest_textual_snapshot import node_to_report_path

    def compare(*args, **kwargs) -> bool:  # type: ignore[no-untyped-def]
        matched: bool = snap_compare(*args, **kwargs)
        if not matched:
            _, expected, actual, *_ = pickle.loads(node_to_report_path(request.node).read_bytes())
            difference = difflib.unified_diff(
                svg_rows(expected or ""), svg_rows(actual or ""), "expected", "actual", lineterm=""
            )
            print("\n".join(difference))
        return matched

    return compare
