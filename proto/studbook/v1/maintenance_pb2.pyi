import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from studbook.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCatalogStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CatalogStatus(_message.Message):
    __slots__ = ("backend", "location", "shared", "revision", "following", "problem", "since", "caught_up_time")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    FOLLOWING_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_TIME_FIELD_NUMBER: _ClassVar[int]
    backend: str
    location: str
    shared: bool
    revision: int
    following: bool
    problem: str
    since: _timestamp_pb2.Timestamp
    caught_up_time: _timestamp_pb2.Timestamp
    def __init__(self, backend: _Optional[str] = ..., location: _Optional[str] = ..., shared: _Optional[bool] = ..., revision: _Optional[int] = ..., following: _Optional[bool] = ..., problem: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caught_up_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VerifyArtifactsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class VerifyArtifactsResponse(_message.Message):
    __slots__ = ("progress", "summary")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    progress: VerifyProgress
    summary: VerifySummary
    def __init__(self, progress: _Optional[_Union[VerifyProgress, _Mapping]] = ..., summary: _Optional[_Union[VerifySummary, _Mapping]] = ...) -> None: ...

class VerifyProgress(_message.Message):
    __slots__ = ("checked_bytes", "total_bytes", "checked_blobs", "total_blobs")
    CHECKED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BLOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BLOBS_FIELD_NUMBER: _ClassVar[int]
    checked_bytes: int
    total_bytes: int
    checked_blobs: int
    total_blobs: int
    def __init__(self, checked_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ..., checked_blobs: _Optional[int] = ..., total_blobs: _Optional[int] = ...) -> None: ...

class VerifiedVersion(_message.Message):
    __slots__ = ("version", "status", "reason")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    version: str
    status: _resources_pb2.VersionStatus
    reason: str
    def __init__(self, version: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.VersionStatus, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class BadBlob(_message.Message):
    __slots__ = ("sha256", "missing")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    missing: bool
    def __init__(self, sha256: _Optional[str] = ..., missing: _Optional[bool] = ...) -> None: ...

class VerifySummary(_message.Message):
    __slots__ = ("store", "versions_checked", "blobs_checked", "bytes_checked", "skipped_count", "skipped_versions", "bad_blobs", "corrupt_versions", "corrupt_count", "repaired_versions")
    STORE_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    BLOBS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    BYTES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    BAD_BLOBS_FIELD_NUMBER: _ClassVar[int]
    CORRUPT_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CORRUPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    store: str
    versions_checked: int
    blobs_checked: int
    bytes_checked: int
    skipped_count: int
    skipped_versions: _containers.RepeatedScalarFieldContainer[str]
    bad_blobs: _containers.RepeatedCompositeFieldContainer[BadBlob]
    corrupt_versions: _containers.RepeatedCompositeFieldContainer[VerifiedVersion]
    corrupt_count: int
    repaired_versions: _containers.RepeatedCompositeFieldContainer[VerifiedVersion]
    def __init__(self, store: _Optional[str] = ..., versions_checked: _Optional[int] = ..., blobs_checked: _Optional[int] = ..., bytes_checked: _Optional[int] = ..., skipped_count: _Optional[int] = ..., skipped_versions: _Optional[_Iterable[str]] = ..., bad_blobs: _Optional[_Iterable[_Union[BadBlob, _Mapping]]] = ..., corrupt_versions: _Optional[_Iterable[_Union[VerifiedVersion, _Mapping]]] = ..., corrupt_count: _Optional[int] = ..., repaired_versions: _Optional[_Iterable[_Union[VerifiedVersion, _Mapping]]] = ...) -> None: ...

class BackupRegistryRequest(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: str
    def __init__(self, destination: _Optional[str] = ...) -> None: ...

class BackupRegistryResponse(_message.Message):
    __slots__ = ("progress", "summary")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    progress: BackupProgress
    summary: BackupSummary
    def __init__(self, progress: _Optional[_Union[BackupProgress, _Mapping]] = ..., summary: _Optional[_Union[BackupSummary, _Mapping]] = ...) -> None: ...

class BackupProgress(_message.Message):
    __slots__ = ("phase", "done_bytes", "total_bytes", "done_blobs", "total_blobs")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    DONE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DONE_BLOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BLOBS_FIELD_NUMBER: _ClassVar[int]
    phase: str
    done_bytes: int
    total_bytes: int
    done_blobs: int
    total_blobs: int
    def __init__(self, phase: _Optional[str] = ..., done_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ..., done_blobs: _Optional[int] = ..., total_blobs: _Optional[int] = ...) -> None: ...

class BackupSummary(_message.Message):
    __slots__ = ("destination", "revision", "chain_head", "versions", "catalog", "catalog_bytes", "blob_count", "blob_bytes", "copied_blobs", "copied_bytes", "lost_blobs", "create_time", "snapshot_seconds", "seconds")
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HEAD_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    CATALOG_BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOB_COUNT_FIELD_NUMBER: _ClassVar[int]
    BLOB_BYTES_FIELD_NUMBER: _ClassVar[int]
    COPIED_BLOBS_FIELD_NUMBER: _ClassVar[int]
    COPIED_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOST_BLOBS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    destination: str
    revision: int
    chain_head: str
    versions: int
    catalog: str
    catalog_bytes: int
    blob_count: int
    blob_bytes: int
    copied_blobs: int
    copied_bytes: int
    lost_blobs: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    snapshot_seconds: float
    seconds: float
    def __init__(self, destination: _Optional[str] = ..., revision: _Optional[int] = ..., chain_head: _Optional[str] = ..., versions: _Optional[int] = ..., catalog: _Optional[str] = ..., catalog_bytes: _Optional[int] = ..., blob_count: _Optional[int] = ..., blob_bytes: _Optional[int] = ..., copied_blobs: _Optional[int] = ..., copied_bytes: _Optional[int] = ..., lost_blobs: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., snapshot_seconds: _Optional[float] = ..., seconds: _Optional[float] = ...) -> None: ...
