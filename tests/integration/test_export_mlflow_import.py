"""A studbook model exported with `--format mlflow` is loaded by MLflow's own importer into a real
MLflow server, keeping every field both sides know (the importer runs in a venv of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from studbook.client.clients import Client
from support import mlflow_importer
from support.cli import runner

FIXTURE = Path(__file__).parents[1] / "fixtures" / "models" / "huggingface" / "tiny-sentiment"


@pytest.fixture(scope="module")
def importer() -> Path:
    try:
        return mlflow_importer.ensure_venv()
    except mlflow_importer.ImporterUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.timeout(900)
def test_mlflows_importer_loads_the_export_with_versions_stages_params_metrics_tags_and_files(
    importer: Path, daemon: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with Client(daemon.address) as client:
        first = client.register("sentiment", path=FIXTURE, environment=False, git=False, description="first cut",
                                params={"lr": 0.1, "layers": 2, "prompt": "p" * 7000}, metrics={"auc": 0.9},
                                tags={"team": "nlp"})  # fmt: skip
        client.log_metrics(first.name, {"loss": 0.5}, step=1)
        client.log_metrics(first.name, {"loss": 0.3}, step=2)
        client.promote(first.name, "production", reason="release")
        second = client.register("sentiment", path=FIXTURE / "config.json", environment=False, git=False,
                                 description="second cut", params={"lr": 0.05})  # fmt: skip
        first, second = client.get_version(first.name), client.get_version(second.name)
    studbook = runner(daemon.address, capsys)
    assert studbook("export", "sentiment", str(tmp_path / "export"), "--format", "mlflow").code == 0

    with mlflow_importer.mlflow_server(importer, tmp_path) as url:
        done = mlflow_importer.import_model(importer, url, tmp_path / "export", "sentiment", "/studbook/sentiment")
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        seen = mlflow_importer.read_model(importer, url, "sentiment", tmp_path)

    assert seen["name"] == "sentiment"
    one, two = seen["versions"]
    assert (one["version"], one["stage"], one["description"]) == ("1", "Production", "first cut")
    assert (two["version"], two["stage"], two["description"]) == ("2", "None", "second cut")
    # A value longer than MLflow takes arrives cut to its limit (6000), not refused by its importer.
    assert one["params"] == {**first.params, "prompt": "p" * 6000} and two["params"] == dict(second.params)
    assert one["run_tags"]["studbook.truncated"] == "params.prompt"
    assert one["metrics"]["loss"] == [[1, 0.5], [2, 0.3]] and one["metrics"]["auc"] == [[0, 0.9]]
    assert {k: v for k, v in one["tags"].items() if not k.startswith("studbook.")} == dict(first.tags)
    assert one["tags"]["studbook.content_digest"] == first.content_digest
    assert one["tags"]["studbook.semver"] == first.semver
    assert one["files"] == {f.path: f.sha256 for f in first.files}
    assert two["files"] == {f.path: f.sha256 for f in second.files}
    assert one["run_tags"]["studbook.version"] == first.name
