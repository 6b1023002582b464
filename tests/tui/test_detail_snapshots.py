"""The lists with a detail pane, pinned at 80×24 and 120×40: quarantined drops, pending approvals, a
version's history with the answer to "who held it then".

Times are written as `…` (TimeFormat(hidden=True)); the watched folder has a fixed path, as the
pane shows it whole. Update with `pytest tests/tui/test_detail_snapshots.py --snapshot-update`
after looking at what changed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from conftest import Daemon, start_daemon, stop_daemon  # type: ignore[import-not-found]
from studbook.client.clients import Client
from studbook.tui.app import StudbookApp
from studbook.tui.config import TuiSettings
from studbook.tui.live import ConnectionState
from studbook.tui.screens.approvals import ApprovalsScreen
from studbook.tui.screens.drops import DropsScreen
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.version import VersionScreen
from studbook.tui.timefmt import TimeFormat
from textual.pilot import Pilot

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
ROOT = Path("/tmp/studbook-snapshot-drops")
POLICY = """
[[models]]
pattern = "*"
[models.gates.production]
metrics = ["auc >= 0.9"]
approvals = 1
"""
REASON = ("retrained on January with the new merchant features: auc 0.91 -> 0.95 on the holdout, "
          "p99 latency unchanged at 38 ms; back out with a rollback of production if chargebacks rise")  # fmt: skip


@pytest.fixture(scope="module")
def drops_daemon() -> Iterator[Daemon]:
    """Two quarantined drops: a manifest with a wrong value, and a child whose parent is missing."""
    base = Path(tempfile.mkdtemp(prefix="sb-"))
    shutil.rmtree(ROOT, ignore_errors=True)
    bad = ROOT / "fraud-detector" / "3"
    bad.mkdir(parents=True)
    (bad / "model.bin").write_bytes(b"weights")
    (bad / "studbook.json").write_text('{\n  "metrics": {"auc": "high"}\n}\n')
    orphan = ROOT / "churn" / "2"
    orphan.mkdir(parents=True)
    (orphan / "model.bin").write_bytes(b"child weights")
    (orphan / "studbook.json").write_text(json.dumps({"parents": [{"version": "models/churn-base/versions/1"}]}))
    daemon = start_daemon(base / "data", base / "s.sock", "--watch", str(ROOT), "--quiet-seconds", "0.2",
                          "--config", str(base / "none.toml"))  # fmt: skip
    try:
        yield daemon
    finally:
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(ROOT, ignore_errors=True)


@pytest.fixture(scope="module")
def approvals_daemon() -> Iterator[Daemon]:
    """Two promotions to production waiting for one approval each, asked by someone else, and a
    model whose staging changed hands twice."""
    base = Path(tempfile.mkdtemp(prefix="sb-"))
    (base / "policy.toml").write_text(POLICY)
    daemon = start_daemon(base / "data", base / "s.sock", "--policy", str(base / "policy.toml"))
    before = os.environ.get("STUDBOOK_ACTOR")
    os.environ["STUDBOOK_ACTOR"] = "asker@lab"
    try:
        with Client(daemon.address) as client:
            for model, auc, reason in (("fraud-detector", 0.95, REASON), ("churn", 0.92, "monthly refresh")):
                client.register(model, uri=f"s3://models/{model}/", metrics={"auc": auc}, environment=False, git=False)
                client.promote(f"{model}@1", "production", reason=reason)
            # Stages without gates change hands at once: a history to ask about.
            for number, reason in (
                (1, "first candidate"),
                (2, "second candidate: better recall at the same precision"),
            ):
                client.register("ranker", uri=f"s3://models/ranker/{number}/", metrics={"ndcg": 0.7}, environment=False,
                                git=False)  # fmt: skip
                client.promote(f"ranker@{number}", "staging", reason=reason)
    finally:
        if before is None:
            os.environ.pop("STUDBOOK_ACTOR", None)
        else:
            os.environ["STUDBOOK_ACTOR"] = before
    try:
        yield daemon
    finally:
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)


def app_for(address: str) -> StudbookApp:
    return StudbookApp(address, settings=TuiSettings(), times=TimeFormat(hidden=True), live=False)


async def until(pilot: Pilot[None], condition: Callable[[], object], reload: Callable[[], None] | None = None) -> None:
    for attempt in range(400):
        if condition():
            await pilot.pause(0.1)
            return
        if reload is not None and attempt % 4 == 3:
            reload()  # the watcher judges the drops in its own time; nothing else asks again
        await pilot.pause(0.025)
    raise AssertionError("the screen never finished loading")


def prepare(steps: Callable[[StudbookApp, Pilot[None]], Awaitable[None]]) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app: StudbookApp = pilot.app  # type: ignore[assignment]
        app.connection = ConnectionState.CONNECTED
        await until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        await steps(app, pilot)

    return run_before


@SIZES
def test_quarantined_drops_with_the_pane(drops_daemon: Daemon, size: tuple[int, int], snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_drops()
        await until(pilot, lambda: isinstance(app.screen, DropsScreen))
        screen = app.screen
        assert isinstance(screen, DropsScreen)
        await until(pilot, lambda: len(screen.drops) == 2, screen.reload)
        await pilot.press("j")  # the pane follows the cursor to the second row

    assert snap_compare(app_for(drops_daemon.address), terminal_size=size, run_before=prepare(steps))


@SIZES
def test_pending_approvals_with_the_pane(approvals_daemon: Daemon, size: tuple[int, int], snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_approvals()
        await until(pilot, lambda: isinstance(app.screen, ApprovalsScreen) and len(app.screen.promotions) == 2)
        screen = app.screen
        assert isinstance(screen, ApprovalsScreen)
        row = [p.model for p in screen.promotions].index("models/fraud-detector")
        screen.query_one("#approvals").move_cursor(row=row)  # type: ignore[attr-defined]

    assert snap_compare(app_for(approvals_daemon.address), terminal_size=size, run_before=prepare(steps))


@SIZES
def test_version_history_answers_who_held_a_stage(
    approvals_daemon: Daemon, size: tuple[int, int], snap_compare
) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("ranker@2", "history")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and len(app.screen.history_changes) == 2)
        await pilot.press("a", *"now", "enter")
        await until(pilot, lambda: app.screen.held_at)  # type: ignore[attr-defined]

    assert snap_compare(app_for(approvals_daemon.address), terminal_size=size, run_before=prepare(steps))
