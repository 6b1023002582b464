"""`studbook web` in a real browser: Debian's chromium, headless, driven by playwright.

What the browser shows is read the way its terminal reads it: the bytes the server sends
over the websocket go through a terminal emulator (pyte) sized like the browser's
terminal. A screenshot of each run is kept under build/screens/.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyte
import pytest
from playwright.sync_api import BrowserContext, Page, WebSocket, sync_playwright
from studbook.cli import demo
from studbook.client.clients import Client
from support.certs import make_certificates
from support.net import free_port
from support.web import TOKEN, WebServer, start_web

CHROMIUM = Path("/usr/bin/chromium")
# Without these, chromium here reaches for the network (updates, sync, QUIC) and floods it.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENS = Path(__file__).resolve().parents[2] / "build" / "screens"
WAIT_MS = 15_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: `make chromium` installs it")


class BrowserScreen:
    """The terminal a page shows, rebuilt from what its websocket received."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.screen: pyte.Screen | None = None
        self.stream: pyte.ByteStream | None = None
        self.sockets: list[str] = []
        # What the page asked of any other host (the context refuses it; the page should not ask).
        self.outside: list[str] = []
        page.on("websocket", self._opened)
        page.on("request", lambda request: None if _local(request.url) else self.outside.append(request.url))

    def _opened(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)
        query = parse_qs(urlparse(socket.url).query)
        self.screen = pyte.Screen(int(query["width"][0]), int(query["height"][0]))
        self.stream = pyte.ByteStream(self.screen)
        socket.on("framereceived", self._received)
        socket.on("framesent", self._sent)

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes) and self.stream is not None:
            self.stream.feed(payload)

    def _sent(self, payload: str | bytes) -> None:
        # The browser fits its terminal to the window and says so: ["resize", {"width", "height"}].
        message = json.loads(payload) if isinstance(payload, str) else None
        if message and message[0] == "resize" and self.screen is not None:
            self.screen.resize(message[1]["height"], message[1]["width"])

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display) if self.screen else ""

    def wait_for(self, *texts: str, absent: tuple[str, ...] = ()) -> str:
        """Let the page run until every one of `texts` is on screen and none of `absent`; fail showing the screen."""
        for _ in range(WAIT_MS // 50):
            shown = self.text()
            if all(text in shown for text in texts) and not any(text in shown for text in absent):
                return shown
            self.page.wait_for_timeout(50)  # playwright delivers the frames while it waits
        raise AssertionError(f"never on screen: {texts} without {absent}\n{self.text()}")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)


@pytest.fixture(scope="module")
def demo_daemon(shared_daemon):  # type: ignore[no-untyped-def]
    """A daemon holding the demo's models, as `studbook demo` loads them."""
    with Client(shared_daemon.address) as client:
        demo.load_demo(client)
    return shared_daemon


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserContext]:
    profile = Path(tempfile.mkdtemp(prefix="sb-chromium-"))  # a fresh profile: nothing from another run
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 800},
        )  # fmt: skip
        # Only this machine: the page's web font lives elsewhere, and nothing here may go out.
        context.route("**/*", lambda route: route.continue_() if _local(route.request.url) else route.abort())
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def web(demo_daemon) -> Iterator[WebServer]:  # type: ignore[no-untyped-def]
    server = start_web(demo_daemon.address)
    yield server
    server.stop()


@pytest.fixture
def page(chromium: BrowserContext) -> Iterator[Page]:
    opened = chromium.new_page()
    yield opened
    opened.close()


def _local(url: str) -> bool:
    return urlparse(url).hostname in ("127.0.0.1", "localhost")


def _screenshot(page: Page, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def test_a_browser_sees_the_models_and_keys_open_a_version(web: WebServer, page: Page) -> None:
    screen = BrowserScreen(page)

    page.goto(web.login_url)

    assert TOKEN not in page.url  # the login moved into a cookie, out of the address bar and history
    models = screen.wait_for("churn-predictor", "fraud-detector", "sentiment-bert", "connected")
    assert models.index("churn-predictor") < models.index("fraud-detector")  # sorted by name: j goes down to it
    page.locator(".xterm-helper-textarea").focus()
    screen.press("j", "Enter")
    screen.wait_for("models › fraud-detector", "rows 1–12 of 12")
    screen.press("j", "j", "k", "Enter")  # newest first: v12, v11, v10, back up to v11
    version = screen.wait_for("models › fraud-detector › v11", "1 Overview", "fraud-detector v11", "status")
    shot = _screenshot(page, "web-version")

    assert "1.6.0" in version  # v11's own semver, not another version's
    assert shot.stat().st_size > 0
    assert len(screen.sockets) == 1
    assert screen.outside == []  # its font too comes from this server


def test_stopping_the_server_ends_every_browser_session(web: WebServer, page: Page) -> None:
    screen = BrowserScreen(page)
    page.goto(web.login_url)
    screen.wait_for("fraud-detector")
    sessions = web.descendants()
    assert sessions, "each browser session runs a UI process under the server"

    code = web.stop()

    assert code == 0
    alive = {pid for pid in sessions if Path(f"/proc/{pid}").exists()}
    assert alive == set(), f"UI processes left running: {alive}"
    page.wait_for_selector("body.-closed", timeout=WAIT_MS)  # the page says the session ended


def test_a_browser_without_the_token_gets_no_ui(web: WebServer, page: Page) -> None:
    screen = BrowserScreen(page)

    response = page.goto(web.url)

    assert response is not None and response.status == 401
    assert "?token=" in page.inner_text("body")  # it says how to log in
    assert screen.sockets == []
    wrong = page.goto(f"{web.url}?token=not-the-token-of-this-server")
    assert wrong is not None and wrong.status == 401


def test_a_readonly_server_gives_every_browser_a_readonly_ui(demo_daemon, page: Page) -> None:  # type: ignore[no-untyped-def]
    server = start_web(demo_daemon.address, "--readonly")
    try:
        screen = BrowserScreen(page)
        page.goto(server.login_url)

        shown = screen.wait_for("fraud-detector", "Filter", "Help")
    finally:
        server.stop()

    assert "Promote" not in shown and "Rollback" not in shown


def test_over_tcp_each_session_is_the_server_s_token_and_that_token_is_on_no_command_line(
    daemon_factory,
    page: Page,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    tls = make_certificates(tmp_path / "tls")
    address = f"127.0.0.1:{free_port()}"
    daemon = daemon_factory("--listen", address, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key))
    with Client(daemon.address) as owner:  # the unix socket's owner is an admin
        demo.load_demo(owner)
        secret = owner.create_token("web-viewer", "viewer").secret
    server = start_web(address, env={"STUDBOOK_TOKEN": secret, "STUDBOOK_TLS_CA": str(tls.ca)})
    try:
        screen = BrowserScreen(page)
        page.goto(server.login_url)

        # The footer is drawn before the role is known; it must drop the actions a viewer may not take.
        shown = screen.wait_for("fraud-detector", "web-viewer (viewer)", "read-only", absent=("Promote",))
        command_lines = [
            Path(f"/proc/{pid}/cmdline").read_bytes() for pid in server.descendants() | {server.process.pid}
        ]
    finally:
        server.stop()

    assert "Promote" not in shown  # a viewer's UI, as in the terminal
    assert command_lines and not any(secret.encode() in line for line in command_lines)
