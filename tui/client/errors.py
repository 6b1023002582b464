"""`StudbookError`, what every failed registry call becomes; free of grpc so the CLI starts fast."""

from __future__ import annotations

from collections.abc import Mapping


class StudbookError(Exception):
    """A call the daemon refused or could not answer.

    `code` is the gRPC status name (NOT_FOUND, FAILED_PRECONDITION, ...), `reason` the
    UPPER_SNAKE reason of the daemon's ErrorInfo (GATE_NOT_MET, INVALID_NAME, ...; the
    code when it gave none) and `metadata` the facts the daemon attached to it.
    """

    def __init__(self, code: str, reason: str, message: str, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata: dict[str, str] = dict(metadata or {})

    def __str__(self) -> str:
        return f"{self.message} [{self.reason}]"

    def __repr__(self) -> str:
        return f"StudbookError({self.code!r}, {self.reason!r}, {self.message!r}, {self.metadata!r})"
