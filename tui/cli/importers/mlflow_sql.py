"""An MLflow registry read straight from its database (MLflow's SQLAlchemy store): SQLite through
the standard library, PostgreSQL through psycopg. Read-only: nothing is ever written back.

The tables and columns are MLflow's own (mlflow/store/model_registry/dbmodels/models.py and
mlflow/store/tracking/dbmodels/models.py); columns that older schemas lack are read when present.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from studbook.cli.importers.mlflow_source import (
    STAGE_DELETED,
    MetricPoint,
    SourceDataset,
    SourceError,
    SourceModel,
    SourceRun,
    SourceVersion,
    dataset_uri,
    local_artifacts,
)

Row = Sequence[Any]

VERSION_COLUMNS = ("name", "version", "creation_time", "last_updated_time", "description", "user_id",
                   "current_stage", "source", "storage_location", "run_id", "run_link", "status")  # fmt: skip
RUN_COLUMNS = ("run_uuid", "name", "user_id", "status", "start_time", "end_time", "artifact_uri",
               "experiment_id", "source_name", "source_version", "entry_point_name")  # fmt: skip


class SqlSource:
    """What both databases share: the queries. A subclass opens the connection and says how
    its driver marks a parameter."""

    label = ""
    placeholder = "?"

    def __init__(self) -> None:
        self._connection: Any = None
        self._columns: dict[str, set[str]] = {}
        self._runs: dict[str, SourceRun | None] = {}

    def _rows(self, sql: str, *params: object) -> list[Row]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql.replace("?", self.placeholder), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _has(self, table: str, column: str) -> bool:
        if table not in self._columns:
            cursor = self._connection.cursor()
            try:
                cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")  # noqa: S608 - our own table names
                self._columns[table] = {d[0].lower() for d in cursor.description}
            finally:
                cursor.close()
        return column in self._columns[table]

    def _select(self, table: str, columns: Sequence[str]) -> str:
        """The columns the table has, NULL for the ones an older MLflow did not write yet."""
        return ", ".join(c if self._has(table, c) else "NULL" for c in columns)

    def _check_schema(self) -> None:
        try:
            self._has("registered_models", "name")
        except Exception as exc:  # each driver raises its own error for a missing table
            raise SourceError(
                f"{self.label} holds no MLflow model registry (no registered_models table): {exc}"
            ) from exc

    def models(self) -> list[SourceModel]:
        models = {
            name: SourceModel(name, creation_ms=int(created or 0), updated_ms=int(updated or 0), description=text or "")
            for name, created, updated, text in self._rows(
                "SELECT name, creation_time, last_updated_time, description FROM registered_models ORDER BY name"
            )
        }
        for name, key, value in self._rows("SELECT name, key, value FROM registered_model_tags"):
            if name in models:
                models[name].tags[key] = value or ""
        if self._has_table("registered_model_aliases"):
            for name, alias, number in self._rows("SELECT name, alias, version FROM registered_model_aliases"):
                if name in models:
                    models[name].aliases[alias] = int(number)
        versions: dict[tuple[str, int], SourceVersion] = {}
        query = f"SELECT {self._select('model_versions', VERSION_COLUMNS)} FROM model_versions ORDER BY name, version"  # noqa: S608
        for row in self._rows(query):
            name, number, created, updated, text, user, stage, source, location, run_id, link, status = row
            if name not in models or stage == STAGE_DELETED:
                continue
            version = SourceVersion(
                name, int(number), int(created or 0), int(updated or 0), text or "", user or "", stage or "None",
                source or "", location or "", run_id or "", link or "", status or "READY",
            )  # fmt: skip
            versions[name, version.version] = version
            models[name].versions.append(version)
        for name, number, key, value in self._rows("SELECT name, version, key, value FROM model_version_tags"):
            found = versions.get((name, int(number)))
            if found is not None:
                found.tags[key] = value or ""
        return list(models.values())

    def _has_table(self, table: str) -> bool:
        try:
            self._has(table, "")  # reads the table's columns: fails when there is no such table
        except Exception:  # noqa: BLE001 - an older MLflow without the table
            self._connection.rollback()
            return False
        return True

    def run(self, run_id: str) -> SourceRun | None:
        if run_id in self._runs:
            return self._runs[run_id]
        query = f"SELECT {self._select('runs', RUN_COLUMNS)} FROM runs WHERE run_uuid = ?"  # noqa: S608
        rows = self._rows(query, run_id)
        found = None
        if rows:
            uuid, name, user, status, start, end, artifacts, experiment, source_name, source_version, entry = rows[0]
            found = SourceRun(
                uuid, name or "", user or "", status or "", int(start or 0), int(end or 0), artifacts or "",
                "" if experiment is None else str(experiment), source_name or "", source_version or "", entry or "",
            )  # fmt: skip
            found.params = {
                k: v or "" for k, v in self._rows("SELECT key, value FROM params WHERE run_uuid = ?", run_id)
            }
            found.tags = {k: v or "" for k, v in self._rows("SELECT key, value FROM tags WHERE run_uuid = ?", run_id)}
            found.metrics = [
                MetricPoint(key, float("nan") if is_nan else float(value), int(step or 0), int(stamp or 0))
                for key, value, stamp, step, is_nan in self._rows(
                    "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? "
                    "ORDER BY key, step, timestamp",
                    run_id,
                )
            ]
            found.datasets = self._datasets(run_id)
        self._runs[run_id] = found
        return found

    def _datasets(self, run_id: str) -> list[SourceDataset]:
        if not (self._has_table("inputs") and self._has_table("datasets")):
            return []  # an MLflow from before dataset tracking
        rows = self._rows(
            "SELECT d.name, d.digest, d.dataset_source FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
            "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = ? ORDER BY d.name",
            run_id,
        )
        return [SourceDataset(name, digest or "", dataset_uri(source or "")) for name, digest, source in rows]

    def fetch_artifacts(self, version: SourceVersion, scratch: Path) -> Path:
        # A database names where the files are; only files on this machine can be read from it.
        return local_artifacts(version, self.run(version.run_id) if version.run_id else None)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SqliteSource(SqlSource):
    """`sqlite:///relative.db` or `sqlite:////absolute.db`, as MLflow's --backend-store-uri takes it."""

    def __init__(self, uri: str) -> None:
        super().__init__()
        path = Path(sqlite_path(uri))
        self.label = f"sqlite:///{path}"
        if not path.is_file():
            raise SourceError(f"no MLflow database at {path}: check the path in {uri}")
        # Read-only, so that an import can never change the registry it reads.
        self._connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self._check_schema()


def sqlite_path(uri: str) -> str:
    """SQLAlchemy's reading: three slashes then a relative path, four for an absolute one."""
    rest = uri.split(":", 1)[1]
    if not rest.startswith("///"):
        raise SourceError(f"{uri} is not a SQLite URL: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return str(Path(rest[3:]).absolute())


class PostgresSource(SqlSource):
    """`postgresql://user:password@host:port/db` (a `+driver` suffix, as MLflow's URIs carry, is dropped)."""

    placeholder = "%s"

    def __init__(self, uri: str) -> None:
        super().__init__()
        import psycopg

        parsed = urlparse(uri)
        plain = parsed._replace(scheme="postgresql")
        self.label = urlunparse(plain._replace(netloc=plain.netloc.rpartition("@")[2]))  # never the password
        try:
            self._connection = psycopg.connect(urlunparse(plain))
        except psycopg.Error as exc:
            raise SourceError(f"cannot connect to {self.label}: {' '.join(str(exc).split())}") from exc
        self._connection.read_only = True  # every query runs in a read-only transaction
        self._check_schema()
