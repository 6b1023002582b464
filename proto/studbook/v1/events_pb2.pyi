import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from studbook.v1 import access_pb2 as _access_pb2
from studbook.v1 import hooks_pb2 as _hooks_pb2
from studbook.v1 import production_pb2 as _production_pb2
from studbook.v1 import resources_pb2 as _resources_pb2
from studbook.v1 import stages_pb2 as _stages_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchRequest(_message.Message):
    __slots__ = ("start_revision", "filter", "bookmark_interval_seconds")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    BOOKMARK_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    filter: str
    bookmark_interval_seconds: int
    def __init__(self, start_revision: _Optional[int] = ..., filter: _Optional[str] = ..., bookmark_interval_seconds: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("revision", "time", "type", "subject", "model", "actor", "role", "model_snapshot", "version", "promotion", "token", "denial", "hook", "production_metrics", "inputs_logged", "renamed", "monitor_state")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MODEL_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DENIAL_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_METRICS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_LOGGED_FIELD_NUMBER: _ClassVar[int]
    RENAMED_FIELD_NUMBER: _ClassVar[int]
    MONITOR_STATE_FIELD_NUMBER: _ClassVar[int]
    revision: int
    time: _timestamp_pb2.Timestamp
    type: str
    subject: str
    model: str
    actor: str
    role: _access_pb2.Role
    model_snapshot: _resources_pb2.Model
    version: _resources_pb2.ModelVersion
    promotion: _stages_pb2.Promotion
    token: _access_pb2.Token
    denial: _access_pb2.AccessDenial
    hook: _hooks_pb2.Hook
    production_metrics: _production_pb2.ProductionMetricsLogged
    inputs_logged: _production_pb2.InputsLogged
    renamed: ModelRenamed
    monitor_state: _production_pb2.MonitorState
    def __init__(self, revision: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[str] = ..., subject: _Optional[str] = ..., model: _Optional[str] = ..., actor: _Optional[str] = ..., role: _Optional[_Union[_access_pb2.Role, str]] = ..., model_snapshot: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ..., version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., promotion: _Optional[_Union[_stages_pb2.Promotion, _Mapping]] = ..., token: _Optional[_Union[_access_pb2.Token, _Mapping]] = ..., denial: _Optional[_Union[_access_pb2.AccessDenial, _Mapping]] = ..., hook: _Optional[_Union[_hooks_pb2.Hook, _Mapping]] = ..., production_metrics: _Optional[_Union[_production_pb2.ProductionMetricsLogged, _Mapping]] = ..., inputs_logged: _Optional[_Union[_production_pb2.InputsLogged, _Mapping]] = ..., renamed: _Optional[_Union[ModelRenamed, _Mapping]] = ..., monitor_state: _Optional[_Union[_production_pb2.MonitorState, _Mapping]] = ...) -> None: ...

class ModelRenamed(_message.Message):
    __slots__ = ("previous_name", "model", "reason")
    PREVIOUS_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    previous_name: str
    model: _resources_pb2.Model
    reason: str
    def __init__(self, previous_name: _Optional[str] = ..., model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ("event", "bookmark")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    BOOKMARK_FIELD_NUMBER: _ClassVar[int]
    event: Event
    bookmark: int
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., bookmark: _Optional[int] = ...) -> None: ...
