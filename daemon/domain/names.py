"""Resource names and the rules for model ids, tags and other user-given strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.model import Environment, TrainingConfig

MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Stage and alias names share the model-id alphabet but may not be all digits,
# so `versions/3` always means version number 3.
LABEL = re.compile(r"[a-z][a-z0-9._-]{0,63}")
TAG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}")
METRIC_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/@-]{0,127}")

MAX_TAGS = 64
MAX_TAG_VALUE = 1024
MAX_PARAMS = 1024
MAX_PARAM_VALUE = 8192
MAX_METRICS_PER_CALL = 10_000
MAX_DESCRIPTION = 16_384
MAX_MODEL_CARD = 1_048_576
# An environment is as big as a `pip freeze`: as many packages and requirement lines as a
# version may have params, a package's version as long as a tag value, a line as a param.
MAX_PACKAGES = MAX_PARAMS
MAX_REQUIREMENTS = MAX_PARAMS
# As many training datasets as a version may list in `datasets`.
MAX_DATA_VERSIONS = 256
# `latest` and the wildcard are never stage or alias names.
RESERVED_LABELS = frozenset({"latest", "-"})


def validate_model_id(model_id: str, field: str = "model") -> str:
    if not MODEL_ID.fullmatch(model_id):
        raise InvalidArgument(
            f"invalid model name {model_id!r}: use 1-64 characters a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
            reason="INVALID_NAME",
            field=field,
            value=model_id[:100],
        )
    return model_id


def validate_label(label: str, field: str = "stage") -> str:
    if not LABEL.fullmatch(label) or label in RESERVED_LABELS:
        raise InvalidArgument(
            f"invalid {field} name {label!r}: use 1-64 characters a-z, 0-9, '.', '_' or '-', "
            "starting with a letter; 'latest' is reserved",
            reason="INVALID_NAME",
            field=field,
            value=label[:100],
        )
    return label


def model_name(model_id: str) -> str:
    return f"models/{model_id}"


def version_name(model_id: str, number: int) -> str:
    return f"models/{model_id}/versions/{number}"


def parse_model_name(name: str, field: str = "name") -> str:
    """`models/{model}` -> model id."""
    parts = name.split("/")
    if len(parts) != 2 or parts[0] != "models":
        raise InvalidArgument(
            f"{field} must look like models/{{model}}, got {name[:200]!r}",
            reason="INVALID_NAME",
            field=field,
        )
    return validate_model_id(parts[1], field)


@dataclass(frozen=True)
class VersionRef:
    """A parsed `models/{model}/versions/{ref}`: a number, `latest`, a stage or an alias."""

    model: str
    number: int | None = None
    label: str | None = None

    @property
    def is_latest(self) -> bool:
        return self.label == "latest"


def parse_version_name(name: str, field: str = "name") -> VersionRef:
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "models" or parts[2] != "versions" or not parts[3]:
        raise InvalidArgument(
            f"{field} must look like models/{{model}}/versions/{{number|stage|alias|latest}}, got {name[:200]!r}",
            reason="INVALID_NAME",
            field=field,
        )
    model = validate_model_id(parts[1], field)
    ref = parts[3]
    if ref.isdigit():
        number = int(ref)
        if number < 1 or number > 2**62:
            raise InvalidArgument(
                f"version number must be a positive integer, got {ref[:30]}",
                reason="INVALID_NAME",
                field=field,
            )
        return VersionRef(model, number=number)
    if ref == "latest":
        return VersionRef(model, label="latest")
    return VersionRef(model, label=validate_label(ref, field))


def validate_tags(tags: dict[str, str], field: str = "tags") -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise InvalidArgument(
            f"too many {field}: {len(tags)} (at most {MAX_TAGS})", reason="TOO_MANY_TAGS", field=field
        )
    for key, value in tags.items():
        if not TAG_KEY.fullmatch(key):
            raise InvalidArgument(
                f"invalid tag key {key[:100]!r}: start with a letter or '_', then letters, digits or _.:/-",
                reason="INVALID_TAG",
                field=field,
                key=key[:100],
            )
        _check_text(value, MAX_TAG_VALUE, f"{field}.{key}")
    return tags


def validate_params(params: dict[str, str]) -> dict[str, str]:
    if len(params) > MAX_PARAMS:
        raise InvalidArgument(
            f"too many params: {len(params)} (at most {MAX_PARAMS})", reason="TOO_MANY_PARAMS", field="params"
        )
    for key, value in params.items():
        if not METRIC_KEY.fullmatch(key):
            raise InvalidArgument(
                f"invalid param key {key[:100]!r}", reason="INVALID_PARAM", field="params", key=key[:100]
            )
        _check_text(value, MAX_PARAM_VALUE, f"params.{key}")
    return params


def validate_environment(environment: Environment) -> Environment:
    """Bounds on what a version says it was built with, whoever reports it (API or manifest)."""
    _check_text(environment.python_version, 64, "environment.python_version")
    _check_text(environment.platform, 256, "environment.platform")
    _check_count(len(environment.packages), MAX_PACKAGES, "environment.packages")
    for name, version in environment.packages.items():
        if not 1 <= len(name) <= 256:
            raise InvalidArgument(f"package name {name[:100]!r} must be 1-256 characters", reason="INVALID_PACKAGE",
                                  field="environment.packages")  # fmt: skip
        _check_text(version, MAX_TAG_VALUE, f"environment.packages.{name}")
    _check_count(len(environment.requirements), MAX_REQUIREMENTS, "environment.requirements")
    for line in environment.requirements:
        _check_text(line, MAX_PARAM_VALUE, "environment.requirements")
    return environment


def validate_training(training: TrainingConfig) -> TrainingConfig:
    _check_text(training.code_commit, 256, "training.code_commit")
    _check_text(training.entry_point, 1024, "training.entry_point")
    _check_count(len(training.data_versions), MAX_DATA_VERSIONS, "training.data_versions")
    for name, version in training.data_versions.items():
        if not 1 <= len(name) <= 256 or "/" in name or "@" in name:
            raise InvalidArgument(f"invalid dataset name {name[:100]!r}: 1-256 characters without '/' or '@'",
                                  reason="INVALID_DATASET", field="training.data_versions")  # fmt: skip
        _check_text(version, 256, f"training.data_versions.{name}")
    return training


def _check_count(count: int, limit: int, field: str) -> None:
    if count > limit:
        raise InvalidArgument(f"too many {field}: {count} (at most {limit})", reason="TOO_MANY_VALUES", field=field)


def validate_metric_key(key: str) -> str:
    if not METRIC_KEY.fullmatch(key):
        raise InvalidArgument(
            f"invalid metric key {key[:100]!r}: start with a letter or '_', then letters, digits or _.:/@-",
            reason="INVALID_METRIC",
            field="metrics.key",
            key=key[:100],
        )
    return key


def validate_text(value: str, limit: int, field: str) -> str:
    _check_text(value, limit, field)
    return value


def _check_text(value: str, limit: int, field: str) -> None:
    if len(value) > limit:
        raise InvalidArgument(
            f"{field} is too long: {len(value)} characters (at most {limit})",
            reason="VALUE_TOO_LONG",
            field=field,
        )
    if "\x00" in value:
        raise InvalidArgument(f"{field} contains a NUL character", reason="INVALID_TEXT", field=field)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgument(f"{field} is not valid Unicode text", reason="INVALID_TEXT", field=field) from None
