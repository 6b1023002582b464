import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Hook(_message.Message):
    __slots__ = ("name", "url", "events", "model_pattern", "create_time", "creator", "delivered_revision", "failures", "paused", "pause_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_PATTERN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_REVISION_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    url: str
    events: _containers.RepeatedScalarFieldContainer[str]
    model_pattern: str
    create_time: _timestamp_pb2.Timestamp
    creator: str
    delivered_revision: int
    failures: int
    paused: bool
    pause_reason: str
    def __init__(self, name: _Optional[str] = ..., url: _Optional[str] = ..., events: _Optional[_Iterable[str]] = ..., model_pattern: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., delivered_revision: _Optional[int] = ..., failures: _Optional[int] = ..., paused: _Optional[bool] = ..., pause_reason: _Optional[str] = ...) -> None: ...

class AddHookRequest(_message.Message):
    __slots__ = ("url", "events", "model_pattern", "secret", "name")
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_PATTERN_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    url: str
    events: _containers.RepeatedScalarFieldContainer[str]
    model_pattern: str
    secret: str
    name: str
    def __init__(self, url: _Optional[str] = ..., events: _Optional[_Iterable[str]] = ..., model_pattern: _Optional[str] = ..., secret: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class AddHookResponse(_message.Message):
    __slots__ = ("hook", "secret")
    HOOK_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    hook: Hook
    secret: str
    def __init__(self, hook: _Optional[_Union[Hook, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListHooksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListHooksResponse(_message.Message):
    __slots__ = ("hooks",)
    HOOKS_FIELD_NUMBER: _ClassVar[int]
    hooks: _containers.RepeatedCompositeFieldContainer[Hook]
    def __init__(self, hooks: _Optional[_Iterable[_Union[Hook, _Mapping]]] = ...) -> None: ...

class RemoveHookRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TestHookRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class HookDelivery(_message.Message):
    __slots__ = ("hook", "revision", "event_type", "attempt", "status_code", "latency_ms", "error", "time")
    HOOK_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    hook: str
    revision: int
    event_type: str
    attempt: int
    status_code: int
    latency_ms: float
    error: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, hook: _Optional[str] = ..., revision: _Optional[int] = ..., event_type: _Optional[str] = ..., attempt: _Optional[int] = ..., status_code: _Optional[int] = ..., latency_ms: _Optional[float] = ..., error: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("name", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    limit: int
    def __init__(self, name: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[HookDelivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[HookDelivery, _Mapping]]] = ...) -> None: ...

class ReplayHookRequest(_message.Message):
    __slots__ = ("name", "from_revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    from_revision: int
    def __init__(self, name: _Optional[str] = ..., from_revision: _Optional[int] = ...) -> None: ...

class GetHookStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HookStatus(_message.Message):
    __slots__ = ("hooks", "paused", "delivering")
    HOOKS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    DELIVERING_FIELD_NUMBER: _ClassVar[int]
    hooks: int
    paused: _containers.RepeatedCompositeFieldContainer[PausedHook]
    delivering: bool
    def __init__(self, hooks: _Optional[int] = ..., paused: _Optional[_Iterable[_Union[PausedHook, _Mapping]]] = ..., delivering: _Optional[bool] = ...) -> None: ...

class PausedHook(_message.Message):
    __slots__ = ("name", "reason", "next_revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NEXT_REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    next_revision: int
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ..., next_revision: _Optional[int] = ...) -> None: ...
