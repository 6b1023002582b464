import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from studbook.v1 import formats_pb2 as _formats_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STATE_UNSPECIFIED: _ClassVar[ModelState]
    MODEL_STATE_ACTIVE: _ClassVar[ModelState]
    MODEL_STATE_ARCHIVED: _ClassVar[ModelState]

class ChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_KIND_UNSPECIFIED: _ClassVar[ChangeKind]
    CHANGE_KIND_SCHEMA: _ClassVar[ChangeKind]
    CHANGE_KIND_DATA: _ClassVar[ChangeKind]
    CHANGE_KIND_TUNING: _ClassVar[ChangeKind]
    CHANGE_KIND_INITIAL: _ClassVar[ChangeKind]

class VersionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERSION_STATUS_UNSPECIFIED: _ClassVar[VersionStatus]
    VERSION_STATUS_REGISTERING: _ClassVar[VersionStatus]
    VERSION_STATUS_READY: _ClassVar[VersionStatus]
    VERSION_STATUS_FAILED: _ClassVar[VersionStatus]
    VERSION_STATUS_QUARANTINED: _ClassVar[VersionStatus]
    VERSION_STATUS_MISSING: _ClassVar[VersionStatus]
    VERSION_STATUS_MODIFIED: _ClassVar[VersionStatus]
    VERSION_STATUS_ARCHIVED: _ClassVar[VersionStatus]
    VERSION_STATUS_CORRUPT: _ClassVar[VersionStatus]

class ParentRelation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARENT_RELATION_UNSPECIFIED: _ClassVar[ParentRelation]
    PARENT_RELATION_FINE_TUNED_FROM: _ClassVar[ParentRelation]
    PARENT_RELATION_DISTILLED_FROM: _ClassVar[ParentRelation]
    PARENT_RELATION_QUANTIZED_FROM: _ClassVar[ParentRelation]
    PARENT_RELATION_DERIVED_FROM: _ClassVar[ParentRelation]
MODEL_STATE_UNSPECIFIED: ModelState
MODEL_STATE_ACTIVE: ModelState
MODEL_STATE_ARCHIVED: ModelState
CHANGE_KIND_UNSPECIFIED: ChangeKind
CHANGE_KIND_SCHEMA: ChangeKind
CHANGE_KIND_DATA: ChangeKind
CHANGE_KIND_TUNING: ChangeKind
CHANGE_KIND_INITIAL: ChangeKind
VERSION_STATUS_UNSPECIFIED: VersionStatus
VERSION_STATUS_REGISTERING: VersionStatus
VERSION_STATUS_READY: VersionStatus
VERSION_STATUS_FAILED: VersionStatus
VERSION_STATUS_QUARANTINED: VersionStatus
VERSION_STATUS_MISSING: VersionStatus
VERSION_STATUS_MODIFIED: VersionStatus
VERSION_STATUS_ARCHIVED: VersionStatus
VERSION_STATUS_CORRUPT: VersionStatus
PARENT_RELATION_UNSPECIFIED: ParentRelation
PARENT_RELATION_FINE_TUNED_FROM: ParentRelation
PARENT_RELATION_DISTILLED_FROM: ParentRelation
PARENT_RELATION_QUANTIZED_FROM: ParentRelation
PARENT_RELATION_DERIVED_FROM: ParentRelation

class Model(_message.Message):
    __slots__ = ("name", "description", "tags", "owner", "stages", "stage_holders", "aliases", "latest_version", "version_count", "state", "create_time", "update_time", "etag")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class StageHoldersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AliasesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    STAGE_HOLDERS_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    tags: _containers.ScalarMap[str, str]
    owner: str
    stages: _containers.RepeatedScalarFieldContainer[str]
    stage_holders: _containers.ScalarMap[str, str]
    aliases: _containers.ScalarMap[str, str]
    latest_version: int
    version_count: int
    state: ModelState
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., owner: _Optional[str] = ..., stages: _Optional[_Iterable[str]] = ..., stage_holders: _Optional[_Mapping[str, str]] = ..., aliases: _Optional[_Mapping[str, str]] = ..., latest_version: _Optional[int] = ..., version_count: _Optional[int] = ..., state: _Optional[_Union[ModelState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class ArtifactFile(_message.Message):
    __slots__ = ("path", "size", "sha256", "format", "flags", "format_info")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_INFO_FIELD_NUMBER: _ClassVar[int]
    path: str
    size: int
    sha256: str
    format: str
    flags: _containers.RepeatedScalarFieldContainer[str]
    format_info: _formats_pb2.FormatInfo
    def __init__(self, path: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., format: _Optional[str] = ..., flags: _Optional[_Iterable[str]] = ..., format_info: _Optional[_Union[_formats_pb2.FormatInfo, _Mapping]] = ...) -> None: ...

class Metric(_message.Message):
    __slots__ = ("key", "value", "step", "split", "time")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: float
    step: int
    split: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ..., step: _Optional[int] = ..., split: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TensorSpec(_message.Message):
    __slots__ = ("name", "dtype", "shape", "optional")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    optional: bool
    def __init__(self, name: _Optional[str] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., optional: _Optional[bool] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("inputs", "outputs")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    outputs: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    def __init__(self, inputs: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ...) -> None: ...

class Environment(_message.Message):
    __slots__ = ("python_version", "packages", "requirements", "platform")
    class PackagesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    python_version: str
    packages: _containers.ScalarMap[str, str]
    requirements: _containers.RepeatedScalarFieldContainer[str]
    platform: str
    def __init__(self, python_version: _Optional[str] = ..., packages: _Optional[_Mapping[str, str]] = ..., requirements: _Optional[_Iterable[str]] = ..., platform: _Optional[str] = ...) -> None: ...

class TrainingConfig(_message.Message):
    __slots__ = ("seed", "data_versions", "code_commit", "code_dirty", "entry_point")
    class DataVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SEED_FIELD_NUMBER: _ClassVar[int]
    DATA_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CODE_COMMIT_FIELD_NUMBER: _ClassVar[int]
    CODE_DIRTY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    seed: int
    data_versions: _containers.ScalarMap[str, str]
    code_commit: str
    code_dirty: bool
    entry_point: str
    def __init__(self, seed: _Optional[int] = ..., data_versions: _Optional[_Mapping[str, str]] = ..., code_commit: _Optional[str] = ..., code_dirty: _Optional[bool] = ..., entry_point: _Optional[str] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("name", "version", "uri", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    uri: str
    size: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., uri: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("run_id", "code_commit", "entry_point", "uri")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_COMMIT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    code_commit: str
    entry_point: str
    uri: str
    def __init__(self, run_id: _Optional[str] = ..., code_commit: _Optional[str] = ..., entry_point: _Optional[str] = ..., uri: _Optional[str] = ...) -> None: ...

class ParentVersion(_message.Message):
    __slots__ = ("version", "relation")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    version: str
    relation: ParentRelation
    def __init__(self, version: _Optional[str] = ..., relation: _Optional[_Union[ParentRelation, str]] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("name", "model", "number", "semver", "change_kind", "status", "status_reason", "description", "tags", "params", "metrics", "files", "storage_uri", "content_digest", "signature", "environment", "training", "model_card", "datasets", "run", "parents", "stages", "aliases", "created_by", "created_from", "create_time", "update_time", "etag", "total_size", "file_count", "format", "kept", "format_info")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    SEMVER_FIELD_NUMBER: _ClassVar[int]
    CHANGE_KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    STORAGE_URI_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    MODEL_CARD_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_INFO_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    number: int
    semver: str
    change_kind: ChangeKind
    status: VersionStatus
    status_reason: str
    description: str
    tags: _containers.ScalarMap[str, str]
    params: _containers.ScalarMap[str, str]
    metrics: _containers.RepeatedCompositeFieldContainer[Metric]
    files: _containers.RepeatedCompositeFieldContainer[ArtifactFile]
    storage_uri: str
    content_digest: str
    signature: Signature
    environment: Environment
    training: TrainingConfig
    model_card: str
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    run: Run
    parents: _containers.RepeatedCompositeFieldContainer[ParentVersion]
    stages: _containers.RepeatedScalarFieldContainer[str]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_from: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    total_size: int
    file_count: int
    format: str
    kept: bool
    format_info: _formats_pb2.FormatInfo
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., number: _Optional[int] = ..., semver: _Optional[str] = ..., change_kind: _Optional[_Union[ChangeKind, str]] = ..., status: _Optional[_Union[VersionStatus, str]] = ..., status_reason: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., params: _Optional[_Mapping[str, str]] = ..., metrics: _Optional[_Iterable[_Union[Metric, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[ArtifactFile, _Mapping]]] = ..., storage_uri: _Optional[str] = ..., content_digest: _Optional[str] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., environment: _Optional[_Union[Environment, _Mapping]] = ..., training: _Optional[_Union[TrainingConfig, _Mapping]] = ..., model_card: _Optional[str] = ..., datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ..., run: _Optional[_Union[Run, _Mapping]] = ..., parents: _Optional[_Iterable[_Union[ParentVersion, _Mapping]]] = ..., stages: _Optional[_Iterable[str]] = ..., aliases: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_from: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., total_size: _Optional[int] = ..., file_count: _Optional[int] = ..., format: _Optional[str] = ..., kept: _Optional[bool] = ..., format_info: _Optional[_Union[_formats_pb2.FormatInfo, _Mapping]] = ...) -> None: ...
