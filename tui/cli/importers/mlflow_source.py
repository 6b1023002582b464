"""What an MLflow registry holds, as the importer needs it, and the one interface every way of
reading it (a database, a tracking server, an export folder) offers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

# MLflow's stages; `None` is "no stage", and a deleted version is kept by some backends under
# a stage of its own, which the importer never shows.
STAGE_NONE = "None"
STAGE_ARCHIVED = "Archived"
STAGE_DELETED = "Deleted_Internal"


@dataclass(frozen=True)
class MetricPoint:
    """One logged value of a run's metric: MLflow keeps every one, with its step and time."""

    key: str
    value: float
    step: int
    timestamp_ms: int


@dataclass(frozen=True)
class SourceDataset:
    """A dataset MLflow recorded as an input of a run (`mlflow.log_input`)."""

    name: str
    digest: str = ""
    # Where it lives, as its source said (MLflow keeps the source as JSON: uri, url, path...).
    uri: str = ""


@dataclass
class SourceRun:
    """The MLflow run a version was logged by."""

    run_id: str
    name: str = ""
    user: str = ""
    status: str = ""
    start_ms: int = 0
    end_ms: int = 0
    artifact_uri: str = ""
    experiment_id: str = ""
    # MLflow's own columns for where the code came from (also in the `mlflow.source.*` tags).
    source_name: str = ""
    source_version: str = ""
    entry_point: str = ""
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[MetricPoint] = field(default_factory=list)
    datasets: list[SourceDataset] = field(default_factory=list)


@dataclass
class SourceVersion:
    """A registered model version, as MLflow keeps it."""

    model: str
    version: int
    creation_ms: int
    updated_ms: int = 0
    description: str = ""
    user_id: str = ""
    stage: str = STAGE_NONE
    # Where MLflow says the files are: `source` as registered, `storage_location` as resolved.
    source: str = ""
    storage_location: str = ""
    run_id: str = ""
    run_link: str = ""
    status: str = "READY"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """Stable across runs and across ways of reading one registry (its database or its server):
        the importer derives its request ids from it, so a second run registers nothing twice."""
        return f"mlflow:{self.model}:{self.version}:{self.creation_ms}"


@dataclass
class SourceModel:
    """A registered model with its versions, oldest first."""

    name: str
    creation_ms: int = 0
    updated_ms: int = 0
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    # alias -> version number
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[SourceVersion] = field(default_factory=list)


class SourceError(Exception):
    """The source cannot be read at all (missing file, refused connection, not an MLflow store):
    the message says what and what to do."""


class ArtifactsUnavailable(Exception):
    """One version's files cannot be fetched from here; the message says why."""


class Source(Protocol):
    """An MLflow registry, read-only."""

    # How the summary names the source, e.g. `sqlite:///mlflow.db`, never with a password.
    label: str

    def models(self) -> list[SourceModel]:
        """Every registered model, by name, with its tags, aliases and versions."""
        ...

    def run(self, run_id: str) -> SourceRun | None:
        """The run `run_id` with its params, tags and every metric point; None when MLflow lost it."""
        ...

    def fetch_artifacts(self, version: SourceVersion, scratch: Path) -> Path:
        """A local folder (or file) holding the version's files: where they already are, or a copy
        made under `scratch`. Raises ArtifactsUnavailable."""
        ...

    def close(self) -> None: ...


def open_source(spec: str) -> Source:
    """`sqlite:///mlflow.db`, `postgresql://...`, `http(s)://host:port` or an export folder."""
    scheme = spec.split(":", 1)[0].lower() if "://" in spec else ""
    if scheme.startswith("sqlite"):
        from studbook.cli.importers import mlflow_sql

        return mlflow_sql.SqliteSource(spec)
    if scheme.startswith(("postgresql", "postgres")):
        from studbook.cli.importers import mlflow_sql

        return mlflow_sql.PostgresSource(spec)
    if scheme in ("http", "https"):
        from studbook.cli.importers import mlflow_rest

        return mlflow_rest.RestSource(spec)
    if scheme in ("", "file"):
        from studbook.cli.importers import mlflow_export

        return mlflow_export.ExportSource(Path(local_path(spec) or spec))
    raise SourceError(
        f"cannot read an MLflow registry from {spec!r}: give a tracking server URL (http://host:port), "
        "a database (sqlite:///mlflow.db, postgresql://user@host/db) or a folder written by mlflow-export-import"
    )


def dataset_uri(source: str) -> str:
    """The location in a dataset source's JSON (`{"uri": ...}`, `{"url": ...}`, `{"path": ...}`); the
    text itself when it is no such JSON."""
    try:
        loaded = json.loads(source)
    except ValueError:
        return source
    if isinstance(loaded, dict):
        for key in ("uri", "url", "path", "table_name", "file_path"):
            if isinstance(loaded.get(key), str):
                return str(loaded[key])
    return source


def dataset_inputs(items: list[dict[str, object]] | None) -> list[SourceDataset]:
    """MLflow's REST shape of a run's dataset inputs (also what mlflow-export-import writes)."""
    found = []
    for item in items or []:
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if isinstance(dataset, dict) and dataset.get("name"):
            digest = str(dataset.get("digest") or "")
            if dataset.get("source_type") == "studbook":
                # studbook's export: the digest stands in for a version MLflow could not hold (none,
                # or longer than its 36 characters); the source keeps the version itself.
                digest = _studbook_version(str(dataset.get("source") or ""), digest)
            found.append(SourceDataset(str(dataset["name"]), digest, dataset_uri(str(dataset.get("source") or ""))))
    return found


def _studbook_version(source: str, digest: str) -> str:
    try:
        loaded = json.loads(source)
    except ValueError:
        return digest
    version = loaded.get("version", "") if isinstance(loaded, dict) else digest
    return version if isinstance(version, str) else digest


def local_path(uri: str) -> str | None:
    """The local path a `file:` URI or a plain absolute path names; None for anything remote."""
    if uri.startswith("/"):
        return uri
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return unquote(parsed.path)
    return None


def local_artifacts(version: SourceVersion, run: SourceRun | None) -> Path:
    """The version's files when they lie on this machine (a file store, or a path MLflow recorded);
    ArtifactsUnavailable naming the location otherwise."""
    location = resolve_location(version, run)
    path = local_path(location)
    if path is None:
        raise ArtifactsUnavailable(f"its files are at {location}, which this importer cannot read from here")
    if not Path(path).exists():
        raise ArtifactsUnavailable(f"its files are gone from {path}")
    return Path(path)


def resolve_location(version: SourceVersion, run: SourceRun | None) -> str:
    """Where the files are: `storage_location` when MLflow resolved it, `runs:/ID/path` made
    concrete by the run's artifact root, else `source` as registered."""
    location = version.storage_location or version.source
    if location.startswith("runs:/"):
        run_id, _, rest = location.removeprefix("runs:/").partition("/")
        if run is not None and run.run_id == run_id and run.artifact_uri:
            return f"{run.artifact_uri.rstrip('/')}/{rest}" if rest else run.artifact_uri
    return location
