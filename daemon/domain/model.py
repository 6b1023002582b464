"""Plain records of the registry's domain: models, versions and what they carry. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from studbook.daemon.domain.format_info import FormatInfo

DEFAULT_STAGES = ("development", "staging", "production")


class ModelState(str, Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class ChangeKind(str, Enum):
    INITIAL = "initial"
    SCHEMA = "schema"
    DATA = "data"
    TUNING = "tuning"


class VersionStatus(str, Enum):
    REGISTERING = "registering"
    READY = "ready"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    MISSING = "missing"
    MODIFIED = "modified"
    ARCHIVED = "archived"
    # A kept file's bytes in the artifact store no longer match its sha256, or are gone.
    CORRUPT = "corrupt"


class PromotionState(str, Enum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    APPLIED = "applied"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    VALIDATED = "validated"
    FAILED = "failed"


@dataclass
class Model:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    owner: str = ""
    stages: tuple[str, ...] = DEFAULT_STAGES
    state: ModelState = ModelState.ACTIVE
    create_time: datetime | None = None
    update_time: datetime | None = None
    # Revision of the last change to the model, its stages or aliases; the etag.
    revision: int = 0
    latest_version: int = 0
    version_count: int = 0
    stage_holders: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)

    def copy(self) -> Model:
        """An independent copy: the writer edits its own, readers keep theirs.

        Made without `replace`, which runs `fields()` and `__init__` again (12 µs of the 25 a
        model cost when start-up copied every one): every write a model takes copies it.
        """
        clone = object.__new__(Model)
        clone.__dict__.update(self.__dict__)
        clone.tags, clone.stage_holders, clone.aliases = dict(self.tags), dict(self.stage_holders), dict(self.aliases)
        return clone


@dataclass
class ModelRename:
    """The payload of a `model.renamed` event: the model under its new name, the old id, why."""

    previous: str
    model: Model
    reason: str = ""


@dataclass(frozen=True)
class ArtifactFile:
    path: str
    size: int
    sha256: str
    format: str = ""
    flags: tuple[str, ...] = ()
    # What the format reader learned about the file (empty when it read nothing).
    format_info: FormatInfo = field(default_factory=FormatInfo)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    step: int | None = None
    split: str = ""
    time: datetime | None = None


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str = ""
    shape: tuple[int, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.inputs and not self.outputs


@dataclass
class Environment:
    python_version: str = ""
    packages: dict[str, str] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    platform: str = ""


@dataclass
class TrainingConfig:
    seed: int | None = None
    data_versions: dict[str, str] = field(default_factory=dict)
    code_commit: str = ""
    code_dirty: bool = False
    entry_point: str = ""


@dataclass(frozen=True)
class Dataset:
    name: str
    version: str = ""
    uri: str = ""
    # Bytes of data, where the source says (a DVC dependency's size); None when unknown.
    size: int | None = None

    @property
    def node_name(self) -> str:
        return f"datasets/{self.name}@{self.version}" if self.version else f"datasets/{self.name}"


@dataclass(frozen=True)
class Run:
    run_id: str
    code_commit: str = ""
    entry_point: str = ""
    uri: str = ""


@dataclass(frozen=True)
class ParentLink:
    model: str
    number: int
    relation: str = "derived_from"


@dataclass
class ModelVersion:
    model: str
    number: int
    semver: str = ""
    change_kind: ChangeKind = ChangeKind.INITIAL
    status: VersionStatus = VersionStatus.READY
    status_reason: str = ""
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # Latest value per (key, split); the series is in the store.
    metrics: list[Metric] = field(default_factory=list)
    files: list[ArtifactFile] = field(default_factory=list)
    storage_uri: str = ""
    content_digest: str = ""
    signature: Signature = field(default_factory=Signature)
    environment: Environment = field(default_factory=Environment)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    model_card: str = ""
    datasets: list[Dataset] = field(default_factory=list)
    run: Run | None = None
    parents: list[ParentLink] = field(default_factory=list)
    created_by: str = ""
    created_from: str = ""
    request_id: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    revision: int = 0

    # Summaries of `files`, kept so table views can show them without the file list.
    total_size: int = 0
    file_count: int = 0
    format: str = ""
    # The summary of the files' format records and the folder they form.
    format_info: FormatInfo = field(default_factory=FormatInfo)
    # Every file's bytes are in the registry's artifact store (False: referenced, not kept).
    kept: bool = False

    def summarize_files(self) -> None:
        """Sets the summaries from `files`: their sizes, count, and the format of the largest."""
        self.total_size = sum(f.size for f in self.files)
        self.file_count = len(self.files)
        self.format = max(self.files, key=lambda f: f.size).format if self.files else ""

    def metric_map(self) -> dict[tuple[str, str], float]:
        return {(m.key, m.split): m.value for m in self.metrics}


@dataclass
class GateResult:
    gate: str
    passed: bool
    detail: str = ""


@dataclass
class Approval:
    actor: str
    comment: str = ""
    time: datetime | None = None


@dataclass
class Promotion:
    id: int
    model: str
    version: int
    target: str
    is_alias: bool
    state: PromotionState
    previous_version: int | None = None
    reason: str = ""
    actor: str = ""
    gate_results: list[GateResult] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    rollback: bool = False
    request_id: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    # Approvals a pending promotion waits for, fixed by the policy when it was asked for.
    required_approvals: int = 0


@dataclass(frozen=True)
class StageChange:
    model: str
    stage: str
    is_alias: bool
    version: int | None
    previous_version: int | None
    actor: str
    reason: str
    time: datetime
    promotion_id: int | None
    rollback: bool
    revision: int


@dataclass(frozen=True)
class Event:
    revision: int
    time: datetime
    type: str
    subject: str
    model: str
    actor: str
    # Serialized payload (a proto message's bytes), opaque to the domain.
    payload: bytes = b""
    # The actor's role when it acted (viewer ... admin); empty for events older than roles.
    role: str = ""


def latest_per_key(metrics: list[Metric]) -> list[Metric]:
    """The newest observation of each (key, split): the highest step, or the last given."""
    latest: dict[tuple[str, str], Metric] = {}
    for metric in metrics:
        current = latest.get((metric.key, metric.split))
        if current is None or _step(metric) >= _step(current):
            latest[(metric.key, metric.split)] = metric
    return sorted(latest.values(), key=lambda m: (m.key, m.split))


def _step(metric: Metric) -> int:
    return metric.step if metric.step is not None else -1
