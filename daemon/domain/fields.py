"""The fields List filters and order_by may name, per resource, with their types."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from studbook.daemon.domain.model import ChangeKind, ModelState, PromotionState, VersionStatus


class FieldKind(str, Enum):
    """How a field's values compare; the filter binder and the SQL compiler switch on it."""

    STRING = "string"
    # A resource name (`models/m/versions/3`); literals may leave out the `models/` prefix.
    NAME = "name"
    INT = "int"
    TIMESTAMP = "timestamp"
    # Stored lower-case; literals match case-insensitively.
    ENUM = "enum"
    # MAJOR.MINOR.PATCH; compared through its numeric key, not as text.
    SEMVER = "semver"
    # `tags.KEY`, `params.KEY`: string values under user keys.
    STRING_MAP = "string_map"
    # `metrics.KEY`: the latest value of KEY in any split.
    METRICS = "metrics"
    # `stage`, `alias`, `dataset`: the resource belongs to a set of named things.
    MEMBERSHIP = "membership"


@dataclass(frozen=True)
class FieldSpec:
    """One field a filter or order_by can name."""

    name: str
    kind: FieldKind
    # Allowed values of an ENUM, lower case.
    values: tuple[str, ...] = ()
    sortable: bool = True
    # Stage and alias names are lower case by rule, so literals are folded.
    fold_case: bool = False

    @property
    def keyed(self) -> bool:
        """Whether the field is a map that takes a key: `tags.team`."""
        return self.kind in (FieldKind.STRING_MAP, FieldKind.METRICS)

    @property
    def display(self) -> str:
        return f"{self.name}.KEY" if self.keyed else self.name


@dataclass(frozen=True)
class FieldRef:
    """A field path resolved against a field set: the spec and, for maps, the key."""

    spec: FieldSpec
    key: str | None = None


class FieldPathError(ValueError):
    """A field path that names nothing; `hint` says what would."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class FieldSet:
    """The fields of one resource kind, by name."""

    resource: str
    specs: tuple[FieldSpec, ...]

    def get(self, name: str) -> FieldSpec | None:
        for spec in self.specs:
            if spec.name == name:
                return spec
        return None

    def names(self, *, sortable: bool = False) -> list[str]:
        """Display names (`tags.KEY`) in alphabetical order, for error messages and help."""
        return sorted(spec.display for spec in self.specs if spec.sortable or not sortable)

    def resolve(self, path: str, *, sortable: bool = False) -> FieldRef:
        """`tags.team` -> (tags, "team"); the key is everything after the first dot.

        Keys of maps may themselves contain dots (`tags.k8s.io`), so only the root is
        split off. A keyed field named without a key resolves with key None: `metrics:auc`
        tests a key by name, and the callers decide whether a bare map is allowed.
        `sortable` narrows the list of fields an error message offers.
        """
        exact = self.get(path)
        if exact is not None:
            # Dotted names of their own (`format.parameters`) win over a map key.
            return FieldRef(exact)
        root, dot, key = path.partition(".")
        spec = self.get(root)
        if spec is None:
            raise FieldPathError(
                f"unknown {self.resource} field '{_clip(path)}'",
                f"{'sortable' if sortable else 'valid'} fields: {', '.join(self.names(sortable=sortable))}",
            )
        if not dot:
            return FieldRef(spec)
        if not spec.keyed:
            dotted = sorted(s.name for s in self.specs if s.name.startswith(root + "."))
            if dotted:
                raise FieldPathError(
                    f"unknown {self.resource} field '{_clip(path)}'", f"'{root}.' fields: {', '.join(dotted)}"
                )
            raise FieldPathError(f"'{root}' has no sub-fields, so '{_clip(path)}' names nothing")
        if not key:
            raise FieldPathError(f"'{root}' needs a key after the dot", f"e.g. {root}.name")
        return FieldRef(spec, key)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _enum(name: str, values: type[Enum]) -> FieldSpec:
    return FieldSpec(name, FieldKind.ENUM, values=tuple(str(member.value) for member in values))


VERSION_FIELDS = FieldSet(
    "version",
    (
        FieldSpec("name", FieldKind.NAME),
        FieldSpec("model", FieldKind.STRING),
        FieldSpec("number", FieldKind.INT),
        FieldSpec("semver", FieldKind.SEMVER),
        _enum("change_kind", ChangeKind),
        _enum("status", VersionStatus),
        # Why the version has its status ("archived by retention: ...", "deleted through the MLflow API ...").
        FieldSpec("status_reason", FieldKind.STRING),
        FieldSpec("description", FieldKind.STRING),
        FieldSpec("created_by", FieldKind.STRING),
        FieldSpec("created_from", FieldKind.STRING),
        FieldSpec("format", FieldKind.STRING),
        FieldSpec("storage_uri", FieldKind.STRING),
        FieldSpec("content_digest", FieldKind.STRING),
        # The external id of the run that produced the version ("" when none is recorded).
        FieldSpec("run_id", FieldKind.STRING, sortable=False),
        FieldSpec("total_size", FieldKind.INT),
        FieldSpec("create_time", FieldKind.TIMESTAMP),
        FieldSpec("update_time", FieldKind.TIMESTAMP),
        FieldSpec("tags", FieldKind.STRING_MAP),
        FieldSpec("params", FieldKind.STRING_MAP),
        FieldSpec("metrics", FieldKind.METRICS),
        FieldSpec("stage", FieldKind.MEMBERSHIP, sortable=False, fold_case=True),
        FieldSpec("alias", FieldKind.MEMBERSHIP, sortable=False, fold_case=True),
        FieldSpec("dataset", FieldKind.MEMBERSHIP, sortable=False),
        # The version's format record (see domain.format_info).
        FieldSpec("format.format", FieldKind.STRING),
        FieldSpec("format.parameters", FieldKind.INT),
        FieldSpec("format.architecture", FieldKind.STRING),
        FieldSpec("format.framework", FieldKind.STRING),
        # Any of the version's element types, case-insensitive: format.dtype = "BF16".
        FieldSpec("format.dtype", FieldKind.MEMBERSHIP, sortable=False),
    ),
)

MODEL_FIELDS = FieldSet(
    "model",
    (
        FieldSpec("name", FieldKind.NAME),
        FieldSpec("description", FieldKind.STRING),
        FieldSpec("owner", FieldKind.STRING),
        _enum("state", ModelState),
        FieldSpec("tags", FieldKind.STRING_MAP),
        FieldSpec("create_time", FieldKind.TIMESTAMP),
        FieldSpec("update_time", FieldKind.TIMESTAMP),
    ),
)

# Promotions filter on their state only, for now: `state = PENDING_APPROVAL`.
PROMOTION_FIELDS = FieldSet("promotion", (_enum("state", PromotionState),))
