"""HelpScreen: every binding of the screen it was opened on (with its id, for the keymap) and the `:` commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, Static

from studbook.tui.command_line import SPECS
from studbook.tui.config import settings_path


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


class HelpScreen(ModalScreen[None]):
    """Esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, title: str, rows: Sequence[BindingRow], readonly: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.rows = list(rows)
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog help"):
            yield Label(f"Keys of {self.title_text}", id="dialog-title", markup=False)
            yield DataTable(id="help-bindings", cursor_type="row", zebra_stripes=True)
            yield Label("Commands (type : first)")
            yield DataTable(id="help-commands", cursor_type="row", zebra_stripes=True)
            yield Static(f"Remap keys by id in {settings_path()} under [keymap].", markup=False, id="help-hint")

    def on_mount(self) -> None:
        bindings = self.query_one("#help-bindings", DataTable)
        bindings.add_columns("KEY", "ACTION", "ID")
        bindings.add_rows([(Text(r.keys), Text(r.description), Text(r.id)) for r in self.rows])
        commands = self.query_one("#help-commands", DataTable)
        commands.add_columns("COMMAND", "DOES")
        specs = [s for s in SPECS if not (self.readonly and s.changes_state)]
        commands.add_rows([(Text(s.usage), Text(s.help)) for s in specs])
        bindings.focus()

    def action_close(self) -> None:
        self.dismiss(None)
