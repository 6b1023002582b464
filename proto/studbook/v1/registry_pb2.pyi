import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from studbook.v1 import resources_pb2 as _resources_pb2
from studbook.v1 import production_pb2 as _production_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_TYPE_UNSPECIFIED: _ClassVar[ChangeType]
    CHANGE_TYPE_ADDED: _ClassVar[ChangeType]
    CHANGE_TYPE_REMOVED: _ClassVar[ChangeType]
    CHANGE_TYPE_CHANGED: _ClassVar[ChangeType]
    CHANGE_TYPE_UNCHANGED: _ClassVar[ChangeType]
CHANGE_TYPE_UNSPECIFIED: ChangeType
CHANGE_TYPE_ADDED: ChangeType
CHANGE_TYPE_REMOVED: ChangeType
CHANGE_TYPE_CHANGED: ChangeType
CHANGE_TYPE_UNCHANGED: ChangeType

class CreateModelRequest(_message.Message):
    __slots__ = ("model_id", "model", "request_id", "source_create_time")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model: _resources_pb2.Model
    request_id: str
    source_create_time: _timestamp_pb2.Timestamp
    def __init__(self, model_id: _Optional[str] = ..., model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ..., request_id: _Optional[str] = ..., source_create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by", "show_archived")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    SHOW_ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    show_archived: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ..., show_archived: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token", "total_size", "revision")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Model]
    next_page_token: str
    total_size: int
    revision: int
    def __init__(self, models: _Optional[_Iterable[_Union[_resources_pb2.Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class UpdateModelRequest(_message.Message):
    __slots__ = ("model", "update_mask")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    model: _resources_pb2.Model
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ArchiveModelRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class RestoreModelRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteModelRequest(_message.Message):
    __slots__ = ("name", "force", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    force: bool
    etag: str
    def __init__(self, name: _Optional[str] = ..., force: _Optional[bool] = ..., etag: _Optional[str] = ...) -> None: ...

class RenameModelRequest(_message.Message):
    __slots__ = ("name", "new_model_id", "expected_etag", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ETAG_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    new_model_id: str
    expected_etag: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., new_model_id: _Optional[str] = ..., expected_etag: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteModelResponse(_message.Message):
    __slots__ = ("deleted_versions",)
    DELETED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    deleted_versions: int
    def __init__(self, deleted_versions: _Optional[int] = ...) -> None: ...

class RegisterModelVersionRequest(_message.Message):
    __slots__ = ("parent", "source_path", "version", "request_id", "semver", "number", "keep_in_place", "uploaded_files", "allow_unsafe", "dvc_file", "source_create_time", "reference_statistics")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SEMVER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    KEEP_IN_PLACE_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_FILES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_UNSAFE_FIELD_NUMBER: _ClassVar[int]
    DVC_FILE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_STATISTICS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    source_path: str
    version: _resources_pb2.ModelVersion
    request_id: str
    semver: str
    number: int
    keep_in_place: bool
    uploaded_files: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ArtifactFile]
    allow_unsafe: bool
    dvc_file: bytes
    source_create_time: _timestamp_pb2.Timestamp
    reference_statistics: _containers.RepeatedCompositeFieldContainer[_production_pb2.FeatureStatistics]
    def __init__(self, parent: _Optional[str] = ..., source_path: _Optional[str] = ..., version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., request_id: _Optional[str] = ..., semver: _Optional[str] = ..., number: _Optional[int] = ..., keep_in_place: _Optional[bool] = ..., uploaded_files: _Optional[_Iterable[_Union[_resources_pb2.ArtifactFile, _Mapping]]] = ..., allow_unsafe: _Optional[bool] = ..., dvc_file: _Optional[bytes] = ..., source_create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference_statistics: _Optional[_Iterable[_Union[_production_pb2.FeatureStatistics, _Mapping]]] = ...) -> None: ...

class RegisterModelVersionResponse(_message.Message):
    __slots__ = ("version", "created")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    version: _resources_pb2.ModelVersion
    created: bool
    def __init__(self, version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class RegisterModelVersionsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[RegisterModelVersionRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[RegisterModelVersionRequest, _Mapping]]] = ...) -> None: ...

class RegisterModelVersionsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RegisterModelVersionResult]
    def __init__(self, results: _Optional[_Iterable[_Union[RegisterModelVersionResult, _Mapping]]] = ...) -> None: ...

class RegisterModelVersionResult(_message.Message):
    __slots__ = ("registered", "error")
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    registered: RegisterModelVersionResponse
    error: _status_pb2.Status
    def __init__(self, registered: _Optional[_Union[RegisterModelVersionResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class GetModelVersionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by", "show_archived", "summary_only", "skip")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    SHOW_ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_ONLY_FIELD_NUMBER: _ClassVar[int]
    SKIP_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    show_archived: bool
    summary_only: bool
    skip: int
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ..., show_archived: _Optional[bool] = ..., summary_only: _Optional[bool] = ..., skip: _Optional[int] = ...) -> None: ...

class ListModelVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token", "total_size", "revision")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ModelVersion]
    next_page_token: str
    total_size: int
    revision: int
    def __init__(self, versions: _Optional[_Iterable[_Union[_resources_pb2.ModelVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class UpdateModelVersionRequest(_message.Message):
    __slots__ = ("version", "update_mask")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    version: _resources_pb2.ModelVersion
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ArchiveModelVersionRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class RestoreModelVersionRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class LogMetricsRequest(_message.Message):
    __slots__ = ("name", "metrics")
    NAME_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    name: str
    metrics: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Metric]
    def __init__(self, name: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[_resources_pb2.Metric, _Mapping]]] = ...) -> None: ...

class LogMetricsResponse(_message.Message):
    __slots__ = ("logged",)
    LOGGED_FIELD_NUMBER: _ClassVar[int]
    logged: int
    def __init__(self, logged: _Optional[int] = ...) -> None: ...

class ListMetricsRequest(_message.Message):
    __slots__ = ("name", "key", "split")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    key: str
    split: str
    def __init__(self, name: _Optional[str] = ..., key: _Optional[str] = ..., split: _Optional[str] = ...) -> None: ...

class ListMetricsResponse(_message.Message):
    __slots__ = ("metrics",)
    METRICS_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Metric]
    def __init__(self, metrics: _Optional[_Iterable[_Union[_resources_pb2.Metric, _Mapping]]] = ...) -> None: ...

class DiffModelVersionsRequest(_message.Message):
    __slots__ = ("base", "target")
    BASE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    base: str
    target: str
    def __init__(self, base: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class ValueChange(_message.Message):
    __slots__ = ("key", "change", "base", "target")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    key: str
    change: ChangeType
    base: str
    target: str
    def __init__(self, key: _Optional[str] = ..., change: _Optional[_Union[ChangeType, str]] = ..., base: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class MetricChange(_message.Message):
    __slots__ = ("key", "split", "change", "base", "target", "delta", "relative_delta", "better")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_DELTA_FIELD_NUMBER: _ClassVar[int]
    BETTER_FIELD_NUMBER: _ClassVar[int]
    key: str
    split: str
    change: ChangeType
    base: float
    target: float
    delta: float
    relative_delta: float
    better: bool
    def __init__(self, key: _Optional[str] = ..., split: _Optional[str] = ..., change: _Optional[_Union[ChangeType, str]] = ..., base: _Optional[float] = ..., target: _Optional[float] = ..., delta: _Optional[float] = ..., relative_delta: _Optional[float] = ..., better: _Optional[bool] = ...) -> None: ...

class FileChange(_message.Message):
    __slots__ = ("path", "change", "base_sha256", "target_sha256", "base_size", "target_size", "base_path")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    BASE_SHA256_FIELD_NUMBER: _ClassVar[int]
    TARGET_SHA256_FIELD_NUMBER: _ClassVar[int]
    BASE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TARGET_SIZE_FIELD_NUMBER: _ClassVar[int]
    BASE_PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    change: ChangeType
    base_sha256: str
    target_sha256: str
    base_size: int
    target_size: int
    base_path: str
    def __init__(self, path: _Optional[str] = ..., change: _Optional[_Union[ChangeType, str]] = ..., base_sha256: _Optional[str] = ..., target_sha256: _Optional[str] = ..., base_size: _Optional[int] = ..., target_size: _Optional[int] = ..., base_path: _Optional[str] = ...) -> None: ...

class SignatureCompatibility(_message.Message):
    __slots__ = ("compatible", "reasons")
    COMPATIBLE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    compatible: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, compatible: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class VersionDiff(_message.Message):
    __slots__ = ("base", "target", "params", "metrics", "tags", "environment", "signature", "files", "model_card_diff", "base_semver", "target_semver", "model_card_truncated", "format", "tensors")
    BASE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    MODEL_CARD_DIFF_FIELD_NUMBER: _ClassVar[int]
    BASE_SEMVER_FIELD_NUMBER: _ClassVar[int]
    TARGET_SEMVER_FIELD_NUMBER: _ClassVar[int]
    MODEL_CARD_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TENSORS_FIELD_NUMBER: _ClassVar[int]
    base: str
    target: str
    params: _containers.RepeatedCompositeFieldContainer[ValueChange]
    metrics: _containers.RepeatedCompositeFieldContainer[MetricChange]
    tags: _containers.RepeatedCompositeFieldContainer[ValueChange]
    environment: _containers.RepeatedCompositeFieldContainer[ValueChange]
    signature: SignatureCompatibility
    files: _containers.RepeatedCompositeFieldContainer[FileChange]
    model_card_diff: str
    base_semver: str
    target_semver: str
    model_card_truncated: bool
    format: _containers.RepeatedCompositeFieldContainer[ValueChange]
    tensors: _containers.RepeatedCompositeFieldContainer[TensorChange]
    def __init__(self, base: _Optional[str] = ..., target: _Optional[str] = ..., params: _Optional[_Iterable[_Union[ValueChange, _Mapping]]] = ..., metrics: _Optional[_Iterable[_Union[MetricChange, _Mapping]]] = ..., tags: _Optional[_Iterable[_Union[ValueChange, _Mapping]]] = ..., environment: _Optional[_Iterable[_Union[ValueChange, _Mapping]]] = ..., signature: _Optional[_Union[SignatureCompatibility, _Mapping]] = ..., files: _Optional[_Iterable[_Union[FileChange, _Mapping]]] = ..., model_card_diff: _Optional[str] = ..., base_semver: _Optional[str] = ..., target_semver: _Optional[str] = ..., model_card_truncated: _Optional[bool] = ..., format: _Optional[_Iterable[_Union[ValueChange, _Mapping]]] = ..., tensors: _Optional[_Iterable[_Union[TensorChange, _Mapping]]] = ...) -> None: ...

class TensorChange(_message.Message):
    __slots__ = ("name", "change", "base_dtype", "target_dtype", "base_shape", "target_shape")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    BASE_DTYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DTYPE_FIELD_NUMBER: _ClassVar[int]
    BASE_SHAPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_SHAPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    change: ChangeType
    base_dtype: str
    target_dtype: str
    base_shape: _containers.RepeatedScalarFieldContainer[int]
    target_shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., change: _Optional[_Union[ChangeType, str]] = ..., base_dtype: _Optional[str] = ..., target_dtype: _Optional[str] = ..., base_shape: _Optional[_Iterable[int]] = ..., target_shape: _Optional[_Iterable[int]] = ...) -> None: ...
