"""The one error hierarchy of the registry; the service layer maps it to gRPC once."""

from __future__ import annotations

import re


class RegistryError(Exception):
    """Base of every error a caller can act on.

    `reason` is the UPPER_SNAKE ErrorInfo reason; `metadata` adds the facts a user needs
    to fix the request (the field, the offending value, the column of a parse error).
    """

    reason: str = "INTERNAL"

    def __init__(self, message: str, *, reason: str | None = None, **metadata: object) -> None:
        message = bounded_message(message)
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = {key: bounded(str(value)) for key, value in metadata.items()}


# Errors echo what the caller sent so the caller can see what to fix; a value is echoed up
# to ECHO characters, a whole message up to MAX_MESSAGE. Unbounded, a 100,000-character
# name came back in the status trailer, which gRPC refuses to carry (RESOURCE_EXHAUSTED).
ECHO = 200
MAX_MESSAGE = 1000
# A quoted value (a repr, or a double-quoted echo) longer than ECHO.
_LONG_QUOTED = re.compile(rf"'(?:[^'\\\n]|\\.){{{ECHO + 1},}}'|\"(?:[^\"\\\n]|\\.){{{ECHO + 1},}}\"")


def bounded(value: str, limit: int = ECHO) -> str:
    """`value`, or its first `limit` characters and how long it was."""
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value)} chars)"


def bounded_message(message: str) -> str:
    """Long quoted values shortened in place; then, if still too long, the middle cut, so
    the advice that usually ends a message survives."""
    if len(message) <= ECHO:
        return message
    message = _LONG_QUOTED.sub(_shorten_quoted, message)
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[: MAX_MESSAGE - 300]} … ({len(message)} chars) … {message[-250:]}"


def _shorten_quoted(found: re.Match[str]) -> str:
    quote, inner = found.group(0)[0], found.group(0)[1:-1]
    return f"{quote}{inner[:ECHO]}…{quote} ({len(inner)} chars)"


class InvalidArgument(RegistryError):
    reason = "INVALID_ARGUMENT"


class NotFound(RegistryError):
    reason = "NOT_FOUND"


class AlreadyExists(RegistryError):
    reason = "ALREADY_EXISTS"


class FailedPrecondition(RegistryError):
    reason = "FAILED_PRECONDITION"


class Conflict(RegistryError):
    """A concurrent change won (stale etag); the caller should re-read and retry."""

    reason = "STALE_ETAG"


class Unauthenticated(RegistryError):
    """No usable credentials: a token missing, unknown, expired or revoked."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(RegistryError):
    """The caller is known but its role does not allow the call."""

    reason = "PERMISSION_DENIED"


class GateNotMet(FailedPrecondition):
    reason = "GATE_NOT_MET"


class OutOfRange(RegistryError):
    reason = "OUT_OF_RANGE"


class ResourceExhausted(RegistryError):
    reason = "RESOURCE_EXHAUSTED"


class Unavailable(RegistryError):
    reason = "UNAVAILABLE"
