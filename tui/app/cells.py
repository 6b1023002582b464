"""Text for table cells and labels: registry values formatted, coloured from the theme's variables.

Tables take Rich text, which cannot name theme variables, so colours are looked up in
the running theme (`App.theme_variables`) here; no colour is ever written in code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from studbook.cli.output import enum_label, format_number, format_size
from studbook.client.safe_text import safe
from textual.color import Color, ColorParseError

if TYPE_CHECKING:
    from studbook.v1 import resources_pb2

# Meaning -> theme variable.
ROLES = {
    "good": "text-success",
    "bad": "text-error",
    "warn": "text-warning",
    "accent": "text-primary",
    "secondary": "text-secondary",
}


# Version status -> meaning. Built on first use: the generated enums are loaded with the client,
# after the first frame, and the models screen's cells do not need them.
@cache
def status_roles() -> dict[int, str | None]:
    from studbook.v1 import resources_pb2

    return {
        resources_pb2.VERSION_STATUS_READY: None,
        resources_pb2.VERSION_STATUS_REGISTERING: "accent",
        resources_pb2.VERSION_STATUS_FAILED: "bad",
        resources_pb2.VERSION_STATUS_QUARANTINED: "bad",
        resources_pb2.VERSION_STATUS_MISSING: "warn",
        resources_pb2.VERSION_STATUS_MODIFIED: "warn",
        resources_pb2.VERSION_STATUS_ARCHIVED: "muted",
        resources_pb2.VERSION_STATUS_CORRUPT: "bad",
    }


class ThemeText:
    """Makes Rich text in the colours of the current theme."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.styles: dict[str, Style] = {"muted": Style(dim=True), "bold": Style(bold=True)}
        for role, variable in ROLES.items():
            try:
                self.styles[role] = Style(color=Color.parse(variables[variable]).rich_color)
            except (KeyError, ColorParseError):
                self.styles[role] = Style()

    def __call__(self, text: str, role: str | None = None) -> Text:
        # Text(...) never reads markup, so names and user text cannot inject styles; safe()
        # keeps control and invisible characters they may hold from reaching the terminal.
        return Text(safe(text), style=self.styles.get(role or "", "") or "", no_wrap=True)


def number(name: str) -> str:
    """`models/m/versions/3` -> `v3`; "" stays ""."""
    return f"v{name.rsplit('/', 1)[-1]}" if name else ""


def model_id(name: str) -> str:
    return name.removeprefix("models/")


def holders(mapping: Mapping[str, str], order: Sequence[str] = ()) -> str:
    """`production=v2 staging=v3`, in the model's stage order first."""
    keys = [k for k in order if k in mapping] + sorted(k for k in mapping if k not in order)
    return " ".join(f"{k}={number(mapping[k])}" for k in keys)


def status(version: resources_pb2.ModelVersion) -> str:
    from studbook.v1 import resources_pb2

    return enum_label(resources_pb2.VersionStatus, version.status)


def status_cell(version: resources_pb2.ModelVersion, paint: ThemeText) -> Text:
    return paint(status(version), status_roles().get(version.status))


def metric_label(metric: resources_pb2.Metric) -> str:
    return f"{metric.key}[{metric.split}]" if metric.split else metric.key


def latest_metrics(metrics: Iterable[resources_pb2.Metric]) -> dict[str, float]:
    """Scalar metrics by key; a split-qualified key (`auc[test]`) when the same key has several splits."""
    found: dict[str, float] = {}
    for metric in metrics:
        if metric.HasField("step"):
            continue
        found.setdefault(metric.key, metric.value)
        found[metric_label(metric)] = metric.value
    return found


def key_metric(metrics: Iterable[resources_pb2.Metric], preferred: Sequence[str]) -> str:
    """`auc 0.936`: the first preferred metric present, else the first metric; "" when none."""
    values = latest_metrics(metrics)
    for key in [*preferred, *values]:
        if key in values:
            return f"{key} {format_number(values[key])}"
    return ""


def formats(version: resources_pb2.ModelVersion) -> str:
    """Formats of the version's files (empty in summary listings, which leave files out)."""
    seen = dict.fromkeys(f.format for f in version.files if f.format)
    return ",".join(seen)


def size(value: int) -> str:
    return format_size(value) if value else ""


def value(number_: float | None) -> str:
    return "" if number_ is None else format_number(number_)
