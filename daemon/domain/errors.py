"""The one error hierarchy of the registry; the service layer maps it to gRPC once."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every error a caller can act on.

    `reason` is the UPPER_SNAKE ErrorInfo reason; `metadata` adds the facts a user needs
    to fix the request (the field, the offending value, the column of a parse error).
    """

    reason: str = "INTERNAL"

    def __init__(self, message: str, *, reason: str | None = None, **metadata: object) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = {key: str(value) for key, value in metadata.items()}


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
