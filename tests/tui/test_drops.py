"""The drop-ins screen: a quarantined drop is listed with its reason, its whole text shows in the
detail pane, and a retry says what the watcher decided."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studbook.client.clients import Client
from studbook.tui.screens.drops import DropsScreen

# Words with spaces between them, so the daemon's message about this file wraps at word boundaries.
LONG_NAME = " ".join(f"word{n:03d}" for n in range(24)) + ".bin"


def watching(daemon_factory: Any, short_dir: Path) -> tuple[Path, Any]:
    root = short_dir / "drops"
    root.mkdir()
    daemon = daemon_factory("--watch", str(root), "--quiet-seconds", "0.2", "--config", str(short_dir / "none.toml"))
    return root, daemon


def orphan_drop(root: Path, model: str) -> Path:
    """Quarantined as PARENT_NOT_FOUND until `{model}-base` has a version 1; nothing on disk needs to change."""
    unit = root / model / "1"
    unit.mkdir(parents=True)
    (unit / "model.bin").write_bytes(b"child weights")
    (unit / "studbook.json").write_text(json.dumps({"parents": [{"version": f"models/{model}-base/versions/1"}]}))
    return unit


async def open_drops(app: Any, pilot: Any, ui: Any, count: int) -> DropsScreen:
    app.open_drops()
    await ui.wait_for(pilot, lambda: isinstance(app.screen, DropsScreen), "drops screen")
    screen = app.screen
    assert isinstance(screen, DropsScreen)
    for _ in range(100):
        if len(screen.drops) >= count:
            break
        screen.reload()
        await pilot.pause(0.1)
    await ui.wait_for(pilot, lambda: len(screen.drops) == count, f"{count} quarantined drops")
    return screen


async def test_a_quarantined_drop_shows_its_reason_and_can_be_retried(daemon_factory, short_dir: Path, ui) -> None:
    root, daemon = watching(daemon_factory, short_dir)
    (root / "fraud").mkdir(parents=True)
    unit = root / "fraud" / "1"
    unit.mkdir()
    (unit / "model.bin").write_bytes(b"x" * 10)
    (unit / "studbook.json").write_text('{\n  "metrics": {"auc": "high"}\n}\n')
    app = ui.app(daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_drops(app, pilot, ui, 1)
        await ui.wait_for_text(pilot, "INVALID_MANIFEST")
        (unit / "studbook.json").write_text('{\n  "metrics": {"auc": 0.9}\n}\n')
        await pilot.press("t")
        await ui.wait_for(pilot, lambda: not screen.drops, "the fixed drop leaves the quarantine", timeout=15)


async def test_a_long_what_to_fix_is_whole_in_the_pane_at_80_by_24(daemon_factory, short_dir: Path, ui) -> None:
    root, daemon = watching(daemon_factory, short_dir)
    (root / LONG_NAME).write_bytes(b"weights")
    app = ui.app(daemon.address)

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_drops(app, pilot, ui, 1)
        message = screen.drops[0].message
        assert len(message) >= 400 and screen.drops[0].reason == "NOT_IN_MODEL_FOLDER"
        await ui.wait_for_text(pilot, "what to fix")
        await pilot.pause(0.1)

        shown, rows = ui.pane_field(app, "what to fix")
        # Wrapped under its label, never back to column 1, and every word of it on screen.
        assert len(rows) > 1 and shown == " ".join(message.split())


async def test_a_retry_says_still_quarantined_then_registered(daemon_factory, short_dir: Path, ui) -> None:
    root, daemon = watching(daemon_factory, short_dir)
    orphan_drop(root, "child")
    app = ui.app(daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_drops(app, pilot, ui, 1)
        await pilot.press("t")
        # Nothing changed, so the watcher quarantines it again: the screen says so, with the reason.
        await ui.wait_for_text(pilot, "child/1: still quarantined: PARENT_NOT_FOUND", timeout=15)
        assert "looking at it again" not in ui.text(app)

        with Client(daemon.address) as client:
            client.register("child-base", uri="s3://bucket/base", git=False, environment=False)
        await pilot.press("t")
        await ui.wait_for_text(pilot, "child/1: registered as child@1", timeout=15)
        # The row stays to say what became of it, and the list no longer counts it.
        await ui.wait_for(pilot, lambda: not screen.drops and len(screen.rows) == 1, "the row shows the outcome")
        await ui.wait_for_text(pilot, "no quarantined drops")
        assert ui.pane_field(app, "state")[0] == "registered as child@1"
