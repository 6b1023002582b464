import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DropState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DROP_STATE_UNSPECIFIED: _ClassVar[DropState]
    DROP_STATE_PENDING: _ClassVar[DropState]
    DROP_STATE_REGISTERED: _ClassVar[DropState]
    DROP_STATE_MODIFIED: _ClassVar[DropState]
    DROP_STATE_MISSING: _ClassVar[DropState]
    DROP_STATE_QUARANTINED: _ClassVar[DropState]
DROP_STATE_UNSPECIFIED: DropState
DROP_STATE_PENDING: DropState
DROP_STATE_REGISTERED: DropState
DROP_STATE_MODIFIED: DropState
DROP_STATE_MISSING: DropState
DROP_STATE_QUARANTINED: DropState

class Drop(_message.Message):
    __slots__ = ("name", "path", "root", "model", "version", "state", "reason", "message", "details", "update_time", "content_digest")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    root: str
    model: str
    version: str
    state: DropState
    reason: str
    message: str
    details: _containers.ScalarMap[str, str]
    update_time: _timestamp_pb2.Timestamp
    content_digest: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., root: _Optional[str] = ..., model: _Optional[str] = ..., version: _Optional[str] = ..., state: _Optional[_Union[DropState, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., details: _Optional[_Mapping[str, str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., content_digest: _Optional[str] = ...) -> None: ...

class ListDropsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "model")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    model: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class ListDropsResponse(_message.Message):
    __slots__ = ("drops", "next_page_token", "total_size")
    DROPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    drops: _containers.RepeatedCompositeFieldContainer[Drop]
    next_page_token: str
    total_size: int
    def __init__(self, drops: _Optional[_Iterable[_Union[Drop, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListQuarantinedDropsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "model")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    model: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class ListQuarantinedDropsResponse(_message.Message):
    __slots__ = ("drops", "next_page_token", "total_size")
    DROPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    drops: _containers.RepeatedCompositeFieldContainer[Drop]
    next_page_token: str
    total_size: int
    def __init__(self, drops: _Optional[_Iterable[_Union[Drop, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class RetryDropRequest(_message.Message):
    __slots__ = ("name", "path", "allow_unsafe")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ALLOW_UNSAFE_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    allow_unsafe: bool
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., allow_unsafe: _Optional[bool] = ...) -> None: ...

class GetWatchStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchIncident(_message.Message):
    __slots__ = ("time", "reason", "message", "root")
    TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    reason: str
    message: str
    root: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., root: _Optional[str] = ...) -> None: ...

class WatchedRoot(_message.Message):
    __slots__ = ("path", "observer", "problem", "keep_in_place")
    PATH_FIELD_NUMBER: _ClassVar[int]
    OBSERVER_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    KEEP_IN_PLACE_FIELD_NUMBER: _ClassVar[int]
    path: str
    observer: str
    problem: WatchIncident
    keep_in_place: bool
    def __init__(self, path: _Optional[str] = ..., observer: _Optional[str] = ..., problem: _Optional[_Union[WatchIncident, _Mapping]] = ..., keep_in_place: _Optional[bool] = ...) -> None: ...

class WatchStatus(_message.Message):
    __slots__ = ("roots", "degraded", "problems", "incidents", "queue_depth", "pending_drops", "quarantined_drops", "quiet_seconds", "reconcile_seconds", "last_reconcile_time", "files_hashed", "bytes_hashed", "versions_registered", "kept_sources_changed")
    ROOTS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    PENDING_DROPS_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_DROPS_FIELD_NUMBER: _ClassVar[int]
    QUIET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RECONCILE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LAST_RECONCILE_TIME_FIELD_NUMBER: _ClassVar[int]
    FILES_HASHED_FIELD_NUMBER: _ClassVar[int]
    BYTES_HASHED_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    KEPT_SOURCES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    roots: _containers.RepeatedCompositeFieldContainer[WatchedRoot]
    degraded: bool
    problems: _containers.RepeatedCompositeFieldContainer[WatchIncident]
    incidents: _containers.RepeatedCompositeFieldContainer[WatchIncident]
    queue_depth: int
    pending_drops: int
    quarantined_drops: int
    quiet_seconds: float
    reconcile_seconds: float
    last_reconcile_time: _timestamp_pb2.Timestamp
    files_hashed: int
    bytes_hashed: int
    versions_registered: int
    kept_sources_changed: int
    def __init__(self, roots: _Optional[_Iterable[_Union[WatchedRoot, _Mapping]]] = ..., degraded: _Optional[bool] = ..., problems: _Optional[_Iterable[_Union[WatchIncident, _Mapping]]] = ..., incidents: _Optional[_Iterable[_Union[WatchIncident, _Mapping]]] = ..., queue_depth: _Optional[int] = ..., pending_drops: _Optional[int] = ..., quarantined_drops: _Optional[int] = ..., quiet_seconds: _Optional[float] = ..., reconcile_seconds: _Optional[float] = ..., last_reconcile_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., files_hashed: _Optional[int] = ..., bytes_hashed: _Optional[int] = ..., versions_registered: _Optional[int] = ..., kept_sources_changed: _Optional[int] = ...) -> None: ...
