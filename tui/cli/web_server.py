"""The browser server of `studbook web`: textual-serve with a login and TLS in front.

textual-serve runs one terminal UI process per browser tab and relays its screen and
keys over a websocket; it has neither authentication nor TLS. This module adds only:
- a login: a request is let in when it carries the token (`?token=` once, which becomes
  an HttpOnly, SameSite=Strict cookie and is dropped from the address bar) or that cookie;
  the websocket must also come from a page of this server (Origin), so another site
  cannot drive a UI through a logged-in browser;
- TLS on the listening socket when a certificate is given;
- page addresses taken from each request (the host the browser used), so a server
  listening on 0.0.0.0 hands out URLs that browsers can reach;
- the page's font served from textual-serve's own files instead of a public font service;
- a clean stop: SIGINT/SIGTERM end every UI process before the server exits.

It overrides textual-serve's `_make_app`, `handle_index` and `handle_websocket`, so the
dependency stays below its next major version (pyproject.toml).
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import logging
import re
import signal
import socket
import ssl
import sys
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from studbook.cli.web import WEB_TOKEN_ENV, WebSettings, session_command
from studbook.client.errors import StudbookError
from textual_serve.server import Server

# Seconds the UI processes get to quit when the server stops.
STOP_SECONDS = 5.0
LOGIN_HELP = (
    "studbook web: log in by opening the address that `studbook web` printed when it started; "
    "it ends in ?token=... (the token is $STUDBOOK_WEB_TOKEN or --web-token-file when one was given).\n"
)
# The same font, from the files textual-serve ships in its static folder.
REMOTE_FONT = re.compile(r"<link\s+rel=\"stylesheet\"\s+href=\"https://fonts\.googleapis\.com/[^\"]*\"\s*/>")
LOCAL_FONT = """<style>
      @font-face { font-family: "Roboto Mono"; font-style: normal;
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype"); }
      @font-face { font-family: "Roboto Mono"; font-style: italic;
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf") format("truetype"); }
    </style>"""
# The page must never be framed by another site (its keys would be ours), nor leak its URL.
HEADERS = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class WebServer(Server):
    def __init__(self, web_settings: WebSettings) -> None:
        super().__init__(session_command(web_settings.readonly), host=web_settings.listen.host,
                         port=web_settings.listen.port, title="studbook")  # fmt: skip
        self.settings = web_settings
        # Cookies ignore ports: one name per port (the one really bound) keeps two servers on one host apart.
        self.cookie = f"studbook_web_{web_settings.listen.port}"
        self._sessions: set[asyncio.Task[Any]] = set()

    # ---- the login ----

    def _valid(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self.settings.token.encode())

    @web.middleware
    async def login(self, request: web.Request, handler: Any) -> web.StreamResponse:
        offered = request.query.get("token")
        if offered is not None:
            if not self._valid(offered):
                return _refused(401, "studbook web: that token is not this server's.\n" + LOGIN_HELP)
            # Keep the token out of the address bar and history: a cookie carries it from here on.
            rest = {name: value for name, value in request.query.items() if name != "token"}
            found = web.Response(status=302, headers={**HEADERS, "Location": str(request.rel_url.with_query(rest))})
            found.set_cookie(self.cookie, self.settings.token, httponly=True, samesite="Strict",
                             secure=self.settings.tls, path="/")  # fmt: skip
            return found
        if not self._valid(request.cookies.get(self.cookie, "")):
            return _refused(401, LOGIN_HELP)
        origin = request.headers.get("Origin")
        if request.path == "/ws" and origin is not None and origin != f"{request.scheme}://{request.host}":
            return _refused(403, f"studbook web: a page of {origin} may not open a UI here.\n")
        response: web.StreamResponse = await handler(request)
        if not response.prepared:  # a websocket has already sent its headers
            response.headers.update(HEADERS)
        return response

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # textual-serve's page fetches its font from a public font service: every page view would
        # tell a third party who uses this server, and stall where there is no such network.
        aiohttp_jinja2.setup(app, loader=jinja2.FunctionLoader(self._page_template))
        app.middlewares.append(self.login)
        app.on_shutdown.append(self._end_sessions)
        return app

    def _page_template(self, name: str) -> str | None:
        try:
            text = (self.templates_path / name).read_text()
        except OSError:
            return None
        return REMOTE_FONT.sub(LOCAL_FONT, text)

    # ---- textual-serve's handlers, adjusted ----

    async def handle_index(self, request: web.Request) -> Any:
        # textual-serve builds the page's absolute URLs from public_url; taken from the request
        # (no await between setting and reading it), they name the host the browser reached.
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self._sessions.discard(task)

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; `run` prints the address instead."""

    async def _end_sessions(self, app: web.Application) -> None:
        # Cancelled, textual-serve's handler closes the websocket and tells its UI to quit.
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.wait(list(self._sessions), timeout=STOP_SECONDS)

    # ---- running ----

    def run(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="studbook web: %(message)s", stream=sys.stderr)
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = web.AppRunner(await self._make_app(), shutdown_timeout=STOP_SECONDS, access_log=None)
        await runner.setup()
        try:
            port = await self._listen(runner)
            self.cookie = f"studbook_web_{port}"
            self._announce(port)
            await stop.wait()
        finally:
            await runner.cleanup()

    async def _listen(self, runner: web.AppRunner) -> int:
        where = self.settings.listen
        tls = self._tls_context()
        try:
            await web.TCPSite(runner, where.host, where.port, ssl_context=tls).start()
        except OSError as error:
            if not (where.default and error.errno == errno.EADDRINUSE):
                raise StudbookError("UNAVAILABLE", "WEB_LISTEN_FAILED",
                                    f"cannot listen on {where}: {error.strerror}; pick another --listen HOST:PORT") from None  # fmt: skip
            # The default port is taken: any free one will do, and the address printed says which.
            await web.TCPSite(runner, where.host, 0, ssl_context=tls).start()
        return int(runner.addresses[0][1])

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.settings.cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.settings.cert, self.settings.key)
        except (OSError, ssl.SSLError) as error:
            raise StudbookError("INVALID_ARGUMENT", "WEB_TLS_INVALID",
                                f"cannot use --web-cert {self.settings.cert} with --web-key {self.settings.key}: "
                                f"{error}; give the PEM certificate and its private key") from None  # fmt: skip
        return context

    def _announce(self, port: int) -> None:
        host = self.settings.listen.host
        if host in ("0.0.0.0", "::"):
            host = socket.getfqdn()
        shown = f"[{host}]" if ":" in host else host
        url = f"{'https' if self.settings.tls else 'http'}://{shown}:{port}/"
        print(f"studbook web: serving the UI on {url} (Ctrl-C stops it and every session)", flush=True)
        if self.settings.token_generated:
            # Made up just now, so this line is the only place it is shown.
            print(f"studbook web: open {url}?token={self.settings.token}", flush=True)
        else:
            print(
                f"studbook web: open {url}?token=TOKEN, TOKEN being ${WEB_TOKEN_ENV} or --web-token-file's", flush=True
            )


def _refused(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", headers=HEADERS)
