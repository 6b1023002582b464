"""The offline notice names a command that starts a daemon exactly where the UI looks for one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook import locations
from studbook.client.errors import StudbookError
from studbook.tui.widgets.offline_notice import offline_hint, start_command, unreachable

NOTHING_ANSWERS = StudbookError("UNAVAILABLE", "UNAVAILABLE", "no studbook daemon answers at x")


def test_the_default_address_needs_no_flag() -> None:
    assert start_command(locations.default_address()) == "`studbook serve`"


@given(st.from_regex(r"/[a-z0-9_]{1,12}(/[a-z0-9_.-]{1,12}){0,3}\.sock", fullmatch=True))
def test_another_socket_is_named_in_the_command(path: str) -> None:
    address = f"unix://{path}"
    if address == locations.default_address():
        return
    hint = offline_hint(NOTHING_ANSWERS, address)
    assert f"`studbook serve --address {address}`" in hint
    assert f"cannot be reached at {address}." in hint


def test_a_tcp_address_is_served_with_tls_on_its_host() -> None:
    assert start_command("registry.lab:7443").startswith("`studbook serve --listen registry.lab:7443 --tls-cert")


def test_a_certificate_problem_is_not_told_to_start_a_daemon() -> None:
    untrusted = StudbookError("UNAVAILABLE", "TLS_UNTRUSTED", "the certificate is not trusted")
    hint = offline_hint(untrusted, "registry.lab:7443")
    assert "studbook serve" not in hint
    assert "TLS_UNTRUSTED" in hint and "--tls-ca" in hint


@pytest.mark.parametrize(
    ("code", "expected"), [("UNAVAILABLE", True), ("NOT_FOUND", False), ("DEADLINE_EXCEEDED", False)]
)
def test_only_an_unreachable_daemon_counts_as_offline(code: str, expected: bool) -> None:
    assert unreachable(StudbookError(code, code, "m")) is expected
