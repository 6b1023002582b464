"""RegistryScreen: what every full screen shares: top bar, footer, live refresh and error display."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self, cast

from studbook.client.errors import StudbookError
from studbook.tui.cells import ThemeText
from studbook.tui.live import ConnectionState
from studbook.tui.messages import RegistryChanged, Resynced
from studbook.tui.widgets.key_footer import KeyFooter
from studbook.tui.widgets.offline_notice import OfflineNotice, unreachable
from studbook.tui.widgets.top_bar import TopBar
from textual import events
from textual.app import ComposeResult
from textual.geometry import Region
from textual.screen import Screen
from textual.timer import Timer

if TYPE_CHECKING:
    from studbook.tui.app import StudbookApp
    from studbook.v1 import events_pb2

# Many events in a burst (a replay after reconnecting) cause one reload, this long after the last.
REFRESH_DELAY = 0.25


class RegistryScreen(Screen[None]):
    """Subclasses compose their body, `reload()` what they show, and say which events `concern` them.

    A screen under another one does not reload on every event; it remembers it is stale
    and reloads when it is shown again.
    """

    crumb = ""

    def __init__(self) -> None:
        super().__init__()
        self._refresh_timer: Timer | None = None
        self._stale = False
        # A call found the daemon unreachable: the notice shows, and one notification was enough.
        self.offline = False
        # Errors notified since the user last did something: a screen loads with several workers,
        # and when they fail alike (a model that does not exist) that is one failure, told once.
        self._reported: set[tuple[str, str]] = set()
        self._resumed = False
        # True while Textual shows this screen for the first time (see on_screen_resume).
        self._drawing_whole = False

    @property
    def registry(self) -> StudbookApp:
        return cast("StudbookApp", self.app)

    def compose(self) -> ComposeResult:
        yield TopBar(self.crumb, readonly=self.registry.readonly, identity=self.registry.identity)
        yield OfflineNotice()
        yield from self.compose_body()
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        # Textual calls every class's own on_mount, a subclass's first, then this one: a subclass
        # never calls it itself (once more, it would load twice and watch the connection twice).
        self.watch(self.app, "connection", self._connection_changed, init=False)
        self._take_focus()
        # The frame first, then the data: the first fetch may still be loading grpc.
        self.call_after_refresh(self._after_first_frame)

    # The models and versions screens connect once their first rows (or error) are shown instead:
    # the follower's second channel, health check and indicator repaint would otherwise come before
    # those rows, and the stream can start at the revision the rows reflect (no re-read once it answers).
    connects_after_first_load = False

    def _after_first_frame(self) -> None:
        # The live connection starts here, not in App.on_mount: Textual hands an app's
        # after-refresh callbacks to the screen current then, and a screen pushed at once
        # (opened before the first frame) would strand them; every screen's own callbacks do run.
        self.reload()
        if not self.connects_after_first_load:
            self.registry.connect()

    def _take_focus(self) -> None:
        """Focus what AUTO_FOCUS names, even while the app lacks focus.

        Textual applies AUTO_FOCUS only while the app has focus, and restores on focus only what
        was focused when it lost it. A browser session starts without focus (its driver says so
        before the first screen mounts): the keys typed once the page has focus would reach no widget.
        """
        selector = self.AUTO_FOCUS if self.AUTO_FOCUS is not None else self.app.AUTO_FOCUS
        if self.focused is not None or not selector:
            return
        for widget in self.query(selector):
            if widget.focusable:
                self.set_focus(widget, scroll_visible=False)
                return

    def reload(self) -> None:
        """Fetch what the screen shows; runs workers, returns at once."""

    def concerns(self, event: events_pb2.Event) -> bool:
        return True

    def paint(self) -> ThemeText:
        return ThemeText(self.app.theme_variables)

    # ---- live updates ----

    def on_registry_changed(self, message: RegistryChanged) -> None:
        if self.concerns(message.event):
            self.apply_event(message.event)

    def apply_event(self, event: events_pb2.Event) -> None:
        """React to one event; by default reload soon (bursts coalesce)."""
        self.schedule_reload()

    def on_resynced(self, message: Resynced) -> None:
        self.schedule_reload()

    def schedule_reload(self) -> None:
        if not self.is_current:
            self._stale = True
        elif self._refresh_timer is None:
            self._refresh_timer = self.set_timer(REFRESH_DELAY, self._reload_now)

    def _reload_now(self) -> None:
        self._refresh_timer = None
        self._reported.clear()
        self.reload()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles a resuming screen's every widget, for what changed while it was
        # hidden (a theme, the stylesheet). When it first shows nothing has: each widget was
        # styled as it mounted, and the restyle cost the first frame more than drawing it did.
        # (Runs before Textual's own handler: subclass handlers come first.)
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False
            # A screen never laid out at this size is laid out and drawn whole by Textual's resume
            # handler (next), which then asks for a whole repaint: the same frame twice on the
            # terminal before the first rows. Until that handler is done, such requests are dropped.
            if self.outer_size != self.app.size:
                self._drawing_whole = True
                self.call_next(self._drawn_whole)
        if self._stale:
            self._stale = False
            self._reported.clear()
            self.reload()

    def _drawn_whole(self) -> None:
        self._drawing_whole = False
        # The first frame is drawn and the loop idles until Textual's next update: grpc's import
        # (the first fetch's cost) fills that time on a thread.
        self.registry.import_client_soon()

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Self:
        if self._drawing_whole and not (regions or recompose):
            return self  # the whole screen is being drawn anyway (see on_screen_resume)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    # ---- errors ----

    def show_error(self, error: StudbookError, what: str = "") -> None:
        """Every refused or failed call ends here: one notification with the daemon's reason code.

        A daemon that cannot be reached fails every call a screen makes (several workers load
        one screen): the first such failure notifies and shows the offline notice, the rest
        are the same news and stay quiet until the daemon answers again.
        """
        if unreachable(error):
            if self.offline:
                return
            self.offline = True
            self.query_one(OfflineNotice).explain(error, self.registry.client.address)
            self.add_class("-offline")
        elif (error.reason, error.message) in self._reported:
            return
        self._reported.add((error.reason, error.message))
        self.notify(f"{error.message} [{error.reason}]", title=what or "studbook", severity="error", timeout=8)

    def on_key(self) -> None:
        # Whatever fails after the user acts (r, a new filter, a promotion) is news again.
        self._reported.clear()

    def _connection_changed(self, state: ConnectionState) -> None:
        # The follower's resync also asks for a reload; both land in one (see schedule_reload).
        # Needed still: its very first connection resyncs nothing, yet a screen may have failed before it.
        if state is ConnectionState.CONNECTED and self.offline:
            self.offline = False
            self.remove_class("-offline")
            self.schedule_reload()
