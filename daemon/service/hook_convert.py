"""Hooks and deliveries in their v1 form, and an event's resource as the API's JSON (a
delivery's body). A hook's secret never leaves the daemon this way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from studbook.daemon.domain.hooks import Delivery, Hook
from studbook.daemon.domain.model import Event
from studbook.v1 import hooks_pb2


def _stamp(message: Any, field: str, value: datetime) -> None:
    getattr(message, field).FromDatetime(value)  # a naive time is taken as UTC, as the catalog keeps it


def hook_to_proto(hook: Hook) -> hooks_pb2.Hook:
    message = hooks_pb2.Hook(name=hook.name, url=hook.url, events=list(hook.events), model_pattern=hook.model_pattern,
                             creator=hook.creator, delivered_revision=hook.cursor, failures=hook.failures,
                             paused=hook.paused, pause_reason=hook.pause_reason)  # fmt: skip
    _stamp(message, "create_time", hook.create_time)
    return message


def delivery_to_proto(delivery: Delivery, hook_name: str) -> hooks_pb2.HookDelivery:
    message = hooks_pb2.HookDelivery(hook=hook_name, revision=delivery.revision, event_type=delivery.event_type,
                                     attempt=delivery.attempt, status_code=delivery.status_code,
                                     latency_ms=delivery.latency_ms, error=delivery.error)  # fmt: skip
    _stamp(message, "time", delivery.time)
    return message


def resource_json(event: Event) -> dict[str, Any] | None:
    """The resource an event carries (a version, a promotion, a model ...) as the API's JSON."""
    from studbook.daemon.service.convert import event_to_proto

    message = event_to_proto(event)
    kind = message.WhichOneof("payload")
    if kind is None:
        return None
    return {kind: MessageToDict(getattr(message, kind), preserving_proto_field_name=True)}
