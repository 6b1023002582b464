"""The rules of webhooks: which URLs and patterns are taken, which events a hook takes, how a
delivery is signed and how long a retry waits."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.hooks import (
    Hook,
    backoff,
    parse_events,
    signature,
    takes,
    validate_name,
    validate_secret,
    validate_url,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENT_TYPES = ("version.created", "version.archived", "promotion.created", "promotion.updated", "model.created",
               "drift.detected", "drift.cleared", "token.created", "hook.added")  # fmt: skip


def hook(events: tuple[str, ...], model_pattern: str = "") -> Hook:
    return Hook("h", "ci", "http://x/", events, model_pattern, "s" * 16, T0, "admin")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://ci.example.com/a?b=c", "http://[::1]/x"])
def test_http_and_https_urls_with_a_host_are_taken(url: str) -> None:
    validate_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://h/x", "gopher://h/", "http:///path", "//h/x", "h/x",
                                 "http://u:p@h/x", "javascript:alert(1)",
                                 "http://h/a\nb", "http://h/a b", "http://h/\x1b[2J", "http://h/" + "a" * 3000])  # fmt: skip
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_url(url)
    assert caught.value.reason == "INVALID_HOOK_URL"


@given(st.text(max_size=100))
def test_a_url_is_taken_only_as_http_or_https(url: str) -> None:
    try:
        validate_url(url)
    except InvalidArgument:
        return
    assert url.lower().startswith(("http://", "https://"))


@given(st.lists(st.sampled_from([*EVENT_TYPES, "promotion.*", "*", "drift.*", "version.registered"]), min_size=1))
def test_patterns_given_together_or_apart_are_the_same_deduplicated(patterns: list[str]) -> None:
    apart = parse_events(patterns)
    together = parse_events([", ".join(patterns)])
    assert apart == together == tuple(dict.fromkeys(patterns))


@pytest.mark.parametrize("given_", [[""], [" , "], ["Version.Created"], ["a b"], ["x" * 101]])
def test_empty_or_odd_patterns_are_refused(given_: list[str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_events(given_)
    assert caught.value.reason == "INVALID_EVENT_PATTERN"


@given(st.sampled_from(EVENT_TYPES), st.sampled_from(["fraud-a", "fraud-b", "churn", ""]))
def test_which_events_a_hook_takes(event_type: str, model: str) -> None:
    assert takes(hook(("*",)), event_type, model)
    assert takes(hook(("promotion.*",)), event_type, model) == event_type.startswith("promotion.")
    # A registration is recorded as version.created; the name for it is taken too.
    assert takes(hook(("version.registered",)), event_type, model) == (event_type == "version.created")
    assert takes(hook(("*",), "fraud-*"), event_type, model) == model.startswith("fraud-")


@given(st.text(min_size=16, max_size=64), st.integers(0, 2**40).map(str), st.binary(max_size=200))
def test_the_signature_is_hmac_sha256_over_timestamp_dot_body(secret: str, timestamp: str, body: bytes) -> None:
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert signature(secret, timestamp, body) == f"sha256={expected}"
    assert signature(secret, timestamp, body + b"x") != f"sha256={expected}"


@given(st.integers(1, 200), st.floats(0.01, 10), st.floats(1, 1000), st.floats(0, 0.999))
def test_backoff_is_jittered_below_a_doubling_capped_ceiling(failures: int, base: float, cap: float,
                                                             draw: float) -> None:  # fmt: skip
    wait = backoff(failures, base, cap, draw)
    ceiling = min(cap, base * 2 ** min(failures - 1, 60))
    assert 0 <= wait <= ceiling
    assert backoff(failures, base, cap, 0.0) == 0.0


def test_backoff_doubles_until_the_cap() -> None:
    assert [backoff(n, 1.0, 10.0, 0.5) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize("name", ["", "CI", "-x", "a" * 65, "a b", "a/b"])
def test_odd_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_name(name)


def test_a_short_secret_is_refused_and_a_hook_never_shows_its_secret() -> None:
    with pytest.raises(InvalidArgument):
        validate_secret("short")
    assert "s" * 16 not in repr(hook(("*",))) and "s" * 16 not in str(hook(("*",)))
