import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PromotionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMOTION_STATE_UNSPECIFIED: _ClassVar[PromotionState]
    PROMOTION_STATE_PENDING_APPROVAL: _ClassVar[PromotionState]
    PROMOTION_STATE_APPROVED: _ClassVar[PromotionState]
    PROMOTION_STATE_APPLIED: _ClassVar[PromotionState]
    PROMOTION_STATE_REJECTED: _ClassVar[PromotionState]
    PROMOTION_STATE_CANCELLED: _ClassVar[PromotionState]
    PROMOTION_STATE_VALIDATED: _ClassVar[PromotionState]
    PROMOTION_STATE_FAILED: _ClassVar[PromotionState]
PROMOTION_STATE_UNSPECIFIED: PromotionState
PROMOTION_STATE_PENDING_APPROVAL: PromotionState
PROMOTION_STATE_APPROVED: PromotionState
PROMOTION_STATE_APPLIED: PromotionState
PROMOTION_STATE_REJECTED: PromotionState
PROMOTION_STATE_CANCELLED: PromotionState
PROMOTION_STATE_VALIDATED: PromotionState
PROMOTION_STATE_FAILED: PromotionState

class GateResult(_message.Message):
    __slots__ = ("gate", "passed", "detail")
    GATE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    gate: str
    passed: bool
    detail: str
    def __init__(self, gate: _Optional[str] = ..., passed: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("actor", "comment", "time")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    actor: str
    comment: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, actor: _Optional[str] = ..., comment: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Promotion(_message.Message):
    __slots__ = ("name", "model", "version", "target", "is_alias", "previous_version", "state", "reason", "actor", "gate_results", "approvals", "rollback", "create_time", "update_time", "required_approvals")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    IS_ALIAS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    GATE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    version: str
    target: str
    is_alias: bool
    previous_version: str
    state: PromotionState
    reason: str
    actor: str
    gate_results: _containers.RepeatedCompositeFieldContainer[GateResult]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    rollback: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    required_approvals: int
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., version: _Optional[str] = ..., target: _Optional[str] = ..., is_alias: _Optional[bool] = ..., previous_version: _Optional[str] = ..., state: _Optional[_Union[PromotionState, str]] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., gate_results: _Optional[_Iterable[_Union[GateResult, _Mapping]]] = ..., approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., rollback: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., required_approvals: _Optional[int] = ...) -> None: ...

class PromoteModelVersionRequest(_message.Message):
    __slots__ = ("name", "target", "reason", "validate_only", "expected_etag", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    reason: str
    validate_only: bool
    expected_etag: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ..., reason: _Optional[str] = ..., validate_only: _Optional[bool] = ..., expected_etag: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RollbackStageRequest(_message.Message):
    __slots__ = ("model", "stage", "reason", "expected_etag", "validate_only", "version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ETAG_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    reason: str
    expected_etag: str
    validate_only: bool
    version: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., reason: _Optional[str] = ..., expected_etag: _Optional[str] = ..., validate_only: _Optional[bool] = ..., version: _Optional[str] = ...) -> None: ...

class DeleteAliasRequest(_message.Message):
    __slots__ = ("model", "alias", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    alias: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., alias: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteAliasResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPromotionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListPromotionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListPromotionsResponse(_message.Message):
    __slots__ = ("promotions", "next_page_token")
    PROMOTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    promotions: _containers.RepeatedCompositeFieldContainer[Promotion]
    next_page_token: str
    def __init__(self, promotions: _Optional[_Iterable[_Union[Promotion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ApprovePromotionRequest(_message.Message):
    __slots__ = ("name", "comment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    comment: str
    def __init__(self, name: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class RejectPromotionRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelPromotionRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetStageHistoryRequest(_message.Message):
    __slots__ = ("model", "stage", "at", "page_size", "page_token")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    at: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class StageChange(_message.Message):
    __slots__ = ("model", "stage", "is_alias", "version", "previous_version", "actor", "reason", "time", "promotion", "rollback", "revision")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    IS_ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    is_alias: bool
    version: str
    previous_version: str
    actor: str
    reason: str
    time: _timestamp_pb2.Timestamp
    promotion: str
    rollback: bool
    revision: int
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., is_alias: _Optional[bool] = ..., version: _Optional[str] = ..., previous_version: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., promotion: _Optional[str] = ..., rollback: _Optional[bool] = ..., revision: _Optional[int] = ...) -> None: ...

class GetStageHistoryResponse(_message.Message):
    __slots__ = ("changes", "holders_at", "next_page_token")
    class HoldersAtEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    HOLDERS_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[StageChange]
    holders_at: _containers.ScalarMap[str, str]
    next_page_token: str
    def __init__(self, changes: _Optional[_Iterable[_Union[StageChange, _Mapping]]] = ..., holders_at: _Optional[_Mapping[str, str]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetPolicyStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PolicyStatus(_message.Message):
    __slots__ = ("path", "default_location", "in_force", "load_time", "sha256", "model_rules", "stage_gates", "error", "error_time", "monitors")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LOCATION_FIELD_NUMBER: _ClassVar[int]
    IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    LOAD_TIME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MODEL_RULES_FIELD_NUMBER: _ClassVar[int]
    STAGE_GATES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_TIME_FIELD_NUMBER: _ClassVar[int]
    MONITORS_FIELD_NUMBER: _ClassVar[int]
    path: str
    default_location: bool
    in_force: bool
    load_time: _timestamp_pb2.Timestamp
    sha256: str
    model_rules: int
    stage_gates: int
    error: str
    error_time: _timestamp_pb2.Timestamp
    monitors: int
    def __init__(self, path: _Optional[str] = ..., default_location: _Optional[bool] = ..., in_force: _Optional[bool] = ..., load_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sha256: _Optional[str] = ..., model_rules: _Optional[int] = ..., stage_gates: _Optional[int] = ..., error: _Optional[str] = ..., error_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., monitors: _Optional[int] = ...) -> None: ...
