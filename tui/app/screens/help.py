"""HelpScreen: every binding of the screen it was opened on (with its id, for the keymap) and the `:` commands, scrolling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from studbook.tui.command_line import SPECS, Spec
from studbook.tui.config import settings_path
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static


@dataclass(frozen=True)
class BindingRow:
    keys: str
    description: str
    id: str


def bindings_of(screen: Screen[object]) -> list[BindingRow]:
    """The bindings active on `screen` (its focused widget's, its own and the app's), by id."""
    rows: dict[str, BindingRow] = {}
    app = screen.app
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.system or not (binding.description or binding.id):
            continue
        ident = binding.id or binding.action
        display = app.get_key_display(binding) if binding.key == key else key
        known = rows.get(ident)
        keys = f"{known.keys}, {display}" if known else display
        rows[ident] = BindingRow(keys, binding.description or binding.action, binding.id or "")
    return sorted(rows.values(), key=lambda r: (r.id == "", r.id, r.description))


def _homely(path: Path) -> str:
    """`~/.config/studbook/tui.toml`: shorter, and the same for every user."""
    home = Path.home()
    return f"~/{path.relative_to(home).as_posix()}" if path.is_relative_to(home) else str(path)


def bindings_table(rows: Sequence[BindingRow]) -> Table:
    """KEY, ACTION, ID: the action wraps when the dialog is narrow; keys and ids never do."""
    table = _table("KEY", "ACTION", "ID")
    for row in rows:
        table.add_row(Text(row.keys, style="bold"), Text(row.description), Text(row.id, style="dim"))
    return table


def commands_table(specs: Sequence[Spec]) -> Table:
    """COMMAND (with its short forms), DOES."""
    table = _table("COMMAND", "DOES")
    for spec in specs:
        usage = Text(spec.usage, style="bold")
        if spec.aliases:
            usage.append("  " + " ".join(f":{alias}" for alias in spec.aliases), style="dim")
        table.add_row(usage, Text(spec.help))
    return table


def _table(*headers: str) -> Table:
    table = Table(box=None, show_edge=False, pad_edge=False, expand=True, header_style="bold dim")
    for index, header in enumerate(headers):
        wraps = index == 1  # the prose column takes what the others leave
        table.add_column(header, no_wrap=not wraps, ratio=1 if wraps else None, overflow="fold")
    return table


class HelpScreen(ModalScreen[None]):
    """Every binding, then every `:` command, in one scrolling body; esc, q or ? closes it.

    The body scrolls by keys (j/k, space/PageDown, g/G) and by mouse, so the last command is
    reachable however small the terminal is.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
        Binding("j,down", "scroll('down')", "Scroll down", show=False, id="help.down"),
        Binding("k,up", "scroll('up')", "Scroll up", show=False, id="help.up"),
        Binding("space,pagedown,ctrl+f", "scroll('page_down')", "Page down", show=False, id="help.page_down"),
        Binding("b,pageup,ctrl+b", "scroll('page_up')", "Page up", show=False, id="help.page_up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="help.top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="help.bottom"),
    ]

    def __init__(self, title: str, rows: Sequence[BindingRow], readonly: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.rows = list(rows)
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        specs = [s for s in SPECS if not (self.readonly and s.changes_state)]
        with Vertical(id="dialog", classes="dialog help"):
            yield Label(f"Keys of {self.title_text}", id="dialog-title", markup=False)
            with VerticalScroll(id="help-body"):
                yield Static(bindings_table(self.rows), id="help-bindings")
                yield Label("Commands (type : first)", classes="help-section")
                yield Static(commands_table(specs), id="help-commands")
            yield Static(
                f"j/k space g/G scroll · esc closes · remap keys by id in {_homely(settings_path())} under [keymap]",
                markup=False,
                id="help-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

    def action_scroll(self, how: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        moves = {
            "down": body.scroll_down,
            "up": body.scroll_up,
            "page_down": body.scroll_page_down,
            "page_up": body.scroll_page_up,
            "home": body.scroll_home,
            "end": body.scroll_end,
        }
        moves[how](animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
