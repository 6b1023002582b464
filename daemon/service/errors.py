"""The one place domain errors become gRPC status codes with a google.rpc.ErrorInfo."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from studbook.daemon.domain import errors
from studbook.daemon.service.enums import refuse_unknown_enums

log = logging.getLogger(__name__)

DOMAIN = "studbook.dev"

_CODES: list[tuple[type[errors.RegistryError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.Conflict, grpc.StatusCode.ABORTED),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.OutOfRange, grpc.StatusCode.OUT_OF_RANGE),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
]


def status_code(error: errors.RegistryError) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def status_proto(error: errors.RegistryError) -> status_pb2.Status:
    """The google.rpc.Status a refusal travels as: its code, message and ErrorInfo."""
    code = status_code(error)
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    return status_pb2.Status(code=getattr(code_pb2, code.name), message=error.message, details=[detail])


def to_status(error: errors.RegistryError) -> grpc.Status:
    return rpc_status.to_status(status_proto(error))


# How the call being handled records a refusal of its admitted caller in the audit trail (set by
# the access interceptor). Awaited before the refusal is answered: grpc sends the status as soon
# as the call is aborted, and a caller told it was denied must find the denial recorded.
RECORD_REFUSAL: ContextVar[Callable[[errors.RegistryError], Awaitable[None]] | None] = ContextVar(
    "studbook_record_refusal", default=None
)


async def abort(context: grpc.aio.ServicerContext, error: errors.RegistryError) -> None:
    if (
        isinstance(error, (errors.Unauthenticated, errors.PermissionDenied))
        and (record := RECORD_REFUSAL.get()) is not None
    ):
        try:
            await record(error)
        except errors.RegistryError as unrecorded:
            # The caller is refused all the same; what kept the record out is the store's to say.
            log.warning("a refusal could not be recorded in the audit trail: %s", unrecorded.message)
    await context.abort_with_status(to_status(error))


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _internal(exc: BaseException) -> errors.RegistryError:
    log.exception("unexpected error", exc_info=exc)
    return errors.RegistryError(
        f"internal error ({type(exc).__name__}); the daemon log has the details", reason="INTERNAL"
    )


def _check(request: object) -> None:
    """What every request must satisfy before its handler sees it (client streams are
    iterators, checked by their handler)."""
    if isinstance(request, Message):
        refuse_unknown_enums(request)


def mapped(method: F) -> F:
    """Wraps a unary handler: domain errors become statuses, anything else INTERNAL, never a crash."""

    @functools.wraps(method)
    async def wrapper(self: object, request: object, context: grpc.aio.ServicerContext) -> Any:
        try:
            _check(request)
            return await method(self, request, context)
        except errors.RegistryError as error:
            await abort(context, error)
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception as exc:  # noqa: BLE001 - the daemon must never die of one request
            await abort(context, _internal(exc))

    return wrapper  # type: ignore[return-value]


def mapped_stream(method: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    """The same for server-streaming handlers."""

    @functools.wraps(method)
    async def wrapper(self: object, request: object, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            _check(request)
            async for item in method(self, request, context):
                yield item
        except errors.RegistryError as error:
            await abort(context, error)
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception as exc:  # noqa: BLE001
            await abort(context, _internal(exc))

    return wrapper
