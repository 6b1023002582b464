"""Help lists every binding and every `:` command in one body that scrolls to its last line, at any size."""

from __future__ import annotations

import pytest
from studbook.tui.command_line import SPECS
from studbook.tui.screens.help import HelpScreen
from textual import events
from textual.containers import VerticalScroll

SIZES = [(80, 24), (120, 40)]
LAST = SPECS[-1]


async def _open_help(app, pilot, ui) -> VerticalScroll:  # type: ignore[no-untyped-def]
    await pilot.press("question_mark")
    await ui.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help open")
    await pilot.pause()
    return app.screen.query_one("#help-body", VerticalScroll)


def _last_command_shown(text: str) -> bool:
    return any(LAST.usage in line and LAST.help in line for line in text.splitlines())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("keys", [("G",), ("end",), ("pagedown",) * 12, ("space",) * 12])
async def test_the_last_command_is_reached_by_keys(shared_daemon, ui, size, keys) -> None:  # type: ignore[no-untyped-def]
    app = ui.app(shared_daemon.address, live=False)

    async with app.run_test(size=size) as pilot:
        await ui.wait_for_text(pilot, "models")
        await _open_help(app, pilot, ui)
        before = ui.text(app)
        await pilot.press(*keys)
        await pilot.pause()
        after = ui.text(app)
        await pilot.press("g")
        await pilot.pause()
        back_at_top = ui.text(app)

    assert not _last_command_shown(before)  # the body is taller than the dialog at this size
    assert _last_command_shown(after), after
    assert "Keys of models" in back_at_top and "app.command" in back_at_top


async def test_the_last_command_is_reached_by_the_mouse_wheel(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    app = ui.app(shared_daemon.address, live=False)

    async with app.run_test(size=(80, 24)) as pilot:
        await ui.wait_for_text(pilot, "models")
        body = await _open_help(app, pilot, ui)
        for _ in range(40):
            body.post_message(events.MouseScrollDown(body, 2, 2, 0, 1, 0, False, False, False))
        await ui.wait_for(pilot, lambda: _last_command_shown(ui.text(app)), "the last command after scrolling")


async def test_every_command_is_listed_with_its_short_forms(shared_daemon, ui) -> None:  # type: ignore[no-untyped-def]
    app = ui.app(shared_daemon.address, live=False)
    seen: list[str] = []

    async with app.run_test(size=(120, 40)) as pilot:
        await ui.wait_for_text(pilot, "models")
        await _open_help(app, pilot, ui)
        for _ in range(20):
            seen.extend(ui.text(app).splitlines())
            await pilot.press("pagedown")
            await pilot.pause()

    shown = "\n".join(seen)
    for spec in SPECS:
        assert spec.usage in shown, spec.usage
        assert all(f":{alias}" in shown for alias in spec.aliases), spec.aliases
