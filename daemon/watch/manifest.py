"""The optional `studbook.json` of a version folder: what the drop declares about itself.

    {
      "description": "fraud model retrained on March data",
      "semver": "2.1.0",              "change_kind": "data",   // schema|data|tuning|initial
      "tags": {"team": "risk"},       "params": {"lr": 0.01, "depth": 8},
      "metrics": {"auc": 0.93}        // or [{"key": "auc", "value": 0.93, "step": 3, "split": "test"}]
      "model_card": "# Fraud ...",
      "datasets": [{"name": "transactions", "version": "2026-03", "uri": "s3://..."}],
      "run": {"run_id": "r-42", "code_commit": "abc123", "entry_point": "train.py"},
      "parents": [{"version": "models/base/versions/3", "relation": "fine_tuned_from"}],
      "environment": {"python_version": "3.12.3", "platform": "Linux-6.8-x86_64",
                      "packages": {"torch": "2.3.0"}, "requirements": ["torch==2.3.0"]},
      "training": {"seed": 42, "data_versions": {"transactions": "2026-03"},
                   "code_commit": "abc123", "code_dirty": false, "entry_point": "train.py"},
      "files": [{"path": "model.safetensors", "size": 123, "sha256": "..."}],
      "reference_statistics": {"features": [          // the training data: input drift's reference
          {"feature": "age", "edges": [0, 18, 30, 50, 120], "counts": [10, 40, 30, 20]},
          {"feature": "country", "categories": {"de": 12, "fr": 8}}]}
    }

Every field is optional. The manifest is written last: a drop whose manifest lists files
is complete once every listed file has the listed size and sha256. Anything wrong is
reported with the line, column and field, so the user can fix it in one go.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from studbook.daemon.domain.drift import (
    MAX_FEATURE_NAME,
    MAX_FEATURES,
    FeatureStats,
    categories,
    histogram,
    validate_feature_name,
    validate_features,
)
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.model import ChangeKind, Dataset, Environment, Metric, Run, TrainingConfig
from studbook.daemon.domain.names import (
    MAX_DATA_VERSIONS,
    MAX_DESCRIPTION,
    MAX_MODEL_CARD,
    MAX_PACKAGES,
    MAX_PARAM_VALUE,
    MAX_REQUIREMENTS,
    MAX_TAG_VALUE,
    validate_metric_key,
    validate_params,
    validate_tags,
    validate_text,
)
from studbook.daemon.domain.semver import SemVer
from studbook.daemon.watch import jsonpos
from studbook.daemon.watch.jsonpos import JsonPath, Position
from studbook.daemon.watch.layout import MANIFEST

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_LISTED_FILES = 100_000
_INT64 = (-(2**63), 2**63 - 1)
_MAX_SHOWN_KEY = 100
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The semantic-versioning words users reach for, mapped to the kinds of change.
_CHANGE_KINDS = {
    **{kind.value: kind for kind in ChangeKind},
    "major": ChangeKind.SCHEMA,
    "minor": ChangeKind.DATA,
    "patch": ChangeKind.TUNING,
}
_RELATIONS = ("fine_tuned_from", "distilled_from", "quantized_from", "derived_from")
_FIELDS = (
    "schema", "description", "semver", "change_kind", "tags", "params", "metrics", "model_card",
    "datasets", "run", "parents", "parent", "environment", "training", "files", "reference_statistics",
)  # fmt: skip
_ENVIRONMENT_FIELDS = ("python_version", "packages", "requirements", "platform")
_TRAINING_FIELDS = ("seed", "data_versions", "code_commit", "code_dirty", "entry_point")


class ManifestError(InvalidArgument):
    """The manifest cannot be used; metadata names the line, column and field."""

    reason = "INVALID_MANIFEST"


@dataclass(frozen=True)
class ListedFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ParentRef:
    """A parent version as written; resolved against the registry by the watcher."""

    version: str
    relation: str
    position: Position


@dataclass
class Manifest:
    description: str = ""
    semver: str = ""
    change_kind: ChangeKind | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    model_card: str = ""
    datasets: list[Dataset] = field(default_factory=list)
    run: Run | None = None
    parents: list[ParentRef] = field(default_factory=list)
    environment: Environment = field(default_factory=Environment)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    files: list[ListedFile] = field(default_factory=list)
    reference_statistics: list[FeatureStats] = field(default_factory=list)


def error_at(position: Position, field_name: str, message: str) -> ManifestError:
    return ManifestError(
        f"{MANIFEST} line {position.line}, column {position.column}: {message}",
        file=MANIFEST,
        line=position.line,
        column=position.column,
        field=field_name,
    )


def parse_manifest(data: bytes) -> Manifest:
    """Decode and check a manifest; raise ManifestError naming what is wrong and where."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"{MANIFEST} is {len(data)} bytes, more than the {MAX_MANIFEST_BYTES} allowed",
            file=MANIFEST, field="",
        )  # fmt: skip
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error_at(Position(line, column), "", "the file is not UTF-8 text") from None
    try:
        document = jsonpos.parse(text)
    except jsonpos.JsonSyntaxError as exc:
        raise error_at(exc.position, "", f"not valid JSON: {exc.message}") from None
    except ValueError:
        # Python refuses to convert integers with more digits than a set limit (a guard against
        # quadratic-time parsing); the decoder lets that through as a bare ValueError.
        limit = sys.get_int_max_str_digits()
        message = f"not valid JSON: a number has more than {limit} digits"
        raise error_at(_long_number_at(text, limit), "", message) from None
    return _Reader(document).read()


class _Reader:
    def __init__(self, document: jsonpos.Located) -> None:
        self.doc = document

    def fail(self, path: JsonPath, message: str, *, at_key: bool = False) -> ManifestError:
        position = self.doc.key_at(path) if at_key else self.doc.value_at(path)
        return error_at(position, _dotted(path), message)

    @contextmanager
    def located(self, path: JsonPath) -> Iterator[None]:
        """Re-raise a domain validation error at the position of `path` (or of the key it names)."""
        try:
            yield
        except InvalidArgument as exc:
            key = exc.metadata.get("key")
            where = (*path, key) if key is not None and (*path, key) in self.doc.keys else path
            raise self.fail(where, exc.message, at_key=where != path) from None

    def read(self) -> Manifest:
        top = self.doc.value
        if not isinstance(top, dict):
            raise self.fail((), "the manifest must be a JSON object")
        for key in top:
            if key not in _FIELDS:
                raise self.fail((key,), f"unknown field {key[:100]!r}; known fields: {', '.join(_FIELDS)}",
                                at_key=True)  # fmt: skip
        manifest = Manifest()
        if "schema" in top and top["schema"] != 1:
            raise self.fail(("schema",), "schema must be 1, the only manifest format there is")
        manifest.description = self.text(("description",), MAX_DESCRIPTION)
        manifest.model_card = self.text(("model_card",), MAX_MODEL_CARD)
        manifest.semver = self.text(("semver",), 64)
        if manifest.semver:
            with self.located(("semver",)):
                SemVer.parse(manifest.semver)
        kind = self.text(("change_kind",), 32)
        if kind:
            if kind.lower() not in _CHANGE_KINDS:
                raise self.fail(("change_kind",), f"change_kind must be one of {', '.join(_CHANGE_KINDS)}")
            manifest.change_kind = _CHANGE_KINDS[kind.lower()]
        manifest.tags = self.tags()
        manifest.params = self.params()
        manifest.metrics = self.metrics()
        manifest.datasets = self.datasets()
        manifest.run = self.run()
        manifest.parents = self.parents()
        manifest.environment = self.environment()
        manifest.training = self.training()
        manifest.files = self.files()
        manifest.reference_statistics = self.reference_statistics()
        return manifest

    # -- typed access ----------------------------------------------------------------

    def get(self, path: JsonPath) -> Any:
        value: Any = self.doc.value
        for part in path:
            value = value[part]
        return value

    def has(self, path: JsonPath) -> bool:
        try:
            self.get(path)
        except (KeyError, IndexError, TypeError):
            return False
        return True

    def typed(self, path: JsonPath, kind: type | tuple[type, ...], what: str) -> Any:
        value = self.get(path)
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise self.fail(path, f"{_dotted(path)} must be {what}, got {_describe(value)}")
        return value

    def text(self, path: JsonPath, limit: int, *, required: bool = False) -> str:
        if not self.has(path):
            if required:
                raise self.fail(path[:-1], f"{_dotted(path)} is required")
            return ""
        value = self.typed(path, str, "a string")
        with self.located(path):
            validate_text(value, limit, _dotted(path))
        return value

    def number(self, path: JsonPath) -> float:
        value = self.typed(path, (int, float), "a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(path, f"{_dotted(path)} must be a finite number")
        return float(value)

    def integer(self, path: JsonPath, minimum: int = 0) -> int:
        value = self.typed(path, int, "an integer")
        if value < minimum:
            raise self.fail(path, f"{_dotted(path)} must be at least {minimum}")
        return value

    def boolean(self, path: JsonPath) -> bool:
        return bool(self.typed(path, bool, "true or false")) if self.has(path) else False

    def mapping(self, path: JsonPath) -> dict[str, Any]:
        return self.typed(path, dict, "an object") if self.has(path) else {}

    def items(self, path: JsonPath) -> list[Any]:
        return self.typed(path, list, "a list") if self.has(path) else []

    def string_map(self, path: JsonPath, limit: int, check_key: Callable[[JsonPath, str], None],
                   value_limit: int) -> dict[str, str]:  # fmt: skip
        """An object of names to strings (package -> version): at most `limit` entries."""
        given = self.mapping(path)
        if len(given) > limit:
            raise self.fail(path, f"{_dotted(path)} has {len(given)} entries, at most {limit}")
        for key in given:
            check_key(path, key)
            self.text((*path, key), value_limit)
        return dict(given)

    def name_key(self, path: JsonPath, key: str) -> None:
        """A key that names something: 1-256 characters of text, refused at the key itself."""
        where = (*path, key)
        if not key:
            raise self.fail(where, f"{_dotted(path)} has an empty name", at_key=True)
        try:
            validate_text(key, 256, f"a name in {_dotted(path)}")
        except InvalidArgument as exc:
            raise self.fail(where, exc.message, at_key=True) from None

    def dataset_key(self, path: JsonPath, key: str) -> None:
        """A dataset name, spelled as in `datasets`, so both read as one set of training data."""
        self.name_key(path, key)
        if "/" in key or "@" in key:
            raise self.fail((*path, key), f"{_dotted(path)} names datasets: 1-256 characters without '/' or '@'",
                            at_key=True)  # fmt: skip

    def known_keys(self, path: JsonPath, allowed: tuple[str, ...]) -> None:
        for key in self.get(path):
            if key not in allowed:
                raise self.fail((*path, key), f"unknown field {key[:100]!r} in {_dotted(path)}; "
                                f"known fields: {', '.join(allowed)}", at_key=True)  # fmt: skip

    # -- fields ----------------------------------------------------------------------

    def tags(self) -> dict[str, str]:
        tags = self.mapping(("tags",))
        for key in tags:
            self.typed(("tags", key), str, "a string")
        with self.located(("tags",)):
            validate_tags(tags, "tags")
        return dict(tags)

    def params(self) -> dict[str, str]:
        params = {}
        for key, value in self.mapping(("params",)).items():
            self.typed(("params", key), (str, int, float, bool), "a string, number or boolean")
            params[key] = value if isinstance(value, str) else json.dumps(value)
        with self.located(("params",)):
            validate_params(params)
        return params

    def metrics(self) -> list[Metric]:
        if not self.has(("metrics",)):
            return []
        given = self.typed(("metrics",), (dict, list), "an object or a list")
        metrics = []
        if isinstance(given, dict):
            for key in given:
                with self.located(("metrics", key)):
                    validate_metric_key(key)
                metrics.append(Metric(key, self.number(("metrics", key))))
            return metrics
        for index in range(len(given)):
            path: JsonPath = ("metrics", index)
            self.typed(path, dict, "an object with key and value")
            self.known_keys(path, ("key", "value", "step", "split"))
            key = self.text((*path, "key"), 128, required=True)
            with self.located((*path, "key")):
                validate_metric_key(key)
            if not self.has((*path, "value")):
                raise self.fail(path, f"{_dotted(path)}.value is required")
            step = self.integer((*path, "step")) if self.has((*path, "step")) else None
            split = self.text((*path, "split"), 64)
            metrics.append(Metric(key, self.number((*path, "value")), step=step, split=split))
        return metrics

    def datasets(self) -> list[Dataset]:
        datasets = []
        for index in range(len(self.items(("datasets",)))):
            path: JsonPath = ("datasets", index)
            self.typed(path, dict, "an object with a name")
            self.known_keys(path, ("name", "version", "uri"))
            name = self.text((*path, "name"), 256, required=True)
            if not name or "/" in name or "@" in name:
                raise self.fail((*path, "name"), "a dataset name is 1-256 characters without '/' or '@'")
            datasets.append(Dataset(name, self.text((*path, "version"), 256), self.text((*path, "uri"), 4096)))
        return datasets

    def run(self) -> Run | None:
        if not self.has(("run",)):
            return None
        self.typed(("run",), dict, "an object with a run_id")
        self.known_keys(("run",), ("run_id", "code_commit", "entry_point", "uri"))
        run_id = self.text(("run", "run_id"), 256, required=True)
        if not run_id or "/" in run_id:
            raise self.fail(("run", "run_id"), "run.run_id must be 1-256 characters without '/'")
        return Run(run_id, self.text(("run", "code_commit"), 256), self.text(("run", "entry_point"), 1024),
                   self.text(("run", "uri"), 4096))  # fmt: skip

    def parents(self) -> list[ParentRef]:
        parents = []
        if self.has(("parent",)):
            version = self.text(("parent",), 512)
            parents.append(ParentRef(version, "derived_from", self.doc.value_at(("parent",))))
        for index in range(len(self.items(("parents",)))):
            path: JsonPath = ("parents", index)
            if isinstance(self.get(path), str):
                parents.append(ParentRef(self.text(path, 512), "derived_from", self.doc.value_at(path)))
                continue
            self.typed(path, dict, "a version name or an object with a version")
            self.known_keys(path, ("version", "relation"))
            relation = self.text((*path, "relation"), 64) or "derived_from"
            if relation not in _RELATIONS:
                raise self.fail((*path, "relation"), f"relation must be one of {', '.join(_RELATIONS)}")
            version = self.text((*path, "version"), 512, required=True)
            parents.append(ParentRef(version, relation, self.doc.value_at((*path, "version"))))
        if len(parents) > 64:
            raise self.fail(("parents",), "at most 64 parent versions")
        return parents

    def environment(self) -> Environment:
        if not self.has(("environment",)):
            return Environment()
        self.typed(("environment",), dict, "an object")
        self.known_keys(("environment",), _ENVIRONMENT_FIELDS)
        path: JsonPath = ("environment", "requirements")
        lines = self.items(path)
        if len(lines) > MAX_REQUIREMENTS:
            raise self.fail(path, f"{_dotted(path)} has {len(lines)} lines, at most {MAX_REQUIREMENTS}")
        return Environment(
            python_version=self.text(("environment", "python_version"), 64),
            packages=self.string_map(("environment", "packages"), MAX_PACKAGES, self.name_key, MAX_TAG_VALUE),
            requirements=[self.text((*path, index), MAX_PARAM_VALUE) for index in range(len(lines))],
            platform=self.text(("environment", "platform"), 256),
        )

    def training(self) -> TrainingConfig:
        if not self.has(("training",)):
            return TrainingConfig()
        self.typed(("training",), dict, "an object")
        self.known_keys(("training",), _TRAINING_FIELDS)
        return TrainingConfig(
            seed=self.seed(("training", "seed")),
            data_versions=self.string_map(("training", "data_versions"), MAX_DATA_VERSIONS, self.dataset_key, 256),
            code_commit=self.text(("training", "code_commit"), 256),
            code_dirty=self.boolean(("training", "code_dirty")),
            entry_point=self.text(("training", "entry_point"), 1024),
        )

    def reference_statistics(self) -> list[FeatureStats]:
        """{"features": [...]}, each feature a histogram (edges, counts) or categories, as the API's."""
        top: JsonPath = ("reference_statistics",)
        if not self.has(top):
            return []
        self.typed(top, dict, 'an object with "features"')
        self.known_keys(top, ("features",))
        entries = self.items((*top, "features"))
        if len(entries) > MAX_FEATURES:
            raise self.fail((*top, "features"), f"at most {MAX_FEATURES} features, got {len(entries)}")
        found: list[FeatureStats] = []
        for index in range(len(entries)):
            path: JsonPath = (*top, "features", index)
            self.typed(path, dict, 'an object with "feature" and "edges"/"counts" or "categories"')
            self.known_keys(path, ("feature", "edges", "counts", "categories"))
            name = self.text((*path, "feature"), MAX_FEATURE_NAME, required=True)
            with self.located((*path, "feature")):
                validate_feature_name(name)
            if self.has((*path, "categories")):
                counts = {key: self.number((*path, "categories", key)) for key in self.mapping((*path, "categories"))}
                with self.located((*path, "categories")):
                    found.append(categories(name, counts))
            elif self.has((*path, "edges")) and self.has((*path, "counts")):
                edges = [self.number((*path, "edges", i)) for i in range(len(self.items((*path, "edges"))))]
                counts_ = [self.number((*path, "counts", i)) for i in range(len(self.items((*path, "counts"))))]
                with self.located(path):
                    found.append(histogram(name, edges, counts_))
            else:
                raise self.fail(path, f'{_dotted(path)} needs "edges" and "counts" (a histogram), or "categories"')
        with self.located((*top, "features")):
            validate_features(found, allow_empty=True)
        return found

    def seed(self, path: JsonPath) -> int | None:
        """An int64 like the API's seed; null says, as leaving it out does, that none was set."""
        if not self.has(path) or self.get(path) is None:
            return None
        value = self.integer(path, minimum=_INT64[0])
        if value > _INT64[1]:
            raise self.fail(path, f"{_dotted(path)} must fit in 64 bits (at most {_INT64[1]})")
        return int(value)

    def files(self) -> list[ListedFile]:
        listed: dict[str, ListedFile] = {}
        entries = self.items(("files",))
        if len(entries) > MAX_LISTED_FILES:
            raise self.fail(("files",), f"at most {MAX_LISTED_FILES} files may be listed")
        for index in range(len(entries)):
            path: JsonPath = ("files", index)
            self.typed(path, dict, "an object with path, size and sha256")
            self.known_keys(path, ("path", "size", "sha256"))
            name = self.text((*path, "path"), 4096, required=True)
            parts = name.split("/")
            if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise self.fail((*path, "path"), "a listed path is relative to the version folder, "
                                "'/'-separated, without '.', '..' or empty parts")  # fmt: skip
            if name == MANIFEST:
                raise self.fail((*path, "path"), f"{MANIFEST} cannot list itself")
            if name in listed:
                raise self.fail((*path, "path"), f"{name[:200]!r} is listed twice")
            for required in ("size", "sha256"):
                if not self.has((*path, required)):
                    raise self.fail(path, f"{_dotted(path)}.{required} is required")
            size = self.integer((*path, "size"))
            digest = self.text((*path, "sha256"), 64).lower()
            if not _SHA256.fullmatch(digest):
                raise self.fail((*path, "sha256"), "sha256 must be 64 hexadecimal digits")
            listed[name] = ListedFile(name, size, digest)
        return list(listed.values())


def _dotted(path: JsonPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        # Keys are the user's; a long one is cut so an error never carries it whole.
        name = part if len(part) <= _MAX_SHOWN_KEY else part[:_MAX_SHOWN_KEY] + "..."
        text += f".{name}" if text else name
    return text


def _long_number_at(text: str, limit: int) -> Position:
    found = re.search(rf"[0-9]{{{limit + 1},}}", text)
    if found is None:
        return Position(1, 1)
    start = found.start()
    return Position(text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _describe(value: Any) -> str:
    names: dict[type, str] = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
                              list: "a list", dict: "an object", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)
