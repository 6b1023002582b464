"""The drop-ins screen: a quarantined drop is listed with its reason, and a fixed one can be retried."""

from __future__ import annotations

from pathlib import Path

from studbook.tui.screens.drops import DropsScreen


async def test_a_quarantined_drop_shows_its_reason_and_can_be_retried(daemon_factory, short_dir: Path, ui) -> None:
    root = short_dir / "drops"
    (root / "fraud").mkdir(parents=True)
    daemon = daemon_factory("--watch", str(root), "--quiet-seconds", "0.2", "--config", str(short_dir / "none.toml"))
    unit = root / "fraud" / "1"
    unit.mkdir()
    (unit / "model.bin").write_bytes(b"x" * 10)
    (unit / "studbook.json").write_text('{\n  "metrics": {"auc": "high"}\n}\n')
    app = ui.app(daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        app.open_drops()
        await ui.wait_for(pilot, lambda: isinstance(app.screen, DropsScreen), "drops screen")
        screen = app.screen
        for _ in range(100):
            if screen.drops:
                break
            screen.reload()
            await pilot.pause(0.1)
        await ui.wait_for_text(pilot, "INVALID_MANIFEST")
        (unit / "studbook.json").write_text('{\n  "metrics": {"auc": 0.9}\n}\n')
        await pilot.press("t")
        await ui.wait_for(pilot, lambda: not screen.drops, "the fixed drop leaves the quarantine", timeout=15)
