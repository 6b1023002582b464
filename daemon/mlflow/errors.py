"""Refusals in MLflow's shape: `{"error_code": ..., "message": ...}` with MLflow's HTTP status."""

from __future__ import annotations

from typing import Any

from studbook.daemon.domain import errors

# MLflow's error codes and the HTTP statuses its server answers them with.
STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "MALFORMED_REQUEST": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
}

# studbook's refusals by kind -> MLflow's code. A failed precondition (a gate, a version in
# use) is the caller's to fix, so BAD_REQUEST (400): MLflow's INVALID_STATE answers 500,
# which MLflow's client retries as if the server had failed.
_CODES: list[tuple[type[errors.RegistryError], str]] = [
    (errors.InvalidArgument, "INVALID_PARAMETER_VALUE"),
    (errors.OutOfRange, "INVALID_PARAMETER_VALUE"),
    (errors.NotFound, "RESOURCE_DOES_NOT_EXIST"),
    (errors.AlreadyExists, "RESOURCE_ALREADY_EXISTS"),
    (errors.Conflict, "ABORTED"),
    (errors.FailedPrecondition, "BAD_REQUEST"),
    (errors.ResourceExhausted, "RESOURCE_EXHAUSTED"),
    (errors.Unavailable, "TEMPORARILY_UNAVAILABLE"),
    (errors.Unauthenticated, "UNAUTHENTICATED"),
    (errors.PermissionDenied, "PERMISSION_DENIED"),
]


class MlflowError(Exception):
    """A refusal already in MLflow's terms (a request MLflow's API itself would refuse)."""

    def __init__(self, error_code: str, message: str, status: int | None = None, /, **details: object) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = errors.bounded_message(message)
        self.status = status or STATUS.get(error_code, 400)
        self.details = {key: errors.bounded(str(value)) for key, value in details.items()}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error_code": self.error_code, "message": self.message}
        if self.details:
            # Beside MLflow's two fields, which its clients read; the ErrorInfo of the gRPC API.
            body["details"] = self.details
        return body


def invalid(message: str, **details: object) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", message, **details)


def from_registry(error: errors.RegistryError) -> MlflowError:
    """The MLflow answer to one of studbook's refusals, keeping its reason and facts."""
    code = next((code for kind, code in _CODES if isinstance(error, kind)), "INTERNAL_ERROR")
    return MlflowError(code, error.message, None, reason=error.reason, **error.metadata)
