"""Webhooks: what a hook is, which events it takes, how a delivery is signed and retried.

A hook POSTs registry events to a URL an admin gave, in revision order, signed with the hook's
secret. Everything here is pure: the store keeps hooks and their deliveries, `app/hooks.py`
manages them and `app/delivery.py` sends.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from studbook.daemon.domain.errors import InvalidArgument

# The names the issue and the README use for events the log records under another type: a
# registration is recorded as `version.created`.
EVENT_ALIASES = {"version.registered": "version.created"}
# What a pattern may spell: event types are lowercase words joined by dots and underscores.
_PATTERN = re.compile(r"^[a-z0-9_.*?\[\]!-]{1,100}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_URL = 2048
MAX_PATTERNS = 32
MAX_SECRET = 4096
# The event type of `hooks test`: never in the log, so never matched by a pattern.
TEST_EVENT = "hook.test"


@dataclass(frozen=True)
class Hook:
    id: str
    name: str
    url: str
    events: tuple[str, ...]
    model_pattern: str
    # Kept so the daemon can sign; never returned by an API after creation, never logged.
    secret: str
    create_time: datetime
    creator: str
    # The newest revision delivered (or passed over, not matching); delivery goes on after it.
    cursor: int = 0
    failures: int = 0  # consecutive failed attempts at the event after the cursor
    paused: bool = False
    pause_reason: str = ""

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"Hook(name={self.name!r}, url={self.url!r}, cursor={self.cursor}, paused={self.paused})"


@dataclass(frozen=True)
class Delivery:
    hook_id: str
    revision: int
    event_type: str
    attempt: int
    status_code: int  # 0: no HTTP answer (refused, timed out)
    latency_ms: float
    error: str
    time: datetime

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def validate_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidArgument(f"a hook name is lowercase letters, digits, '.', '_' and '-', at most 64, "
                              f"starting with a letter or digit; got {name[:80]!r}",
                              reason="INVALID_HOOK_NAME", field="name")  # fmt: skip


def validate_url(url: str) -> None:
    """Only http and https: a hook never reads files or speaks other protocols."""
    # No spaces or control characters: urlsplit would quietly drop some, and they would reach
    # the request line or a terminal.
    printable = len(url) <= MAX_URL and all(32 < ord(c) != 127 for c in url)
    parts = urlsplit(url) if printable else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f"a hook URL is http:// or https:// with a host, at most {MAX_URL} characters; "
                              f"got {url[:80]!r}", reason="INVALID_HOOK_URL", field="url")  # fmt: skip
    if parts.username or parts.password:
        raise InvalidArgument("a hook URL carries no user or password (they would be shown by `hooks list`); "
                              "authenticate the receiver by the signature instead",
                              reason="INVALID_HOOK_URL", field="url")  # fmt: skip


def parse_events(patterns: list[str]) -> tuple[str, ...]:
    """Event patterns, fnmatch-style on the event type (`promotion.*`), comma-separated or
    given one by one; deduplicated in their order."""
    found: list[str] = []
    for given in patterns:
        for part in given.split(","):
            pattern = part.strip()
            if not pattern:
                continue
            if not _PATTERN.match(pattern):
                raise InvalidArgument(f"{pattern[:80]!r} is no event pattern: an event type such as "
                                      "version.registered, or a pattern such as promotion.* or *",
                                      reason="INVALID_EVENT_PATTERN", field="events")  # fmt: skip
            if pattern not in found:
                found.append(pattern)
    if not found:
        raise InvalidArgument("a hook needs the events it takes, e.g. --events 'version.registered,promotion.*'",
                              reason="INVALID_EVENT_PATTERN", field="events")  # fmt: skip
    if len(found) > MAX_PATTERNS:
        raise InvalidArgument(f"at most {MAX_PATTERNS} event patterns", reason="INVALID_EVENT_PATTERN",
                              field="events")  # fmt: skip
    return tuple(found)


def validate_model_pattern(pattern: str) -> None:
    if len(pattern) > 200 or any(ord(c) < 32 for c in pattern):
        raise InvalidArgument("a model pattern is at most 200 printable characters, e.g. fraud-*",
                              reason="INVALID_MODEL_PATTERN", field="model_pattern")  # fmt: skip


def validate_secret(secret: str) -> None:
    if not 16 <= len(secret) <= MAX_SECRET:
        raise InvalidArgument(f"a hook secret is 16 to {MAX_SECRET} characters, so that a signature cannot be "
                              "guessed; leave it out for one the daemon makes",
                              reason="INVALID_HOOK_SECRET", field="secret")  # fmt: skip


def takes(hook: Hook, event_type: str, model: str) -> bool:
    """Whether `hook` delivers an event of this type on this model."""
    if hook.model_pattern and not fnmatchcase(model, hook.model_pattern):
        return False
    for pattern in hook.events:
        if fnmatchcase(event_type, EVENT_ALIASES.get(pattern, pattern)):
            return True
    return False


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}` under the hook's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(failures: int, base: float, cap: float, draw: float) -> float:
    """Seconds before the next attempt after `failures` consecutive failures: exponential, capped,
    with full jitter (`draw` in [0, 1)), so that receivers coming back are not hit in step."""
    ceiling = min(cap, base * 2 ** min(failures - 1, 60)) if failures > 0 else 0.0
    return ceiling * draw


@dataclass(frozen=True)
class HookSettings:
    """How deliveries are tried: the daemon's `[daemon]` config and `--hook-*` flags."""

    # One attempt's whole time: connect, send, the receiver's answer.
    timeout_seconds: float = 10.0
    # Retries wait up to base * 2^(failures-1) seconds, at most backoff_max_seconds (full jitter).
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    # Failed attempts in a row at one event that pause the hook: with the defaults, about an
    # hour of retrying; `hooks replay` resumes it.
    max_failures: int = 20
    # False on the other daemons of a shared catalog: one daemon delivers, or each would send
    # every event once per daemon. Hooks are still managed through any of them.
    deliver: bool = True


def body(event_type: str, revision: int, time: str, model: str, subject: str, actor: str, role: str,
         resource: dict[str, object] | None) -> dict[str, object]:  # fmt: skip
    """A delivery's JSON body: what happened, to what, by whom; the resource as the API gives it."""
    return {"type": event_type, "revision": revision, "time": time, "model": model, "subject": subject,
            "actor": actor, "role": role, "resource": resource}  # fmt: skip
