from studbook.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
