"""What `studbook web` accepts before anything listens: the address, TLS and the login token."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.cli import web
from studbook.client.errors import StudbookError
from support.certs import make_certificates
from support.cli import runner

STRONG = "a-login-token-long-enough-0123"
hostnames = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True)
ports = st.integers(min_value=0, max_value=65535)


@given(host=st.one_of(hostnames, st.ip_addresses().map(str)), port=ports)
def test_a_listen_address_reads_back_as_written(host: str, port: int) -> None:
    written = str(web.Listen(host, port))

    assert web.parse_listen(written) == web.Listen(host, port)


@given(host=st.ip_addresses(v=6).map(str), port=ports)
def test_an_ipv6_address_needs_brackets(host: str, port: int) -> None:
    with pytest.raises(StudbookError) as refused:
        web.parse_listen(f"{host}:{port}")

    assert refused.value.reason == "WEB_SETTINGS_INVALID" and "brackets" in refused.value.message


@given(text=st.text(max_size=30))
def test_any_text_is_an_address_or_a_clear_refusal(text: str) -> None:
    try:
        listen = web.parse_listen(text)
    except StudbookError as refused:
        assert refused.code == "INVALID_ARGUMENT" and "--listen" in refused.message
    else:
        assert 0 <= listen.port <= 65535 and listen.host


@pytest.mark.parametrize("text", ["8000", "host:", "host:port", "host:65536", "h:-1", "[::1:80", "a b:80", "h:٣"])
def test_what_is_not_host_and_port_is_refused(text: str) -> None:
    with pytest.raises(StudbookError):
        web.parse_listen(text)


def test_the_default_is_loopback_port_8000_and_may_move() -> None:
    assert web.parse_listen(None) == web.Listen("127.0.0.1", 8000, default=True)
    assert web.parse_listen(":8443") == web.Listen("0.0.0.0", 8443)


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("::", False),
                                                ("10.1.2.3", False), ("192.168.1.9", False),
                                                ("no-such-host.invalid", False)])  # fmt: skip
def test_only_loopback_counts_as_this_machine_alone(host: str, loopback: bool) -> None:
    assert web.is_loopback(host) is loopback


@given(address=st.ip_addresses())
def test_an_ip_address_is_loopback_exactly_when_the_standard_says(address: ipaddress.IPv4Address) -> None:
    assert web.is_loopback(str(address)) is address.is_loopback


def _settings(listen: str | None = None, **options: object) -> web.WebSettings:
    values: dict[str, object] = {"token_file": None, "cert": None, "key": None, "readonly": False, "environ": {}}
    return web.settings(listen, **{**values, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize("listen", ["0.0.0.0:8000", ":8000", "[::]:8000", "10.1.2.3:8443"])
def test_a_reachable_address_without_tls_is_refused(listen: str) -> None:
    with pytest.raises(StudbookError) as refused:
        _settings(listen, environ={web.WEB_TOKEN_ENV: STRONG})

    assert refused.value.reason == "WEB_TLS_REQUIRED"
    assert "--web-cert" in refused.value.message and "--web-key" in refused.value.message


def test_a_reachable_address_with_tls_is_served(tmp_path: Path) -> None:
    tls = make_certificates(tmp_path)

    chosen = _settings("0.0.0.0:8443", cert=str(tls.cert), key=str(tls.key), environ={web.WEB_TOKEN_ENV: STRONG})

    assert chosen.tls and chosen.token == STRONG and not chosen.token_generated


def test_a_certificate_needs_its_key(tmp_path: Path) -> None:
    tls = make_certificates(tmp_path)

    with pytest.raises(StudbookError, match="--web-cert and --web-key go together"):
        _settings(cert=str(tls.cert))


def test_a_key_that_others_can_read_is_refused(tmp_path: Path) -> None:
    tls = make_certificates(tmp_path)
    tls.key.chmod(0o644)

    with pytest.raises(StudbookError) as refused:
        _settings(cert=str(tls.cert), key=str(tls.key))

    assert refused.value.reason == "WEB_KEY_OPEN" and "chmod 600" in refused.value.message


def test_without_a_token_one_is_made_up_for_each_start() -> None:
    first, second = _settings(), _settings()

    assert first.token_generated and len(first.token) >= 40
    assert first.token != second.token


def test_the_token_comes_from_the_environment() -> None:
    assert _settings(environ={web.WEB_TOKEN_ENV: f"  {STRONG}\n"}).token == STRONG


def test_a_token_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "web-token"
    path.write_text(STRONG + "\n")
    path.chmod(0o640)

    with pytest.raises(StudbookError) as refused:
        _settings(token_file=str(path))
    path.chmod(0o600)

    assert refused.value.reason == "WEB_TOKEN_FILE_OPEN"
    assert _settings(token_file=str(path), environ={web.WEB_TOKEN_ENV: "ignored-when-a-file-is-given"}).token == STRONG


@pytest.mark.parametrize("token", ["short", "has a space in it somewhere", "ünïcödé-token-0123456789"])
def test_a_weak_or_odd_token_is_refused(token: str) -> None:
    with pytest.raises(StudbookError) as refused:
        _settings(environ={web.WEB_TOKEN_ENV: token})

    assert refused.value.reason == "WEB_TOKEN_WEAK"


def test_the_session_command_carries_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDBOOK_TOKEN", STRONG)

    command = web.session_command(readonly=True)

    assert STRONG not in command and command.endswith("tui --readonly")


def test_the_command_refuses_a_reachable_address_without_tls(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:  # fmt: skip
    socket = tmp_path / "never.sock"
    studbook = runner(f"unix://{socket}", capsys)

    result = studbook("web", "--listen", "0.0.0.0:8000")

    assert result.code == 7
    assert "without TLS" in result.err and "--web-cert FILE --web-key FILE" in result.err
    assert not socket.exists()  # refused before a daemon was started for it
