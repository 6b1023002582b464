"""W&B folders and DVC files against a real daemon: `studbook import wandb`, `register --dvc`,
and the same folders dropped into a watched root."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Daemon, start_daemon, stop_daemon
from studbook.cli import commands as cli
from studbook.cli.output import format_size
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.v1 import resources_pb2
from support.cli import Result, runner
from support.files import write_tree
from support.models import fixture
from support.waiting import wait_for

WEIGHTS = fixture("safetensors/single.safetensors").read_bytes()
# W&B's manifest digest: the base64 of the file's MD5.
WEIGHTS_DIGEST = base64.b64encode(hashlib.md5(WEIGHTS).digest()).decode()
OTHER_DIGEST = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()
RUN_ID = "k3x9q2ab"
CONFIG_YAML = b"""\
wandb_version: 1
_wandb:
  desc: null
  value:
    cli_version: 0.17.0
learning_rate:
  desc: null
  value: 0.0003
epochs:
  desc: null
  value: 10
"""
SUMMARY = {"eval/accuracy": 0.931, "train/loss": 0.182, "_step": 1200, "_runtime": 3600.5}
DVC_LOCK = b"""\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/train.parquet
      md5: 1a2b3c4d5e6f708192a3b4c5d6e7f809
      size: 52428800
    - path: train.py
      md5: 0f0e0d0c0b0a09080706050403020100
      size: 812
    outs:
    - path: model.safetensors
      md5: 00112233445566778899aabbccddeeff
"""


def run_folder(parent: Path, run_id: str = RUN_ID) -> Path:
    folder = parent / f"offline-run-20260105_101500-{run_id}"
    return write_tree(folder, {
        "files/config.yaml": CONFIG_YAML,
        "files/wandb-summary.json": json.dumps(SUMMARY).encode(),
        "files/wandb-metadata.json": json.dumps({"python": "3.11.9", "git": {"commit": "8d1f2a7"}}).encode(),
        "files/model.safetensors": WEIGHTS,
        f"run-{run_id}.wandb": b"\x00\x01 opaque records",
    })  # fmt: skip


@pytest.fixture
def run(shared_daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    return runner(shared_daemon.address, capsys)


@pytest.fixture
def client(shared_daemon: Daemon) -> Iterator[Client]:
    with Client(shared_daemon.address) as opened:
        yield opened


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---- studbook import wandb ------------------------------------------------------------


def test_an_offline_run_folder_comes_in_with_its_params_metrics_and_run(
    run: Callable[..., Result], client: Client, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex[:8]
    folder = run_folder(tmp_path, run_id)

    imported = run("import", "wandb", str(folder), "--json")
    again = run("import", "wandb", str(folder), "--json")

    assert imported.code == 0, imported.err
    version = client.get_version(f"wandb-{run_id}@1")
    assert dict(version.params) == {"learning_rate": "0.0003", "epochs": "10"}
    assert sorted((m.key, round(m.value, 6), m.step) for m in version.metrics) == [
        ("eval/accuracy", 0.931, 1200), ("train/loss", 0.182, 1200),
    ]  # fmt: skip
    assert (version.run.run_id, version.run.code_commit) == (run_id, "8d1f2a7")
    assert version.environment.python_version == "3.11.9"
    assert version.created_from == f"wandb:{folder}"
    assert again.code == 0 and again.json()["imported"] == [] and len(again.json()["unchanged"]) == 1


def test_an_artifact_folder_is_checked_against_its_manifest(
    run: Callable[..., Result], client: Client, tmp_path: Path
) -> None:
    name = unique("reviews")
    manifest = {"version": 1, "storagePolicy": "wandb-storage-policy-v1",
                "contents": {"model.safetensors": {"digest": WEIGHTS_DIGEST, "size": len(WEIGHTS)}}}  # fmt: skip
    folder = write_tree(tmp_path / f"{name}:v3", {
        "model.safetensors": WEIGHTS, "wandb_manifest.json": json.dumps(manifest).encode(),
    })  # fmt: skip

    imported = run("import", "wandb", str(folder))

    assert imported.code == 0, imported.err
    version = client.get_version(f"{name}@1")
    assert sorted(f.path for f in version.files) == ["model.safetensors", "wandb_manifest.json"]


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        ({"../../../etc/passwd": {"digest": "x", "size": 1}}, "PATH_OUTSIDE"),
        ({"model.safetensors": {"digest": "x", "size": 1}}, "SIZE_MISMATCH"),
        ({"weights/missing.bin": {"digest": "x", "size": 1}}, "MISSING_FILE"),
        ({"model.safetensors": {"digest": OTHER_DIGEST, "size": len(WEIGHTS)}}, "DIGEST_MISMATCH"),
    ],
)
def test_a_hostile_or_stale_manifest_is_refused_and_nothing_registered(
    run: Callable[..., Result], client: Client, tmp_path: Path, contents: dict[str, Any], reason: str
) -> None:
    model = unique("hostile")
    folder = write_tree(tmp_path / "artifact", {
        "model.safetensors": WEIGHTS, "wandb_manifest.json": json.dumps({"contents": contents}).encode(),
    })  # fmt: skip

    refused = run("import", "wandb", str(folder), "--model", model)

    assert refused.code == cli.EXIT_PRECONDITION
    assert f"[{reason}]" in refused.err
    assert client.list_models(filter=f'name = "{model}"').models == []


def test_a_dry_run_says_what_would_be_imported_and_changes_nothing(
    run: Callable[..., Result], client: Client, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex[:8]
    folder = run_folder(tmp_path, run_id)
    model = f"wandb-{run_id}"

    planned = run("import", "wandb", str(folder), "--dry-run", "--json")
    text = run("import", "wandb", str(folder), "--dry-run")
    assert client.list_models(filter=f'name = "{model}"').models == []
    assert run("import", "wandb", str(folder)).code == 0
    after = run("import", "wandb", str(folder), "--dry-run", "--json")

    assert planned.code == text.code == 0, planned.err
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert planned.json()["would_import"] == [{"source": folder.name, "model": model, "files": len(files),
                                               "size": sum(p.stat().st_size for p in files)}]  # fmt: skip
    assert f"{folder.name}: would import into {model} ({len(files)} files" in text.out
    assert "nothing was changed" in text.out
    assert after.json()["would_import"] == []
    assert after.json()["unchanged"] == [{"source": folder.name, "version": f"models/{model}/versions/1"}]


def test_a_summary_that_is_not_json_is_refused_with_its_reason(run: Callable[..., Result], tmp_path: Path) -> None:
    folder = run_folder(tmp_path)
    (folder / "files" / "wandb-summary.json").write_text('{"loss": 0.1')

    refused = run("import", "wandb", str(folder), "--model", unique("bad"))

    assert refused.code == cli.EXIT_PRECONDITION and "BAD_JSON" in refused.err


# ---- studbook register --dvc ----------------------------------------------------------


def test_a_dvc_file_named_at_registration_records_the_data(
    run: Callable[..., Result], client: Client, tmp_path: Path
) -> None:
    model = unique("dvc")
    weights = write_tree(tmp_path / "m", {"model.safetensors": WEIGHTS}) / "model.safetensors"
    lock = write_tree(tmp_path / "repo", {"dvc.lock": DVC_LOCK}) / "dvc.lock"

    registered = run("register", model, str(weights), "--dvc", str(lock), "--dataset", "extra@7", "--no-env")

    assert registered.code == 0, registered.err
    version = client.get_version(f"{model}@1")
    assert [(d.name, d.version, d.uri, d.size if d.HasField("size") else None) for d in version.datasets] == [
        ("extra", "7", "", None),
        ("data--train.parquet", "1a2b3c4d5e6f708192a3b4c5d6e7f809", "dvc:data/train.parquet", 52428800),
    ]
    assert version.training.data_versions["data--train.parquet"] == "1a2b3c4d5e6f708192a3b4c5d6e7f809"
    shown = run("show", f"{model}@1")
    assert f"data--train.parquet@1a2b3c4d5e6f708192a3b4c5d6e7f809 ({format_size(52428800)})" in shown.out
    lineage = client.get_lineage(f"models/{model}/versions/1")
    assert "datasets/data--train.parquet@1a2b3c4d5e6f708192a3b4c5d6e7f809" in {n.name for n in lineage.nodes}


def test_a_dvc_file_that_is_not_dvc_yaml_is_refused(run: Callable[..., Result], tmp_path: Path) -> None:
    weights = write_tree(tmp_path / "m", {"model.safetensors": WEIGHTS}) / "model.safetensors"
    hostile = write_tree(tmp_path, {"data.dvc": b"outs: !!python/object/apply:os.system ['true']\n"}) / "data.dvc"

    refused = run("register", unique("dvc"), str(weights), "--dvc", str(hostile), "--no-env")

    assert refused.code == cli.EXIT_PRECONDITION and "BAD_DVC_FILE" in refused.err


# ---- drop-ins ---------------------------------------------------------------------------


@dataclass
class Watched:
    root: Path
    daemon: Daemon


@pytest.fixture(scope="module")
def watched() -> Iterator[Watched]:
    base = Path(tempfile.mkdtemp(prefix="sb-"))  # short: socket paths are limited
    root = base / "drops"
    (root / ".staging").mkdir(parents=True)
    daemon = start_daemon(base / "data", base / "s.sock", "--watch", str(root), "--quiet-seconds", "0.2",
                          "--config", str(base / "none.toml"))  # fmt: skip
    try:
        yield Watched(root, daemon)
    finally:
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)


def drop(watched: Watched, model: str, files: dict[str, bytes]) -> Path:
    """Builds the version folder in the root's staging area and renames it in whole."""
    staged = write_tree(watched.root / ".staging" / uuid.uuid4().hex, files)
    (watched.root / model).mkdir(exist_ok=True)
    return staged.rename(watched.root / model / "1")


def test_a_dropped_run_folder_with_a_dvc_lock_registers_params_metrics_and_data(watched: Watched) -> None:
    model = unique("drop")
    drop(watched, model, {
        "model.safetensors": WEIGHTS,
        "dvc.lock": DVC_LOCK,
        "files/config.yaml": CONFIG_YAML,
        "files/wandb-summary.json": json.dumps(SUMMARY).encode(),
    })  # fmt: skip

    with Client(watched.daemon.address) as client:
        version = wait_for(lambda: _version(client, model), "the dropped version")

    assert dict(version.params) == {"learning_rate": "0.0003", "epochs": "10"}
    assert {m.key for m in version.metrics} == {"eval/accuracy", "train/loss"}
    assert [(d.name, d.size) for d in version.datasets] == [("data--train.parquet", 52428800)]
    assert dict(version.training.data_versions) == {"data--train.parquet": "1a2b3c4d5e6f708192a3b4c5d6e7f809"}


def test_a_drop_with_a_hostile_dvc_file_is_quarantined_with_its_reason(watched: Watched) -> None:
    model = unique("drop")
    unit = drop(watched, model, {"model.safetensors": WEIGHTS, "data.dvc": b"outs:\n- path: ../../../etc/shadow\n"})

    with Client(watched.daemon.address) as client:
        found = wait_for(lambda: next((d for d in client.list_quarantined_drops().drops if d.path == str(unit)), None),
                         "the quarantined drop")  # fmt: skip

    assert found.reason == "PATH_OUTSIDE" and "data.dvc" in found.message


def test_a_dropped_artifact_whose_file_does_not_match_its_manifest_digest_is_quarantined(watched: Watched) -> None:
    model = unique("drop")
    manifest = {"version": 1, "contents": {"model.safetensors": {"digest": OTHER_DIGEST, "size": len(WEIGHTS)}}}
    unit = drop(watched, model, {"model.safetensors": WEIGHTS, "wandb_manifest.json": json.dumps(manifest).encode()})

    with Client(watched.daemon.address) as client:
        found = wait_for(lambda: next((d for d in client.list_quarantined_drops().drops if d.path == str(unit)), None),
                         "the quarantined drop")  # fmt: skip

    assert found.reason == "DIGEST_MISMATCH"
    assert "model.safetensors" in found.message and "download the artifact again" in found.message


def _version(client: Client, model: str) -> Any:
    try:
        return client.get_version(f"{model}@1")
    except StudbookError as error:
        if error.reason in ("MODEL_NOT_FOUND", "VERSION_NOT_FOUND"):
            return None  # not registered yet
        raise


def test_dvc_files_beside_a_dropped_file_record_its_data_and_are_no_versions_themselves(watched: Watched) -> None:
    model = unique("single")
    folder = watched.root / model
    tracks_the_model = b"outs:\n- path: model.safetensors\n  md5: 00112233445566778899aabbccddeeff\n"
    write_tree(folder, {"dvc.lock": DVC_LOCK, "model.safetensors.dvc": tracks_the_model})
    staged = write_tree(watched.root / ".staging" / uuid.uuid4().hex, {"model.safetensors": WEIGHTS})
    (staged / "model.safetensors").rename(folder / "model.safetensors")

    with Client(watched.daemon.address) as client:
        version = wait_for(lambda: _version(client, model), "the dropped file's version")
        # Recorded once the version is: the DVC files, written first, would have been judged by then.
        drops = wait_for(lambda: [d.path for d in client.list_drops(model=model).drops], "the drop's record")
        numbers = [v.number for v in client.list_versions(model).versions]

    assert [(d.name, d.size) for d in version.datasets] == [("data--train.parquet", 52428800)]
    assert drops == [str(folder / "model.safetensors")] and numbers == [1]


def test_a_broken_dvc_lock_beside_a_dropped_file_quarantines_it(watched: Watched) -> None:
    model = unique("single")
    folder = watched.root / model
    write_tree(folder, {"dvc.lock": b"stages: [unclosed\n"})
    staged = write_tree(watched.root / ".staging" / uuid.uuid4().hex, {"model.safetensors": WEIGHTS})
    unit = (staged / "model.safetensors").rename(folder / "model.safetensors")

    with Client(watched.daemon.address) as client:
        found = wait_for(lambda: next((d for d in client.list_quarantined_drops().drops if d.path == str(unit)), None),
                         "the quarantined drop")  # fmt: skip

    assert found.reason == "BAD_DVC_FILE" and "dvc.lock" in found.message


def test_a_dropped_hugging_face_folder_names_its_registered_base_model_as_parent(watched: Watched) -> None:
    org = unique("org")
    base = f"{org}--weights"  # how the registry names the hub's org/weights
    card = f"---\nbase_model: {org}/weights\nbase_model_relation: quantized\n---\n# quantized\n".encode()
    tuned = unique("tuned")

    with Client(watched.daemon.address) as client:
        drop(watched, base, {"model.safetensors": WEIGHTS})
        wait_for(lambda: _version(client, base), "the base model's version")
        drop(watched, tuned, {"model.safetensors": WEIGHTS, "config.json": b"{}", "README.md": card})
        version = wait_for(lambda: _version(client, tuned), "the quantized model's version")

    assert [(p.version, p.relation) for p in version.parents] == [
        (f"models/{base}/versions/1", resources_pb2.PARENT_RELATION_QUANTIZED_FROM)
    ]
