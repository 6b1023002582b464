"""`studbook web` over HTTP alone: the login, the origin check, TLS, where it listens."""

from __future__ import annotations

import errno
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlparse

import pytest
from support.certs import make_certificates
from support.web import TOKEN, WebServer, start_web


@pytest.fixture
def web(shared_daemon) -> Iterator[WebServer]:  # type: ignore[no-untyped-def]
    server = start_web(shared_daemon.address)
    yield server
    server.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_the_login_link_sets_a_private_cookie_and_drops_the_token_from_the_address(web: WebServer) -> None:
    opener = urllib.request.build_opener(NoRedirect)

    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(f"{web.url}?fontsize=14&token={TOKEN}", timeout=10)

    answer = redirected.value
    assert answer.code == 302 and answer.headers["Location"] == "/?fontsize=14"
    cookie = answer.headers["Set-Cookie"]
    assert f"studbook_web_{urlparse(web.url).port}={TOKEN}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["Referrer-Policy"] == "no-referrer"


def test_the_cookie_opens_the_page(web: WebServer) -> None:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    with opener.open(f"{web.url}?token={TOKEN}", timeout=10) as page:
        html = page.read().decode()

    assert page.url == web.url  # followed the redirect, token gone
    assert "ws://127.0.0.1" in html and "/ws" in html  # the websocket address is the one the browser used
    assert "https://" not in html and "fonts/RobotoMono" in html  # nothing from elsewhere, the font included
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{web.url}static/js/textual.js", timeout=10)  # no cookie: nothing, not even files
    assert refused.value.code == 401


def test_another_site_cannot_open_a_ui_through_a_logged_in_browser(web: WebServer) -> None:
    cookie = f"studbook_web_{urlparse(web.url).port}={TOKEN}"
    headers = {"Cookie": cookie, "Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(f"{web.url}ws", headers=headers), timeout=10)

    assert refused.value.code == 403


def test_with_a_certificate_it_serves_https_and_the_cookie_is_secure(shared_daemon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tls = make_certificates(tmp_path)
    server = start_web(shared_daemon.address, "--web-cert", str(tls.cert), "--web-key", str(tls.key))
    try:
        trusting = ssl.create_default_context(cafile=str(tls.ca))
        opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=trusting))

        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(f"{server.url}?token={TOKEN}", timeout=10)

        assert server.url.startswith("https://127.0.0.1:")
        assert redirected.value.code == 302 and "Secure" in redirected.value.headers["Set-Cookie"]
    finally:
        assert server.stop() == 0


def test_a_taken_port_asked_for_is_an_error_not_another_port(web: WebServer, shared_daemon) -> None:  # type: ignore[no-untyped-def]
    taken = str(urlparse(web.url).port)

    with pytest.raises(RuntimeError) as failed:
        start_web(shared_daemon.address, "--listen", f"127.0.0.1:{taken}")

    assert "cannot listen on 127.0.0.1:" in str(failed.value) and "WEB_LISTEN_FAILED" in str(failed.value)


def test_the_default_port_taken_it_listens_on_another_and_says_which(shared_daemon) -> None:  # type: ignore[no-untyped-def]
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 8000))
        blocker.listen()
    except OSError as error:  # already taken by something else: just as good
        assert error.errno == errno.EADDRINUSE
    try:
        server = start_web(shared_daemon.address, listen=None)
        try:
            assert server.url.startswith("http://127.0.0.1:") and urlparse(server.url).port != 8000
        finally:
            server.stop()
    finally:
        blocker.close()
