import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CandidateBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANDIDATE_BASIS_UNSPECIFIED: _ClassVar[CandidateBasis]
    CANDIDATE_BASIS_PRODUCTION: _ClassVar[CandidateBasis]
    CANDIDATE_BASIS_EVALUATION: _ClassVar[CandidateBasis]
CANDIDATE_BASIS_UNSPECIFIED: CandidateBasis
CANDIDATE_BASIS_PRODUCTION: CandidateBasis
CANDIDATE_BASIS_EVALUATION: CandidateBasis

class ProductionPoint(_message.Message):
    __slots__ = ("key", "value", "window_end", "segment")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: float
    window_end: _timestamp_pb2.Timestamp
    segment: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., segment: _Optional[str] = ...) -> None: ...

class LogProductionMetricsRequest(_message.Message):
    __slots__ = ("model", "stage", "points", "request_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    points: _containers.RepeatedCompositeFieldContainer[ProductionPoint]
    request_id: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., points: _Optional[_Iterable[_Union[ProductionPoint, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class LogProductionMetricsResponse(_message.Message):
    __slots__ = ("recorded", "versions", "changed")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    versions: _containers.RepeatedScalarFieldContainer[str]
    changed: _containers.RepeatedCompositeFieldContainer[MonitorState]
    def __init__(self, recorded: _Optional[int] = ..., versions: _Optional[_Iterable[str]] = ..., changed: _Optional[_Iterable[_Union[MonitorState, _Mapping]]] = ...) -> None: ...

class ProductionMetricsLogged(_message.Message):
    __slots__ = ("stage", "count", "versions", "first_window_end", "last_window_end", "keys", "request_id")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    FIRST_WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    LAST_WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    stage: str
    count: int
    versions: _containers.RepeatedScalarFieldContainer[str]
    first_window_end: _timestamp_pb2.Timestamp
    last_window_end: _timestamp_pb2.Timestamp
    keys: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, stage: _Optional[str] = ..., count: _Optional[int] = ..., versions: _Optional[_Iterable[str]] = ..., first_window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., keys: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ProductionSample(_message.Message):
    __slots__ = ("window_end", "value")
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    window_end: _timestamp_pb2.Timestamp
    value: float
    def __init__(self, window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ...) -> None: ...

class ProductionSeries(_message.Message):
    __slots__ = ("key", "segment", "samples")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    key: str
    segment: str
    samples: _containers.RepeatedCompositeFieldContainer[ProductionSample]
    def __init__(self, key: _Optional[str] = ..., segment: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[ProductionSample, _Mapping]]] = ...) -> None: ...

class Tenure(_message.Message):
    __slots__ = ("start", "end", "promotion", "rollback")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    promotion: str
    rollback: bool
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., promotion: _Optional[str] = ..., rollback: _Optional[bool] = ...) -> None: ...

class HolderRecord(_message.Message):
    __slots__ = ("version", "tenures", "series", "evaluation")
    class EvaluationEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TENURES_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    version: str
    tenures: _containers.RepeatedCompositeFieldContainer[Tenure]
    series: _containers.RepeatedCompositeFieldContainer[ProductionSeries]
    evaluation: _containers.ScalarMap[str, float]
    def __init__(self, version: _Optional[str] = ..., tenures: _Optional[_Iterable[_Union[Tenure, _Mapping]]] = ..., series: _Optional[_Iterable[_Union[ProductionSeries, _Mapping]]] = ..., evaluation: _Optional[_Mapping[str, float]] = ...) -> None: ...

class GetProductionRecordRequest(_message.Message):
    __slots__ = ("model", "stage", "keys", "segment", "since", "until", "version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    segment: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    version: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., segment: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[str] = ...) -> None: ...

class ProductionRecord(_message.Message):
    __slots__ = ("model", "stage", "holders")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    holders: _containers.RepeatedCompositeFieldContainer[HolderRecord]
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., holders: _Optional[_Iterable[_Union[HolderRecord, _Mapping]]] = ...) -> None: ...

class Histogram(_message.Message):
    __slots__ = ("edges", "counts")
    EDGES_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    edges: _containers.RepeatedScalarFieldContainer[float]
    counts: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, edges: _Optional[_Iterable[float]] = ..., counts: _Optional[_Iterable[float]] = ...) -> None: ...

class Categories(_message.Message):
    __slots__ = ("counts",)
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.ScalarMap[str, float]
    def __init__(self, counts: _Optional[_Mapping[str, float]] = ...) -> None: ...

class FeatureStatistics(_message.Message):
    __slots__ = ("feature", "histogram", "categories")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    feature: str
    histogram: Histogram
    categories: Categories
    def __init__(self, feature: _Optional[str] = ..., histogram: _Optional[_Union[Histogram, _Mapping]] = ..., categories: _Optional[_Union[Categories, _Mapping]] = ...) -> None: ...

class LogInputStatisticsRequest(_message.Message):
    __slots__ = ("model", "stage", "window_end", "segment", "features", "request_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    window_end: _timestamp_pb2.Timestamp
    segment: str
    features: _containers.RepeatedCompositeFieldContainer[FeatureStatistics]
    request_id: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., segment: _Optional[str] = ..., features: _Optional[_Iterable[_Union[FeatureStatistics, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class FeatureDrift(_message.Message):
    __slots__ = ("feature", "psi", "ks", "no_reference")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    PSI_FIELD_NUMBER: _ClassVar[int]
    KS_FIELD_NUMBER: _ClassVar[int]
    NO_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    feature: str
    psi: float
    ks: float
    no_reference: bool
    def __init__(self, feature: _Optional[str] = ..., psi: _Optional[float] = ..., ks: _Optional[float] = ..., no_reference: _Optional[bool] = ...) -> None: ...

class WindowDrift(_message.Message):
    __slots__ = ("window_end", "segment", "version", "features", "max_psi", "max_ks")
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    MAX_PSI_FIELD_NUMBER: _ClassVar[int]
    MAX_KS_FIELD_NUMBER: _ClassVar[int]
    window_end: _timestamp_pb2.Timestamp
    segment: str
    version: str
    features: _containers.RepeatedCompositeFieldContainer[FeatureDrift]
    max_psi: float
    max_ks: float
    def __init__(self, window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., segment: _Optional[str] = ..., version: _Optional[str] = ..., features: _Optional[_Iterable[_Union[FeatureDrift, _Mapping]]] = ..., max_psi: _Optional[float] = ..., max_ks: _Optional[float] = ...) -> None: ...

class LogInputStatisticsResponse(_message.Message):
    __slots__ = ("drift", "changed")
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    drift: WindowDrift
    changed: _containers.RepeatedCompositeFieldContainer[MonitorState]
    def __init__(self, drift: _Optional[_Union[WindowDrift, _Mapping]] = ..., changed: _Optional[_Iterable[_Union[MonitorState, _Mapping]]] = ...) -> None: ...

class InputsLogged(_message.Message):
    __slots__ = ("stage", "window_end", "segment", "version", "max_psi", "max_ks", "worst_feature", "features")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_PSI_FIELD_NUMBER: _ClassVar[int]
    MAX_KS_FIELD_NUMBER: _ClassVar[int]
    WORST_FEATURE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    stage: str
    window_end: _timestamp_pb2.Timestamp
    segment: str
    version: str
    max_psi: float
    max_ks: float
    worst_feature: str
    features: int
    def __init__(self, stage: _Optional[str] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., segment: _Optional[str] = ..., version: _Optional[str] = ..., max_psi: _Optional[float] = ..., max_ks: _Optional[float] = ..., worst_feature: _Optional[str] = ..., features: _Optional[int] = ...) -> None: ...

class SetReferenceStatisticsRequest(_message.Message):
    __slots__ = ("version", "features")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    version: str
    features: _containers.RepeatedCompositeFieldContainer[FeatureStatistics]
    def __init__(self, version: _Optional[str] = ..., features: _Optional[_Iterable[_Union[FeatureStatistics, _Mapping]]] = ...) -> None: ...

class SetReferenceStatisticsResponse(_message.Message):
    __slots__ = ("features",)
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    features: int
    def __init__(self, features: _Optional[int] = ...) -> None: ...

class GetInputDriftRequest(_message.Message):
    __slots__ = ("model", "stage", "version", "since", "until", "segment", "last_windows")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    LAST_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    version: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    segment: str
    last_windows: int
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., version: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., segment: _Optional[str] = ..., last_windows: _Optional[int] = ...) -> None: ...

class InputDriftReport(_message.Message):
    __slots__ = ("windows",)
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    windows: _containers.RepeatedCompositeFieldContainer[WindowDrift]
    def __init__(self, windows: _Optional[_Iterable[_Union[WindowDrift, _Mapping]]] = ...) -> None: ...

class MonitorFinding(_message.Message):
    __slots__ = ("rule", "subject", "observed", "threshold", "breached", "windows_in_breach")
    RULE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_IN_BREACH_FIELD_NUMBER: _ClassVar[int]
    rule: str
    subject: str
    observed: float
    threshold: float
    breached: bool
    windows_in_breach: int
    def __init__(self, rule: _Optional[str] = ..., subject: _Optional[str] = ..., observed: _Optional[float] = ..., threshold: _Optional[float] = ..., breached: _Optional[bool] = ..., windows_in_breach: _Optional[int] = ...) -> None: ...

class MonitorState(_message.Message):
    __slots__ = ("model", "stage", "version", "breached", "since", "revision", "findings", "candidate", "auto_rollback")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    AUTO_ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    version: str
    breached: bool
    since: _timestamp_pb2.Timestamp
    revision: int
    findings: _containers.RepeatedCompositeFieldContainer[MonitorFinding]
    candidate: RollbackCandidate
    auto_rollback: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., version: _Optional[str] = ..., breached: _Optional[bool] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., findings: _Optional[_Iterable[_Union[MonitorFinding, _Mapping]]] = ..., candidate: _Optional[_Union[RollbackCandidate, _Mapping]] = ..., auto_rollback: _Optional[str] = ...) -> None: ...

class ListMonitorStatesRequest(_message.Message):
    __slots__ = ("model", "breached_only")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BREACHED_ONLY_FIELD_NUMBER: _ClassVar[int]
    model: str
    breached_only: bool
    def __init__(self, model: _Optional[str] = ..., breached_only: _Optional[bool] = ...) -> None: ...

class ListMonitorStatesResponse(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedCompositeFieldContainer[MonitorState]
    def __init__(self, states: _Optional[_Iterable[_Union[MonitorState, _Mapping]]] = ...) -> None: ...

class RankedHolder(_message.Message):
    __slots__ = ("version", "basis", "key", "value", "tenures")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TENURES_FIELD_NUMBER: _ClassVar[int]
    version: str
    basis: CandidateBasis
    key: str
    value: float
    tenures: _containers.RepeatedCompositeFieldContainer[Tenure]
    def __init__(self, version: _Optional[str] = ..., basis: _Optional[_Union[CandidateBasis, str]] = ..., key: _Optional[str] = ..., value: _Optional[float] = ..., tenures: _Optional[_Iterable[_Union[Tenure, _Mapping]]] = ...) -> None: ...

class GetRollbackCandidateRequest(_message.Message):
    __slots__ = ("model", "stage", "key")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    key: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class RollbackCandidate(_message.Message):
    __slots__ = ("model", "stage", "holder", "version", "ranking", "rollback_brings_back", "summary")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RANKING_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_BRINGS_BACK_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    model: str
    stage: str
    holder: str
    version: str
    ranking: _containers.RepeatedCompositeFieldContainer[RankedHolder]
    rollback_brings_back: str
    summary: str
    def __init__(self, model: _Optional[str] = ..., stage: _Optional[str] = ..., holder: _Optional[str] = ..., version: _Optional[str] = ..., ranking: _Optional[_Iterable[_Union[RankedHolder, _Mapping]]] = ..., rollback_brings_back: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...
