"""FittedText: a Static whose height (`height: auto`) follows its text every time the text changes."""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


class FittedText(Static):
    """Use it for any text whose line count changes after mount (model facts, notices).

    Textual caches a widget's box model under a counter of layout requests, and a request only
    advances that counter when none is pending. A layout request can be pending for a while
    (a reflow changed the widget's size and the widget has not had its idle turn yet); a reflow
    the screen does for another widget in that time caches the old height under the current
    count, and the text set next reuses it: two new lines laid out in one, the second never shown,
    until something else happens to move the counter.
    """

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(content, layout=layout)
        if layout:
            # A new count for the new text: no height cached for the old text can answer for it.
            self._layout_updates += 1
