"""A version exported as an mlflow-export-import folder and imported into an empty registry keeps
every field both sides know: files, description, params, tags, metric series, datasets, the
run, its stage and its alias."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Daemon, start_daemon, stop_daemon
from studbook.client.clients import Client
from support.cli import runner

FIXTURE = Path(__file__).parents[1] / "fixtures" / "models" / "huggingface" / "tiny-sentiment"


def _series(client: Client, name: str) -> list[tuple[str, str, int | None, float]]:
    version = client.get_version(name)
    return sorted((m.key, m.split, m.step if m.HasField("step") else None, m.value)
                  for m in client.list_metrics(version.name))  # fmt: skip


@pytest.fixture
def target(short_dir: Path) -> Iterator[Daemon]:
    """A second daemon with a data dir and socket of its own: the empty registry imported into."""
    daemon = start_daemon(short_dir / "target", short_dir / "t.sock")
    yield daemon
    stop_daemon(daemon)


def test_export_to_mlflow_then_import_into_an_empty_registry_keeps_every_shared_field(
    daemon_factory: Any, target: Daemon, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = daemon_factory()
    folder = shutil.copytree(FIXTURE, tmp_path / "src")
    with Client(source.address) as client:
        client.create_model("sentiment", description="Sentiment of short texts. " + "m" * 6000)
        # Longer than MLflow takes (a param value 6000 characters, a description 5000): the export
        # cuts them for MLflow's importer and keeps them whole for this one.
        registered = client.register(
            "sentiment", path=folder, environment=False, git=False, description="the first one " + "d" * 5500,
            metrics={"auc": 0.91}, params={"lr": 0.001, "note": "ünïcode ok", "prompt": "p" * 7000},
            tags={"team": "nlp"},
            datasets=[{"name": "reviews", "version": "2026-01"}], run_id="run-17",
        )  # fmt: skip
        client.log_metrics(registered.name, {"loss": 0.9}, step=1)
        client.log_metrics(registered.name, {"loss": 0.4}, step=2)
        client.promote(registered.name, "production", reason="first")
        client.promote(registered.name, "champion")
        before = client.get_version(registered.name)
        series_before = _series(client, registered.name)

    exported = runner(source.address, capsys)("export", "sentiment", str(tmp_path / "out"), "--format", "mlflow")
    imported = runner(target.address, capsys)("import", "mlflow", str(tmp_path / "out"))
    with Client(target.address) as client:
        assert client.list_models().models[0].name.endswith("sentiment")
        after = client.get_version("sentiment@production")
        model = client.get_model("sentiment")
        series_after = _series(client, after.name)
        by_alias = client.get_version("sentiment@champion")

    assert exported.code == 0, exported.err
    (run_json,) = (tmp_path / "out").glob("*/run.json")
    assert len(json.loads(run_json.read_text())["mlflow"]["params"]["prompt"]) == 6000
    assert imported.code == 0, imported.err + imported.out
    assert model.description == "Sentiment of short texts. " + "m" * 6000
    assert (after.number, after.description) == (before.number, before.description)
    assert sorted((f.path, f.sha256) for f in after.files) == sorted((f.path, f.sha256) for f in before.files)
    assert dict(after.params) == dict(before.params)
    assert {k: v for k, v in after.tags.items() if k in before.tags} == dict(before.tags)
    assert series_after == series_before
    assert [(d.name, d.version) for d in after.datasets] == [(d.name, d.version) for d in before.datasets]
    assert after.run.run_id == before.run.run_id
    assert by_alias.name == after.name
