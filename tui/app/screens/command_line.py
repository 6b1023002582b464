"""CommandLineScreen: the `:` prompt at the bottom; dismissed with a parsed `Command` or None."""

from __future__ import annotations

from typing import ClassVar

from studbook.tui.command_line import SPECS, Command, CommandError, parse_command
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static


class CommandLineScreen(ModalScreen[Command | None]):
    """Enter runs the command; a mistake is explained in place, Esc leaves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="command.cancel"),
    ]

    def __init__(self, readonly: bool = False) -> None:
        super().__init__()
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        verbs = [f"{s.verb} " for s in SPECS if not (self.readonly and s.changes_state)]
        with Vertical(id="command-bar"):
            yield Static("", id="command-error", markup=False)
            yield Input(placeholder=":models  :versions NAME  :diff A B  :q", id="command-input",
                        suggester=SuggestFromList(verbs))  # fmt: skip

    @on(Input.Submitted)
    def run(self, event: Input.Submitted) -> None:
        try:
            command = parse_command(event.value, readonly=self.readonly)
        except CommandError as error:
            self.query_one("#command-error", Static).update(str(error))
            return
        self.dismiss(command)

    def action_cancel(self) -> None:
        self.dismiss(None)
