"""`studbook export`: a version written as a ModelPack OCI layout, an mlflow-export-import folder,
and SageMaker / Vertex AI request JSON, against a real daemon."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from studbook.cli.commands import EXIT_CONFLICT
from studbook.client.clients import Client
from support.cli import runner
from support.files import random_weights
from support.oci import check_layout, config_of, read_blob

FIXTURE = Path(__file__).parents[1] / "fixtures" / "models" / "huggingface" / "tiny-sentiment"
CARD = "# tiny sentiment\n\nClassifies short texts.\n"


@pytest.fixture
def studbook(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(daemon.address, capsys)


@pytest.fixture
def registered(daemon: Any, tmp_path: Path) -> dict[str, Any]:
    """A parent and a child version: real files (HF folder, a big blob, a script), metric
    series with splits, params, tags, datasets, a parent, a run, a card, a stage and an alias."""
    folder = tmp_path / "src"
    shutil.copytree(FIXTURE, folder)
    big = random_weights(3 * 1024 * 1024 + 7)
    (folder / "extra.bin").write_bytes(big)
    (folder / "train.py").write_text("print('train')\n")
    with Client(daemon.address) as client:
        client.register("base-lm", path=FIXTURE, environment=False, git=False)
        version = client.register(
            "sentiment",
            path=folder,
            environment=False,
            git=False,
            description="Sentiment of short texts.\nSecond line.",
            model_card=CARD,
            metrics={"auc": 0.91},
            params={"lr": 0.001, "layers": 2, "note": "ünïcode ok"},
            tags={"team": "NLP Core", "Cost.Centre": "42", "empty": ""},
            datasets=[{"name": "reviews", "version": "2026-01", "uri": "https://data.example/reviews"}],
            parents=[("base-lm@1", "fine_tuned_from")],
            run_id="run-17",
        )
        client.log_metrics(version.name, {"loss": 0.9}, step=1)
        client.log_metrics(version.name, {"loss": 0.4}, step=2)
        client.log_metrics(version.name, {"auc": 0.88}, step=2, split="eval")
        client.promote(version.name, "production", reason="first")
        client.promote(version.name, "champion")
        full = client.get_version(version.name)
    return {"version": full, "big": big, "folder": folder}


# ---- modelpack ----


def test_modelpack_is_a_valid_oci_layout_whose_layers_are_the_files_by_their_sha256(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    version = registered["version"]
    dest = tmp_path / "pack"

    result = studbook("--json", "export", "sentiment@production", str(dest), "--format", "modelpack")

    assert result.code == 0, result.err
    (manifest,) = {m["config"]["digest"]: m for m in check_layout(dest)}.values()
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.model.config.v1+json"
    by_path = {layer["annotations"]["org.cncf.model.filepath"]: layer for layer in manifest["layers"]}
    for file in version.files:
        layer = by_path[file.path]
        assert layer["digest"] == f"sha256:{file.sha256}" and layer["size"] == file.size
        assert read_blob(dest, layer) == (registered["folder"] / file.path).read_bytes()
    kinds = {path: layer["mediaType"] for path, layer in by_path.items()}
    assert kinds["model.safetensors"] == "application/vnd.cncf.model.weight.v1.raw"
    assert kinds["config.json"] == "application/vnd.cncf.model.weight.config.v1.raw"
    assert kinds["tokenizer.json"] == "application/vnd.cncf.model.weight.config.v1.raw"
    assert kinds["README.md"] == "application/vnd.cncf.model.doc.v1.raw"
    assert kinds["train.py"] == "application/vnd.cncf.model.code.v1.raw"
    assert by_path["model.safetensors"]["annotations"]["org.cncf.model.file.mediatype.untested"] == "false"
    assert by_path["extra.bin"]["annotations"]["org.cncf.model.file.mediatype.untested"] == "true"
    assert read_blob(dest, by_path["MODEL_CARD.md"]).decode() == CARD
    metadata = json.loads(by_path["model.safetensors"]["annotations"]["org.cncf.model.file.metadata+json"])
    assert metadata["name"] == "model.safetensors" and metadata["size"] == by_path["model.safetensors"]["size"]
    summary = result.json()
    index = json.loads((dest / "index.json").read_text())
    assert summary["format"] == "modelpack" and {m["digest"] for m in index["manifests"]} == {summary["manifest"]}


def test_modelpack_config_follows_the_schema_and_annotations_carry_metrics_params_lineage(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    dest = tmp_path / "pack"
    assert studbook("export", "sentiment", str(dest), "--format", "modelpack").code == 0
    (manifest,) = check_layout(dest)[:1]
    config = config_of(dest, manifest)

    # The spec's schema allows exactly these objects and fields (additionalProperties: false).
    assert set(config) == {"descriptor", "config", "modelfs"}
    assert set(config["descriptor"]) <= {"createdAt", "authors", "family", "name", "docURL", "sourceURL",
                                         "datasetsURL", "version", "revision", "vendor", "licenses", "title",
                                         "description"}  # fmt: skip
    assert set(config["config"]) <= {"architecture", "format", "paramSize", "precision", "quantization",
                                     "capabilities"}  # fmt: skip
    assert config["modelfs"] == {"type": "layers", "diffIds": [layer["digest"] for layer in manifest["layers"]]}
    assert config["descriptor"]["name"] == "sentiment" and config["descriptor"]["licenses"] == ["apache-2.0"]
    assert config["config"]["precision"] == "fp32" and config["config"]["paramSize"].endswith("K")
    assert config["descriptor"]["datasetsURL"] == ["https://data.example/reviews"]
    annotations = manifest["annotations"]
    metrics = json.loads(annotations["io.studbook.metrics+json"])
    assert {("auc", ""), ("loss", ""), ("auc", "eval")} <= {(m["key"], m.get("split", "")) for m in metrics}
    assert json.loads(annotations["io.studbook.params+json"])["lr"] == "0.001"
    lineage = json.loads(annotations["io.studbook.lineage+json"])
    assert lineage["parents"] == [{"version": "models/base-lm/versions/1", "relation": "fine_tuned_from"}]
    assert lineage["datasets"][0]["name"] == "reviews" and lineage["run"]["runId"] == "run-17"
    assert annotations["io.studbook.stages"] == "production"
    record = next(layer for layer in manifest["layers"]
                  if layer["annotations"]["org.cncf.model.filepath"] == ".studbook/version.json")  # fmt: skip
    series = json.loads(read_blob(dest, record))["metricSeries"]
    assert sorted(m["value"] for m in series if m["key"] == "loss") == [0.4, 0.9]
    index = json.loads((dest / "index.json").read_text())
    tags = {m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]}
    assert {"v1", "production", "champion"} <= tags


def test_two_exports_of_one_version_are_byte_identical(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    assert studbook("export", "sentiment@1", str(tmp_path / "a"), "--format", "modelpack").code == 0
    assert studbook("export", "sentiment@1", str(tmp_path / "b"), "--format", "modelpack").code == 0

    assert (tmp_path / "a" / "index.json").read_bytes() == (tmp_path / "b" / "index.json").read_bytes()


# ---- destinations ----


def test_a_second_export_into_a_non_empty_folder_is_refused_and_changes_nothing(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    dest = tmp_path / "pack"
    assert studbook("export", "sentiment", str(dest), "--format", "modelpack").code == 0
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))

    again = studbook("export", "sentiment", str(dest), "--format", "mlflow")

    assert again.code == EXIT_CONFLICT
    assert "not empty" in again.err and "EXPORT_DESTINATION_NOT_EMPTY" in again.err
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".studbook-export")] == []


def test_an_empty_or_missing_folder_is_a_fine_destination_and_a_file_is_not(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.json").write_text("{}")

    assert studbook("export", "sentiment", str(tmp_path / "empty"), "--format", "vertex").code == 0
    assert studbook("export", "sentiment", str(tmp_path / "new" / "deep"), "--format", "sagemaker").code == 0
    assert (tmp_path / "new" / "deep" / "create-model-package.json").is_file()
    refused = studbook("export", "sentiment", str(tmp_path / "file.json"), "--format", "vertex")

    assert (tmp_path / "empty" / "upload-model.json").is_file()
    assert refused.code != 0 and "EXPORT_DESTINATION_EXISTS" in refused.err
    assert (tmp_path / "file.json").read_text() == "{}"


def test_a_failed_export_leaves_nothing_behind(studbook: Any, daemon: Any, tmp_path: Path) -> None:
    with Client(daemon.address) as client:
        client.register("referenced", uri="https://models.example/m.onnx", environment=False, git=False)

    result = studbook("export", "referenced", str(tmp_path / "pack"), "--format", "modelpack")

    assert result.code != 0 and "VERSION_NOT_KEPT" in result.err
    assert list(tmp_path.iterdir()) == []


# ---- mlflow ----


def test_mlflow_export_is_the_export_model_layout_with_runs_and_artifacts(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    version = registered["version"]
    dest = tmp_path / "mlflow"

    result = studbook("--json", "export", "sentiment", str(dest), "--format", "mlflow")

    assert result.code == 0, result.err
    model = json.loads((dest / "model.json").read_text())["mlflow"]["registered_model"]
    assert model["name"] == "sentiment"
    (entry,) = model["versions"]
    assert entry["version"] == "1" and entry["current_stage"] == "Production"
    assert model["aliases"] == [{"alias": "champion", "version": "1"}]
    assert entry["tags"]["team"] == "NLP Core" and entry["tags"]["studbook.content_digest"] == version.content_digest
    run_dir = dest / entry["run_id"]
    # mlflow-export-import finds the model's path inside the run by the run id and `artifacts/`.
    assert entry["source"].split(entry["run_id"] + "/artifacts/")[1] == "model"
    assert "models" not in entry["source"]
    run = json.loads((run_dir / "run.json").read_text())["mlflow"]
    assert run["params"] == dict(version.params)
    assert [p["value"] for p in run["metrics"]["loss"]] == [0.9, 0.4]
    assert [p["step"] for p in run["metrics"]["loss"]] == [1, 2]
    assert run["metrics"]["eval/auc"][0]["value"] == 0.88
    # One run input per dataset of the version: the one registered and those its card names.
    inputs = {d["dataset"]["name"]: d for d in run["inputs"]["dataset_inputs"]}
    assert sorted(inputs) == sorted(d.name for d in version.datasets)
    dataset = inputs["reviews"]
    assert dataset["dataset"]["digest"] == "2026-01"
    assert json.loads(dataset["dataset"]["source"]) == {"uri": "https://data.example/reviews", "version": "2026-01"}
    for file in version.files:
        data = (run_dir / "artifacts" / "model" / file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == file.sha256


def test_mlflow_export_of_one_version_holds_only_that_version(
    studbook: Any, daemon: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    with Client(daemon.address) as client:
        client.register("sentiment", path=FIXTURE, environment=False, git=False, tags={"v": "2"})

    assert studbook("export", "sentiment@2", str(tmp_path / "one"), "--format", "mlflow").code == 0
    assert studbook("export", "sentiment", str(tmp_path / "all"), "--format", "mlflow").code == 0

    one = json.loads((tmp_path / "one" / "model.json").read_text())["mlflow"]["registered_model"]
    every = json.loads((tmp_path / "all" / "model.json").read_text())["mlflow"]["registered_model"]
    assert [v["version"] for v in one["versions"]] == ["2"] and one["aliases"] == []
    assert [v["version"] for v in every["versions"]] == ["1", "2"]
    assert len({v["run_id"] for v in every["versions"]}) == 2


def test_mlflow_export_cuts_values_longer_than_mlflow_takes_keeps_them_whole_and_says_so(
    studbook: Any, daemon: Any, tmp_path: Path
) -> None:
    long_param, long_description = "p" * 8000, "d" * 6000
    with Client(daemon.address) as client:
        client.register("wordy", path=FIXTURE, environment=False, git=False, description=long_description,
                        params={"prompt": long_param, "lr": 0.1})  # fmt: skip

    result = studbook("--json", "export", "wordy", str(tmp_path / "ml"), "--format", "mlflow")
    human = studbook("export", "wordy", str(tmp_path / "ml2"), "--format", "mlflow")

    assert result.code == 0, result.err
    (entry,) = json.loads((tmp_path / "ml" / "model.json").read_text())["mlflow"]["registered_model"]["versions"]
    run_dir = tmp_path / "ml" / entry["run_id"]
    run = json.loads((run_dir / "run.json").read_text())["mlflow"]
    # MLflow's limits: 6000 characters for a param value, 5000 for a description.
    assert run["params"] == {"prompt": long_param[:6000], "lr": "0.1"}
    assert entry["description"] == long_description[:5000]
    assert run["tags"]["studbook.truncated"] == "params.prompt,version_description"
    whole = json.loads((run_dir / "artifacts" / "studbook" / "full_values.json").read_text())
    assert whole == {"params.prompt": long_param, "version_description": long_description}
    notes = result.json()["notes"]
    assert len(notes) == 2 and "params.prompt is 8000 characters, cut to MLflow's limit of 6000" in notes[0]
    assert "note: wordy@1: params.prompt is 8000 characters" in human.out


# ---- sagemaker and vertex ----


def test_sagemaker_request_takes_its_approval_from_the_stage_and_obeys_the_api_limits(
    studbook: Any, daemon: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    with Client(daemon.address) as client:
        client.register("sentiment", path=FIXTURE, environment=False, git=False)

    approved = studbook("--json", "export", "sentiment@production", str(tmp_path / "a"), "--format", "sagemaker",
                        "--upload-url", "s3://bucket/exports/sentiment", "--image", "123.dkr.ecr/infer:1")  # fmt: skip
    pending = studbook("export", "sentiment@2", str(tmp_path / "p"), "--format", "sagemaker")

    assert approved.code == 0, approved.err
    request = json.loads((tmp_path / "a" / "create-model-package.json").read_text())
    assert request["ModelApprovalStatus"] == "Approved"
    assert request["ModelPackageGroupName"] == "sentiment"
    assert "\n" not in request["ModelPackageDescription"] and len(request["ModelPackageDescription"]) <= 1024
    properties = request["CustomerMetadataProperties"]
    assert properties["tag:team"] == "NLP Core" and properties["param:lr"] == "0.001"
    assert properties["tag:Cost.Centre"] == "42"
    assert "tag:empty" in {d["key"] for d in approved.json()["dropped"]}
    container = request["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == "123.dkr.ecr/infer:1"
    assert container["ModelDataSource"]["S3DataSource"]["S3Uri"] == "s3://bucket/exports/sentiment/model/"
    assert (tmp_path / "a" / "model" / "extra.bin").read_bytes() == registered["big"]
    assert request["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith("/model-metrics.json")
    assert json.loads((tmp_path / "a" / "model-metrics.json").read_text())["metrics"]["eval/auc"]["value"] == 0.88
    assert pending.code == 0
    later = json.loads((tmp_path / "p" / "create-model-package.json").read_text())
    assert later["ModelApprovalStatus"] == "PendingManualApproval" and "InferenceSpecification" not in later
    assert not (tmp_path / "p" / "model").exists()


def test_vertex_request_has_labels_aliases_and_metadata_within_the_rules(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    from studbook.exports import cloud_rules

    result = studbook("--json", "export", "sentiment@champion", str(tmp_path / "v"), "--format", "vertex")

    assert result.code == 0, result.err
    request = json.loads((tmp_path / "v" / "upload-model.json").read_text())
    model = request["model"]
    assert model["displayName"] == "sentiment" and request["modelId"] == "sentiment"
    assert model["labels"]["team"] == "nlp_core" and model["labels"]["cost_centre"] == "42"
    assert all(cloud_rules.label_valid(k, v) for k, v in model["labels"].items())
    assert sorted(model["versionAliases"]) == ["champion", "production"]
    assert model["metadata"]["studbook"]["params"]["lr"] == "0.001"
    assert "artifactUri" not in model and any("--upload-url" in n for n in result.json()["notes"])


def test_an_upload_url_of_the_wrong_cloud_is_refused(studbook: Any, registered: dict[str, Any], tmp_path: Path) -> None:
    result = studbook("export", "sentiment", str(tmp_path / "v"), "--format", "vertex", "--upload-url", "s3://b/p")

    assert result.code != 0 and "gs://" in result.err
    assert not (tmp_path / "v").exists()


def test_a_stored_file_whose_bytes_changed_fails_the_export_and_leaves_nothing(
    studbook: Any, daemon: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    big = next(f for f in registered["version"].files if f.path == "extra.bin")
    (blob,) = [p for p in daemon.data_dir.rglob(f"*{big.sha256}*") if p.is_file()]
    blob.chmod(0o600)
    blob.write_bytes(random_weights(big.size))  # same size, other bytes: only the sha256 can tell

    result = studbook("export", "sentiment", str(tmp_path / "out" / "pack"), "--format", "modelpack")

    assert result.code != 0 and "DOWNLOAD_CORRUPT" in result.err
    assert list((tmp_path / "out").iterdir()) == []


def test_the_human_summary_says_where_what_went_and_what_the_format_could_not_hold(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    pack = studbook("export", "sentiment@production", str(tmp_path / "pack"), "--format", "modelpack")
    package = studbook("export", "sentiment", str(tmp_path / "sm"), "--format", "sagemaker")

    assert f"exported sentiment@production as modelpack into {tmp_path / 'pack'}" in pack.out
    assert "manifest sha256:" in pack.out and "production" in pack.out
    assert "approval Approved" in package.out
    assert "note: no InferenceSpecification" in package.out and "--upload-url" in package.out
    assert "left out tag:empty" in package.out


def test_mlflow_export_of_a_referenced_version_says_where_its_files_are(
    studbook: Any, daemon: Any, tmp_path: Path
) -> None:
    with Client(daemon.address) as client:
        client.register("remote", uri="https://models.example/m.onnx", environment=False, git=False)

    result = studbook("--json", "export", "remote", str(tmp_path / "ml"), "--format", "mlflow")

    assert result.code == 0, result.err
    assert result.json()["not_kept"] == ["models/remote/versions/1"]
    (entry,) = json.loads((tmp_path / "ml" / "model.json").read_text())["mlflow"]["registered_model"]["versions"]
    model_folder = tmp_path / "ml" / entry["run_id"] / "artifacts" / "model"
    assert [p.name for p in model_folder.iterdir()] == ["studbook-reference.json"]
    assert json.loads((model_folder / "studbook-reference.json").read_text())["storage_uri"] == (
        "https://models.example/m.onnx"
    )


def test_modelpack_with_tar_layers_holds_each_file_in_a_reproducible_uncompressed_tar(
    studbook: Any, registered: dict[str, Any], tmp_path: Path
) -> None:
    import io
    import tarfile

    version = registered["version"]
    first = studbook("--json", "export", "sentiment", str(tmp_path / "a"), "--format", "modelpack", "--layers", "tar")
    again = studbook("--json", "export", "sentiment", str(tmp_path / "b"), "--format", "modelpack", "--layers", "tar")

    assert first.code == 0, first.err
    (manifest,) = check_layout(tmp_path / "a")[:1]
    assert not (tmp_path / "a" / ".files").exists()
    by_path = {layer["annotations"]["org.cncf.model.filepath"]: layer for layer in manifest["layers"]}
    assert by_path["model.safetensors"]["mediaType"] == "application/vnd.cncf.model.weight.v1.tar"
    assert by_path["README.md"]["mediaType"] == "application/vnd.cncf.model.doc.v1.tar"
    for file in version.files:
        with tarfile.open(fileobj=io.BytesIO(read_blob(tmp_path / "a", by_path[file.path]))) as archive:
            (member,) = archive.getmembers()
            assert member.name == file.path and member.uid == 0 and member.mode == 0o644
            data = archive.extractfile(member).read()  # type: ignore[union-attr]
        assert hashlib.sha256(data).hexdigest() == file.sha256
    assert config_of(tmp_path / "a", manifest)["modelfs"]["diffIds"] == [
        layer["digest"] for layer in manifest["layers"]
    ]
    assert first.json()["manifest"] == again.json()["manifest"]
