import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RetentionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETENTION_ACTION_UNSPECIFIED: _ClassVar[RetentionAction]
    RETENTION_ACTION_KEEP: _ClassVar[RetentionAction]
    RETENTION_ACTION_ARCHIVE: _ClassVar[RetentionAction]
    RETENTION_ACTION_WAIT: _ClassVar[RetentionAction]
    RETENTION_ACTION_PURGE: _ClassVar[RetentionAction]
RETENTION_ACTION_UNSPECIFIED: RetentionAction
RETENTION_ACTION_KEEP: RetentionAction
RETENTION_ACTION_ARCHIVE: RetentionAction
RETENTION_ACTION_WAIT: RetentionAction
RETENTION_ACTION_PURGE: RetentionAction

class PlanGarbageCollectionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CollectGarbageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RetentionDecision(_message.Message):
    __slots__ = ("version", "action", "reason", "size_bytes", "purge_time")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PURGE_TIME_FIELD_NUMBER: _ClassVar[int]
    version: str
    action: RetentionAction
    reason: str
    size_bytes: int
    purge_time: _timestamp_pb2.Timestamp
    def __init__(self, version: _Optional[str] = ..., action: _Optional[_Union[RetentionAction, str]] = ..., reason: _Optional[str] = ..., size_bytes: _Optional[int] = ..., purge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BlobCollection(_message.Message):
    __slots__ = ("deleted", "deleted_bytes", "freed_by_purge", "freed_by_purge_bytes", "orphans", "orphan_bytes", "recent", "recent_bytes", "claimed", "claimed_bytes", "other_catalogs", "shared", "shared_bytes")
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DELETED_BYTES_FIELD_NUMBER: _ClassVar[int]
    FREED_BY_PURGE_FIELD_NUMBER: _ClassVar[int]
    FREED_BY_PURGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ORPHANS_FIELD_NUMBER: _ClassVar[int]
    ORPHAN_BYTES_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    RECENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_BYTES_FIELD_NUMBER: _ClassVar[int]
    OTHER_CATALOGS_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    SHARED_BYTES_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    deleted_bytes: int
    freed_by_purge: int
    freed_by_purge_bytes: int
    orphans: int
    orphan_bytes: int
    recent: int
    recent_bytes: int
    claimed: int
    claimed_bytes: int
    other_catalogs: int
    shared: int
    shared_bytes: int
    def __init__(self, deleted: _Optional[int] = ..., deleted_bytes: _Optional[int] = ..., freed_by_purge: _Optional[int] = ..., freed_by_purge_bytes: _Optional[int] = ..., orphans: _Optional[int] = ..., orphan_bytes: _Optional[int] = ..., recent: _Optional[int] = ..., recent_bytes: _Optional[int] = ..., claimed: _Optional[int] = ..., claimed_bytes: _Optional[int] = ..., other_catalogs: _Optional[int] = ..., shared: _Optional[int] = ..., shared_bytes: _Optional[int] = ...) -> None: ...

class GarbageCollection(_message.Message):
    __slots__ = ("dry_run", "time", "artifact_store", "archived", "purged", "waiting", "kept", "decisions", "decisions_not_listed", "blobs")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_STORE_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    PURGED_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_NOT_LISTED_FIELD_NUMBER: _ClassVar[int]
    BLOBS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    time: _timestamp_pb2.Timestamp
    artifact_store: str
    archived: int
    purged: int
    waiting: int
    kept: int
    decisions: _containers.RepeatedCompositeFieldContainer[RetentionDecision]
    decisions_not_listed: int
    blobs: BlobCollection
    def __init__(self, dry_run: _Optional[bool] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., artifact_store: _Optional[str] = ..., archived: _Optional[int] = ..., purged: _Optional[int] = ..., waiting: _Optional[int] = ..., kept: _Optional[int] = ..., decisions: _Optional[_Iterable[_Union[RetentionDecision, _Mapping]]] = ..., decisions_not_listed: _Optional[int] = ..., blobs: _Optional[_Union[BlobCollection, _Mapping]] = ...) -> None: ...
