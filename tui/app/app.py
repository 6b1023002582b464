"""StudbookApp: the terminal UI's shell: client, settings, live connection, global keys."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe, safe_lines
from studbook.tui import collector
from studbook.tui.config import TuiSettings
from studbook.tui.live import ConnectionState, Follower
from studbook.tui.messages import RegistryChanged, Resynced
from studbook.tui.navigation import Navigation
from studbook.tui.palette import RegistryCommands
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.top_bar import TopBar
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import var

if TYPE_CHECKING:
    from studbook.client.clients import AsyncClient
    from studbook.v1 import events_pb2

# Seconds after mounting that start-up is over at the latest (see collector).
STARTUP_GRACE = 5.0


class StudbookApp(Navigation, App[None]):
    """Opens on the models screen; `--readonly` hides every action that changes the registry."""

    CSS_PATH = "studbook.tcss"
    # The other screens' rules (about two thirds of the whole) are parsed when the first of them
    # opens, not before the first frame; none of them styles the models screen.
    SCREENS_CSS = Path(__file__).with_name("screens.tcss")
    TITLE = "studbook"
    COMMANDS: ClassVar = App.COMMANDS | {RegistryCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
        Binding("ctrl+c", "help_quit", show=False, system=True),
        Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True, id="app.palette"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon", "command_line", "Command", id="app.command"),
        Binding("escape", "back", "Back", id="app.back"),
    ]

    # A var, not a reactive that repaints: only its watchers (the top bar's indicator, the screens)
    # show it, and an app's repaint draws the whole screen again, in the middle of start-up too.
    connection: var[ConnectionState] = var(ConnectionState.CONNECTING)
    """What the Watch stream says about the daemon; the top bar shows it."""

    class ConnectionChanged(Message, bubble=False):
        def __init__(self, state: ConnectionState, detail: str) -> None:
            super().__init__()
            self.state = state
            self.detail = detail

    def __init__(
        self,
        address: str | None = None,
        *,
        readonly: bool = False,
        settings: TuiSettings | None = None,
        problems: tuple[str, ...] = (),
        notices: tuple[str, ...] = (),
        times: TimeFormat | None = None,
        live: bool = True,
        token: str | None = None,
        tls_ca: str | Path | None = None,
    ) -> None:
        super().__init__()
        # token and tls_ca: see Client; None reads $STUDBOOK_TOKEN and $STUDBOOK_TLS_CA.
        self._address, self._token, self._tls_ca = address, token, tls_ca
        self._client: AsyncClient | None = None
        self._watch_client: AsyncClient | None = None
        self.readonly = readonly
        self.settings = settings or TuiSettings()
        self.problems = problems
        self.notices = notices
        self.times = times or TimeFormat()
        self.live = live
        self.connection_detail = ""
        # Who the daemon takes us for, e.g. "ci (viewer)"; learned when a token is in use.
        self.identity = ""
        self._connected = False
        self._screens_css_loaded = False
        self._client_imported = False

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        """Textual's push_screen, once the other screens' stylesheet is in (the one door every
        screen after the first comes through, Textual's own palette included)."""
        if not self._screens_css_loaded:
            self._screens_css_loaded = True
            if self.css_monitor is not None:
                self.css_monitor.add_paths([self.SCREENS_CSS])
            # Added, not reparsed: the stylesheet parses the new rules alone when it next styles a widget.
            self.stylesheet.read(self.SCREENS_CSS)
        return super().push_screen(*args, **kwargs)

    # The clients (grpc and every generated module) are built on first use, which comes after the
    # first frame: the models screen fetches once painted, so the frame never waits for grpc.
    @property
    def client(self) -> AsyncClient:
        if self._client is None:
            self._client = self._new_client(retries=True)
        return self._client

    @property
    def watch_client(self) -> AsyncClient:
        # The follower backs off on its own; resending its health checks would only delay "offline".
        if self._watch_client is None:
            self._watch_client = self._new_client(retries=False)
        return self._watch_client

    def import_client_soon(self) -> None:
        """Imports the client (grpc and the generated modules, some 20 ms) on a thread of its own,
        once. Called when the first frame is drawn: the event loop then idles until Textual's next
        update, and the import fills that time rather than following it (the first fetch, which
        comes after that update, finds it done, or waits for it under Python's import lock)."""
        if self._client_imported:
            return
        self._client_imported = True
        threading.Thread(target=_import_client, name="studbook-client-import", daemon=True).start()

    def _new_client(self, *, retries: bool) -> AsyncClient:
        from studbook.client.clients import AsyncClient

        return AsyncClient(self._address, retries=retries, token=self._token, tls_ca=self._tls_ca)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification carries text from the registry (names, reasons, messages):
        shown as plain text, escaped, never read as markup."""
        super().notify(safe_lines(message), title=safe(title), severity=severity, timeout=timeout, markup=False)

    def on_mount(self) -> None:
        # The first screen resumes collecting (and connects) once it has shown its rows or its
        # error; should it never get that far (a fetch that hangs), start-up is over after this long all the same.
        self.set_timer(STARTUP_GRACE, self._startup_over)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        else:
            self.notify(f"unknown theme {self.settings.theme!r}", severity="warning")
        self.set_keymap(self.settings.keymap)
        for problem in self.problems:
            self.notify(problem, title="settings", severity="warning")
        for notice in self.notices:
            self.notify(notice, timeout=8)

    def _startup_over(self) -> None:
        collector.resume()
        self.connect()  # the models screen connects once it has shown its rows: never left unconnected

    def get_default_screen(self) -> ModelsScreen:
        # The models screen is the bottom of the stack from the start, so its empty frame is
        # Textual's first. Pushed from on_mount it was mounted inside the start-up batch, where
        # a screen runs its after-refresh callbacks at once (no frame is drawn to wait for): the
        # first fetch began, loading grpc, before any frame, which then waited for grpc or rows.
        return ModelsScreen()

    def connect(self, since: int | None = None) -> None:
        """Once the first frame is on the terminal: follow the registry and learn who we are.

        Called by whichever screen paints first (see RegistryScreen.on_mount), the models screen once
        its first rows are shown too, with `since`, the revision those rows reflect: the stream
        starts right after it, so a change committed between that listing and the stream's start
        is shown too. Without it (another screen painted first, or start-up ran out of time) the
        stream starts at the daemon's current revision and screens re-read once it has answered
        (see Follower). Only the first call counts.
        """
        if self._connected:
            return
        self._connected = True
        if self.live:
            self.follow_registry(since)
        if self.client.has_token:
            self.learn_role()

    @work(exclusive=True, group="role")
    async def learn_role(self) -> None:
        """With a token, the daemon says who we are; a viewer's UI turns read-only.

        Without one the UI talks to its own user's socket, whose owner is an admin.
        """
        try:
            caller = await self.client.get_caller()
        except StudbookError:
            return  # the connection indicator already tells the story
        from studbook.v1 import access_pb2

        role = access_pb2.Role.Name(caller.role).removeprefix("ROLE_").lower()
        self.identity = f"{caller.actor} ({role})"
        self.readonly = self.readonly or caller.role < access_pb2.ROLE_CONTRIBUTOR
        for screen in self.screen_stack:
            for bar in screen.query(TopBar):
                bar.show_identity(self.identity, self.readonly)
            # The footers were drawn before the role was known: drop the actions a viewer may not take.
            screen.refresh_bindings()

    async def on_unmount(self) -> None:
        for client in (self._client, self._watch_client):
            if client is not None:
                await client.close()

    @work(exclusive=True, group="watch")
    async def follow_registry(self, since: int | None = None) -> None:
        follower = Follower(
            self.watch_client,
            on_event=lambda event: self._to_screens(RegistryChanged, event),
            on_state=lambda state, detail: self._post(self.ConnectionChanged(state, detail)),
            on_resync=lambda: self._to_screens(Resynced),
            start_revision=since,
        )
        await follower.run()

    def _post(self, message: ConnectionChanged) -> None:
        self.post_message(message)

    def _to_screens(self, kind: type[RegistryChanged] | type[Resynced], event: events_pb2.Event | None = None) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, RegistryScreen):
                screen.post_message(kind(event) if event is not None else kind())  # type: ignore[call-arg]

    def on_studbook_app_connection_changed(self, message: ConnectionChanged) -> None:
        self.connection_detail = message.detail
        self.connection = message.state

    # ---- global actions ----

    def action_help(self) -> None:
        self.open_help()

    def action_command_line(self) -> None:
        from studbook.tui.screens.command_line import CommandLineScreen

        self.push_screen(CommandLineScreen(self.readonly), self.run_command)

    async def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            await self.pop_screen()


def _import_client() -> None:
    try:
        import studbook.client.clients  # noqa: F401
    except Exception:  # noqa: BLE001, S110
        pass  # said where the client is first used, on the event loop, not from this thread
