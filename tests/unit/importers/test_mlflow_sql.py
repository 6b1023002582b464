"""Reading MLflow's database straight: MLflow's own tables, as an older MLflow left them too
(no storage_location column, no aliases or dataset tables), never written to."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from studbook.cli.importers.mlflow_source import SourceError, open_source

# The columns an MLflow 1.x registry had: what every later schema still has.
OLD_SCHEMA = """
CREATE TABLE registered_models (name TEXT, creation_time BIGINT, last_updated_time BIGINT, description TEXT);
CREATE TABLE registered_model_tags (key TEXT, value TEXT, name TEXT);
CREATE TABLE model_versions (name TEXT, version INT, creation_time BIGINT, last_updated_time BIGINT,
    description TEXT, user_id TEXT, current_stage TEXT, source TEXT, run_id TEXT, status TEXT,
    status_message TEXT, run_link TEXT);
CREATE TABLE model_version_tags (key TEXT, value TEXT, name TEXT, version INT);
CREATE TABLE runs (run_uuid TEXT, name TEXT, source_type TEXT, source_name TEXT, entry_point_name TEXT,
    user_id TEXT, status TEXT, start_time BIGINT, end_time BIGINT, source_version TEXT, lifecycle_stage TEXT,
    artifact_uri TEXT, experiment_id INT);
CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT);
CREATE TABLE tags (key TEXT, value TEXT, run_uuid TEXT);
CREATE TABLE metrics (key TEXT, value FLOAT, timestamp BIGINT, run_uuid TEXT, step BIGINT, is_nan BOOLEAN);
INSERT INTO registered_models VALUES ('Old Model', 1000, 2000, 'from long ago');
INSERT INTO registered_model_tags VALUES ('team', 'core', 'Old Model');
INSERT INTO model_versions VALUES ('Old Model', 1, 1500, 1600, '', 'ana', 'Production', 'runs:/r1/model', 'r1',
    'READY', '', '');
INSERT INTO model_versions VALUES ('Old Model', 2, 1700, 1800, '', 'ana', 'Deleted_Internal', '/gone', '',
    'READY', '', '');
INSERT INTO model_version_tags VALUES ('k', 'v', 'Old Model', 1);
INSERT INTO runs VALUES ('r1', 'first', 'LOCAL', 'train.py', 'main', 'ana', 'FINISHED', 10, 20, 'c0ffee',
    'active', '/store/0/r1/artifacts', 0);
INSERT INTO params VALUES ('lr', '0.1', 'r1');
INSERT INTO tags VALUES ('mlflow.source.git.commit', 'c0ffee', 'r1');
INSERT INTO metrics VALUES ('loss', 0.5, 11, 'r1', 0, 0);
INSERT INTO metrics VALUES ('loss', 0.0, 12, 'r1', 1, 1);
"""


def old_registry(tmp_path: Path) -> Path:
    db = tmp_path / "mlflow.db"
    with sqlite3.connect(db) as connection:
        connection.executescript(OLD_SCHEMA)
    connection.close()
    return db


def test_an_older_schema_is_read_with_what_it_has(tmp_path: Path) -> None:
    source = open_source(f"sqlite:///{old_registry(tmp_path)}")

    [model] = source.models()
    run = source.run("r1")

    assert (model.name, model.description, model.tags, model.aliases) == ("Old Model", "from long ago",
                                                                           {"team": "core"}, {})  # fmt: skip
    # A version MLflow deleted (kept under its internal stage) is not offered.
    [version] = model.versions
    assert (version.version, version.stage, version.storage_location, version.tags) == (1, "Production", "", {"k": "v"})
    assert run is not None and run.params == {"lr": "0.1"} and run.artifact_uri == "/store/0/r1/artifacts"
    assert [(p.value, p.step) for p in run.metrics][0] == (0.5, 0)
    assert str(run.metrics[1].value) == "nan"  # MLflow's is_nan, kept as NaN for the mapping to leave out
    assert run.datasets == []
    source.close()


def test_the_database_is_opened_read_only(tmp_path: Path) -> None:
    db = old_registry(tmp_path)
    before = db.read_bytes()
    source = open_source(f"sqlite:///{db}")
    source.models()

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        source._connection.execute("DELETE FROM registered_models")  # type: ignore[attr-defined]
    source.close()
    assert db.read_bytes() == before


@pytest.mark.parametrize("spec", ["sqlite://relative.db", "ftp://host/x", "mysql://u@h/db"])
def test_a_source_it_cannot_read_is_refused_saying_what_it_takes(spec: str) -> None:
    with pytest.raises(SourceError) as refused:
        open_source(spec)
    assert "sqlite:///" in str(refused.value)
