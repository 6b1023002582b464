"""KeyFooter: the footer of every screen, with help (`?`) and the command line (`:`) always first."""

from __future__ import annotations

from studbook.tui.widgets.footer import Footer
from textual.app import ComposeResult
from textual.widget import Widget

# Actions whose keys lead to every other key: a footer too narrow for all of its keys
# cuts from the right, so these go on the left, where they are never the ones cut.
FIRST_ACTIONS = ("help", "command_line")


def keys_first(widgets: list[Widget], actions: tuple[str, ...] = FIRST_ACTIONS) -> list[Widget]:
    """`widgets` with the keys of `actions` moved to the front, in the order of `actions`; the rest keep theirs."""

    def rank(widget: Widget) -> int:
        # A footer key carries its binding's action; groups and labels carry none. (Read as an
        # attribute: the key's class is not part of Textual's public widgets.)
        action = getattr(widget, "action", None)
        return actions.index(action) if action in actions else len(actions)

    return sorted(widgets, key=rank)  # stable: the screen's own keys keep their order


class KeyFooter(Footer):
    """Compact, so more keys fit at 80 columns; the palette key stays docked on the right.

    A key is shown whole or not at all: those that do not fit beside the palette key are left
    out from the right, never cut mid-word ("s Sav"); `?` lists them all.
    """

    def __init__(self) -> None:
        super().__init__(compact=True)

    def compose(self) -> ComposeResult:
        keys = keys_first(list(super().compose()))
        for key in keys:
            # Each key's compact style is otherwise set just after it is mounted, and restyles
            # it once more; with the class already in place, the first styling is the last.
            if self.compact and getattr(key, "action", None) is not None:
                key.add_class("-compact", update=False)
        yield from keys

    def on_mount(self) -> None:
        self.call_after_refresh(self._fit)

    async def recompose(self) -> None:
        await super().recompose()
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        # Wider now, keys left out may fit again: lay them all out, then leave out what does not fit.
        for key in self._row():
            key.display = True
        self.call_after_refresh(self._fit)

    def _row(self) -> list[Widget]:
        """The keys laid out left to right (not the palette key, which is docked)."""
        return [child for child in self.children if not child.has_class("-command-palette")]

    def _fit(self) -> None:
        if not self.is_attached:
            return
        docked = sum(child.outer_size.width for child in self.children if child.has_class("-command-palette"))
        right = self.content_region.right - docked
        fits = True
        for key in self._row():
            fits = fits and key.region.right <= right
            if key.display != fits:
                key.display = fits
