"""At 80 columns the footer cannot hold every key: `?` (help) and `:` (commands) are never the ones
left out, and a key is shown whole or not at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from studbook.tui.app import StudbookApp
from studbook.tui.screens.base import RegistryScreen

OPENERS: dict[str, Callable[[StudbookApp, str], None]] = {
    "models": lambda app, model: None,
    "versions": lambda app, model: app.open_versions(model),
    "version": lambda app, model: app.open_version(f"{model}@1"),
    "lineage": lambda app, model: app.open_version(f"{model}@1", "lineage"),
    "diff": lambda app, model: app.open_diff(f"{model}@1", f"{model}@2"),
    "drops": lambda app, model: app.open_drops(),
    "approvals": lambda app, model: app.open_approvals(),
}


@pytest.mark.parametrize("screen", list(OPENERS))
async def test_help_and_command_keys_lead_the_footer_at_80_by_24(shared_daemon, seeder, model_id, ui, screen) -> None:  # type: ignore[no-untyped-def]
    seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.91})
    app = ui.app(shared_daemon.address, live=False)

    async with app.run_test(size=(80, 24)) as pilot:
        await ui.wait_for(pilot, lambda: isinstance(app.screen, RegistryScreen), "the first screen")
        bottom = app.screen
        OPENERS[screen](app, model_id)
        await ui.wait_for(pilot, lambda: screen == "models" or app.screen is not bottom, "the screen opened")

        def footer() -> str:
            lines = ui.text(app).splitlines()  # none while a screen is being swapped in
            return lines[-1] if lines else ""

        # The footer is drawn again after the screen's keys settle (focus, loaded rows).
        await ui.wait_for(pilot, lambda: footer().startswith("? Help : Command "), "? and : first in the footer")
        await pilot.pause(0.3)
        settled = footer()
        keys = footer_keys(app)
        await pilot.resize_terminal(240, 24)
        await pilot.pause(0.3)
        wide = footer()

    assert settled.startswith("? Help : Command "), settled
    assert settled.rstrip().endswith("^p Palette"), settled
    left_of_palette = settled.split("▏")[0].rstrip()
    whole = [" ".join(keys[:count]) for count in range(len(keys) + 1)]
    assert left_of_palette in whole, settled  # the keys in order, the last one whole
    assert wide.split("▏")[0].rstrip() == whole[-1], wide  # wider again: every key is back


def footer_keys(app: StudbookApp) -> list[str]:
    """The screen's footer keys as they read ("r Refresh"), help and commands first."""
    shown = [(binding.action, f"{app.get_key_display(binding)} {binding.description}")
             for _, binding, _, _ in app.screen.active_bindings.values()
             if binding.show and binding.key != app.COMMAND_PALETTE_BINDING]  # fmt: skip
    first = ("help", "command_line")
    return [key for action, key in sorted(shown, key=lambda s: first.index(s[0]) if s[0] in first else len(first))]
