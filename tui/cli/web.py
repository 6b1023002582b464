"""`studbook web`: what the browser server needs, checked before anything listens.

The server itself (aiohttp and textual-serve) lives in `web_server`, imported only once
these checks pass, so `studbook --help` and every other command never load it, and a
missing `web` extra is a message instead of a traceback.

The rules, the same as the daemon's for TCP:
- every browser logs in with a token (`$STUDBOOK_WEB_TOKEN`, `--web-token-file`, or one
  made up at start and printed once in the URL), because a loopback port is open to every
  user of the machine while the daemon's socket is not;
- an address other than loopback also needs TLS (`--web-cert`, `--web-key`): a token sent
  in clear over a network is anyone's.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shlex
import socket
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from studbook.client.errors import StudbookError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
WEB_TOKEN_ENV = "STUDBOOK_WEB_TOKEN"
# A made-up login token: 32 random bytes, URL-safe.
TOKEN_BYTES = 32
# Shorter secrets can be guessed through the login page.
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    # Port 8000 was not asked for: another free port will do when it is taken.
    default: bool = False

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class WebSettings:
    listen: Listen
    token: str
    # The token was made up here: the URL printed at start is the only place it is shown.
    token_generated: bool
    cert: Path | None
    key: Path | None
    readonly: bool

    @property
    def tls(self) -> bool:
        return self.cert is not None


def parse_listen(text: str | None) -> Listen:
    """HOST:PORT, [IPV6]:PORT or :PORT (every address) -> Listen; None -> 127.0.0.1:8000."""
    if text is None:
        return Listen(DEFAULT_HOST, DEFAULT_PORT, default=True)
    host, colon, port_text = text.rpartition(":")
    if not colon or not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        raise _invalid(f"--listen {text!r} is not HOST:PORT (e.g. 127.0.0.1:8000, 0.0.0.0:8443, [::1]:8000)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise _invalid(f"--listen {text!r}: write an IPv6 address in brackets, e.g. [::1]:8000")
    if any(c.isspace() or c in "[]/@" for c in host):
        raise _invalid(f"--listen {text!r} has no valid host")
    return Listen(host or "0.0.0.0", int(port_text))


def is_loopback(host: str) -> bool:
    """Only this machine can reach `host`: a loopback address, or a name that resolves only to those."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False  # unknown: treat it as reachable from outside, the safe side
    return bool(found) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in found)


def settings(
    listen: str | None,
    *,
    token_file: str | None,
    cert: str | None,
    key: str | None,
    readonly: bool,
    environ: dict[str, str] | os._Environ[str] = os.environ,
) -> WebSettings:
    """Checked settings, or a StudbookError that says what to pass."""
    where = parse_listen(listen)
    if (cert is None) != (key is None):
        raise _invalid("--web-cert and --web-key go together: the certificate and its private key (PEM files)")
    if cert is None and not is_loopback(where.host):
        raise _invalid(
            f"refusing to serve the UI on {where}, which other machines can reach, without TLS: "
            "pass --web-cert FILE --web-key FILE (PEM), or listen on loopback (e.g. 127.0.0.1:8000) "
            "and reach it through an SSH tunnel",
            reason="WEB_TLS_REQUIRED",
        )
    for flag, path in (("--web-cert", cert), ("--web-key", key)):
        if path is not None and not Path(path).is_file():
            raise _invalid(f"{flag} {path}: no such file")
    if key is not None and _open_to_others(Path(key)):
        raise _invalid(f"--web-key {key} can be read by other users: chmod 600 it", reason="WEB_KEY_OPEN")
    token, generated = _login_token(token_file, environ)
    return WebSettings(where, token, generated, Path(cert) if cert else None, Path(key) if key else None, readonly)


def _login_token(token_file: str | None, environ: dict[str, str] | os._Environ[str]) -> tuple[str, bool]:
    if token_file is not None:
        path = Path(token_file)
        try:
            token = path.read_text().strip()
        except OSError as error:
            raise _invalid(f"--web-token-file {token_file}: {error.strerror}") from None
        if _open_to_others(path):
            raise _invalid(f"--web-token-file {token_file} can be read by other users: chmod 600 it",
                           reason="WEB_TOKEN_FILE_OPEN")  # fmt: skip
    else:
        token = environ.get(WEB_TOKEN_ENV, "").strip()
        if not token:
            return secrets.token_urlsafe(TOKEN_BYTES), True
    if len(token) < MIN_TOKEN_CHARS or not token.isascii() or not token.isprintable() or " " in token:
        raise _invalid(f"the web login token must be at least {MIN_TOKEN_CHARS} printable ASCII characters "
                       "without spaces (e.g. from `openssl rand -hex 32`)", reason="WEB_TOKEN_WEAK")  # fmt: skip
    return token, False


def _open_to_others(path: Path) -> bool:
    # Like the daemon's own TLS key: a secret that others can read is no longer a secret.
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def session_command(readonly: bool) -> str:
    """The shell command textual-serve runs for each browser: the terminal UI, nothing secret.

    The daemon's address, token and CA reach it through the environment it inherits
    ($STUDBOOK_ADDRESS, $STUDBOOK_TOKEN, $STUDBOOK_TLS_CA), which other users cannot read,
    unlike a command line that `ps` shows to everyone.
    """
    argv = [sys.executable, "-m", "studbook.cli.commands", "tui"] + (["--readonly"] if readonly else [])
    return shlex.join(argv)


def _invalid(message: str, reason: str = "WEB_SETTINGS_INVALID") -> StudbookError:
    return StudbookError("INVALID_ARGUMENT", reason, message)


def serve(web_settings: WebSettings, *, address: str, token: str | None, tls_ca: str | None) -> None:
    """Serve the UI until SIGINT/SIGTERM; each browser session is a UI on the daemon at `address`."""
    try:
        from studbook.cli.web_server import WebServer
    except ImportError as error:
        raise StudbookError("FAILED_PRECONDITION", "WEB_NOT_INSTALLED",
                            f"`studbook web` needs the web extra ({error.name} is missing): "
                            "pip install 'studbook[web]'") from None  # fmt: skip
    from studbook import locations
    from studbook.client.clients import TLS_CA_ENV, TOKEN_ENV

    # Each session's UI inherits these, as `studbook tui` reads them; see session_command.
    os.environ[locations.ADDRESS_ENV] = address
    for name, value in ((TOKEN_ENV, token), (TLS_CA_ENV, tls_ca)):
        if value:
            os.environ[name] = value
    # The browsers' login is this server's business, not the UI's.
    os.environ.pop(WEB_TOKEN_ENV, None)
    WebServer(web_settings).run()
