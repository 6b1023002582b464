"""Navigation: the app's verbs (open a screen, start a promotion), shared by screens, palette and `:`.

Each screen's module is imported when the screen is first opened, not with the app: the models
screen must paint before the version screen's charts and markdown, the diff or the dialogs load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from studbook.tui.app import StudbookApp
    from studbook.tui.command_line import Command


class Navigation:
    """Mixed into the app; every method pushes a screen, so `esc` always goes back one step."""

    @property
    def _app(self) -> StudbookApp:
        return cast("StudbookApp", self)

    def known_models(self) -> list[str]:
        """The models the models screen last listed (ids), for when the daemon cannot be asked."""
        from studbook.tui import cells
        from studbook.tui.screens.models import ModelsScreen

        for screen in self._app.screen_stack:
            if isinstance(screen, ModelsScreen):
                return [cells.model_id(name) for name in screen.models]
        return []

    def open_models(self) -> None:
        # The models screen is the bottom of the stack: going there is going all the way back.
        while len(self._app.screen_stack) > 1:
            self._app.pop_screen()

    def open_versions(self, model: str) -> None:
        from studbook.tui.screens.versions import VersionsScreen

        self._app.push_screen(VersionsScreen(model))

    def open_version(self, ref: str, tab: str = "overview") -> None:
        from studbook.tui.screens.version import VersionScreen

        self._app.push_screen(VersionScreen(ref, tab))

    def open_diff(self, base: str, target: str) -> None:
        from studbook.tui.screens.diff import DiffScreen

        self._app.push_screen(DiffScreen(base, target))

    def open_drops(self) -> None:
        from studbook.tui.screens.drops import DropsScreen

        self._app.push_screen(DropsScreen())

    def open_approvals(self) -> None:
        from studbook.tui.screens.approvals import ApprovalsScreen

        self._app.push_screen(ApprovalsScreen())

    def open_help(self) -> None:
        from studbook.tui.screens.help import HelpScreen, bindings_of

        screen = self._app.screen
        self._app.push_screen(
            HelpScreen(getattr(screen, "crumb", "") or "studbook", bindings_of(screen), self._app.readonly)
        )

    def start_promote(self, ref: str, target: str = "") -> None:
        if not self._app.readonly:
            from studbook.tui.screens.promote import PromoteDialog

            self._app.push_screen(PromoteDialog(ref, target))

    def start_rollback(self, model: str, stage: str = "production", version: str = "", summary: str = "") -> None:
        """`version`: put back that earlier holder (a monitor's candidate, said in `summary`), not the previous one."""
        if not self._app.readonly:
            from studbook.tui.screens.rollback import RollbackDialog

            self._app.push_screen(RollbackDialog(model, stage, version=version, summary=summary))

    def run_command(self, command: Command | None) -> None:
        """Carry out a parsed `:` command (None: the prompt was cancelled)."""
        if command is None:
            return
        verb, args = command.verb, command.args
        if verb == "quit":
            self._app.exit()
        elif verb == "models":
            self.open_models()
        elif verb == "versions":
            self.open_versions(args[0])
        elif verb == "show":
            self.open_version(args[0])
        elif verb == "lineage":
            self.open_version(args[0], "lineage")
        elif verb == "diff":
            base, target = (args[0], args[1]) if len(args) == 2 else (f"{args[0].split('@')[0]}@production", args[0])
            self.open_diff(base, target)
        elif verb == "promote":
            self.start_promote(args[0], args[1] if len(args) > 1 else "")
        elif verb == "rollback":
            self.start_rollback(args[0], args[1] if len(args) > 1 else "production")
        elif verb == "drops":
            self.open_drops()
        elif verb == "approvals":
            self.open_approvals()
        elif verb == "help":
            self.open_help()
