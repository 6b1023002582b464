"""Turn what a user types (`fraud`, `fraud@production`, `fraud/3`, full names) into resource names.

Only the shape is checked here; the daemon validates model ids, stages and aliases and
says what is wrong with them, so the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

LATEST = "latest"
# Lineage accepts datasets and runs besides versions; their names pass through untouched.
LINEAGE_PREFIXES = ("datasets/", "runs/")


class InvalidName(ValueError):
    """Text that is not a model or version reference in any accepted spelling."""


@dataclass(frozen=True)
class Ref:
    """A model, or one of its versions by number, stage, alias or `latest`."""

    model: str
    version: str | None = None

    @property
    def is_version(self) -> bool:
        return self.version is not None

    @property
    def model_name(self) -> str:
        return f"models/{self.model}"

    @property
    def name(self) -> str:
        """`models/{model}` or `models/{model}/versions/{version}`."""
        if self.version is None:
            return self.model_name
        return f"{self.model_name}/versions/{self.version}"


def parse_ref(text: str) -> Ref:
    """Parse `m`, `models/m`, `m@v`, `m/v` or `models/m/versions/v` (v: number, stage, alias)."""
    parts = text.strip().split("/")
    if parts[0] == "models" and len(parts) in (2, 4):
        if len(parts) == 4 and parts[2] != "versions":
            raise InvalidName(_explain(text))
        parts = [parts[1], *parts[3:]]
    if len(parts) == 1 and "@" in parts[0]:
        parts = parts[0].split("@")
    if len(parts) > 2 or any(not part or "@" in part for part in parts):
        raise InvalidName(_explain(text))
    return Ref(*parts)


def model_name(model: str) -> str:
    """`fraud` or `models/fraud` -> `models/fraud`; `-` (every model) stays `models/-`."""
    ref = parse_ref(model)
    if ref.is_version:
        raise InvalidName(f"expected a model, got the version {text_of(ref)!r}")
    return ref.model_name


def version_name(model: str, version: str | int | None = None) -> str:
    """The version name for (`fraud`, `production`), (`fraud`, 3) or one reference such as
    `fraud@production`; a bare model means its latest version."""
    ref = parse_ref(model)
    if version is not None:
        if ref.is_version:
            raise InvalidName(f"{model!r} already names a version; pass the model alone")
        ref = parse_ref(f"{ref.model}@{version}")
    elif not ref.is_version:
        ref = Ref(ref.model, LATEST)
    return ref.name


def promotion_name(text: str) -> str:
    """`fraud/7` or `models/fraud/promotions/7` -> `models/fraud/promotions/7`."""
    parts = text.strip().split("/")
    if len(parts) == 4 and parts[0] == "models" and parts[2] == "promotions":
        parts = [parts[1], parts[3]]
    if len(parts) != 2 or not parts[0] or "@" in parts[0] or not parts[1].isdigit() or not parts[1].isascii():
        raise InvalidName(
            f"cannot read {text[:200]!r} as a promotion: use MODEL/NUMBER or models/MODEL/promotions/NUMBER"
        )
    return f"models/{parts[0]}/promotions/{int(parts[1])}"


def short_promotion(name: str) -> str:
    """`models/fraud/promotions/7` -> `fraud/7`, what users type; other text is returned unchanged."""
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "models" and parts[2] == "promotions":
        return f"{parts[1]}/{parts[3]}"
    return name


def lineage_node(text: str) -> str:
    """A lineage start node: `datasets/...` and `runs/...` as given, anything else a version."""
    stripped = text.strip()
    if stripped.startswith(LINEAGE_PREFIXES):
        return stripped
    return version_name(stripped)


def text_of(ref: Ref) -> str:
    """The short spelling users type: `fraud` or `fraud@3`."""
    return ref.model if ref.version is None else f"{ref.model}@{ref.version}"


def short_version(name: str) -> str:
    """`models/fraud/versions/3` -> `fraud@3`, for tables; other text is returned unchanged."""
    if not name.startswith("models/"):
        return name
    try:
        return text_of(parse_ref(name))
    except InvalidName:
        return name


def _explain(text: str) -> str:
    return (
        f"cannot read {text[:200]!r} as a model or version: use MODEL, MODEL@VERSION, "
        "MODEL/VERSION, models/MODEL or models/MODEL/versions/VERSION"
    )
