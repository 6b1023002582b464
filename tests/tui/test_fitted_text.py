"""Text whose line count changes is laid out at its new height, however the screen's reflows fall.

The screen reflows for any widget's sake; one can fall between a reflow that resized the text
(whose own layout request is then pending until its idle turn) and the text's next update. The
screen's `_refresh_layout` stands for that reflow here: Textual runs it from its update timer,
whose turn relative to the widget's cannot be chosen from outside.
"""

from __future__ import annotations

from studbook.tui.widgets.fitted_text import FittedText
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.widgets import Static

CSS = "FittedText { height: auto; } #below { height: 1; }"


class TextApp(App[None]):
    CSS = CSS

    def compose(self) -> ComposeResult:
        yield FittedText("", id="text")
        yield Static("below", id="below")


async def _settled_after_racing_reflows(before: str, after: str) -> tuple[int, int]:
    """The text's height and the row of the widget under it, once everything settled."""
    app = TextApp()
    async with app.run_test(size=(40, 12)) as pilot:
        text = app.query_one(FittedText)
        text.update(before)
        await pilot.pause()
        screen = app.screen
        screen._refresh_layout(Size(30, 12))  # the text's width changes: its layout request is pending
        screen._clear_arrangement_cache()
        screen._refresh_layout(Size(30, 12))  # another widget's reflow, before the text's idle turn
        text.update(after)
        for _ in range(3):
            await pilot.pause()
        return text.region.height, app.query_one("#below").region.y


async def test_new_lines_are_laid_out_even_after_a_reflow_during_a_pending_layout() -> None:
    assert await _settled_after_racing_reflows("", "description\nowner risk · 3 versions") == (2, 2)


async def test_fewer_lines_give_their_room_back() -> None:
    assert await _settled_after_racing_reflows("one\ntwo\nthree", "one") == (1, 1)
