"""W&B folders: an offline run's config and summary, an artifact's manifest checked against its files."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.model import Metric
from studbook.daemon.domain.names import METRIC_KEY
from studbook.daemon.formats import FormatError, inspect_folder

from .builders import write_files

CONFIG_YAML = """\
wandb_version: 1

_wandb:
  desc: null
  value:
    cli_version: 0.17.0
    python_version: 3.11.9
learning_rate:
  desc: null
  value: 0.0003
epochs:
  desc: null
  value: 10
optimizer:
  value:
    name: adamw
    betas: [0.9, 0.999]
"""

SUMMARY = {
    "train/loss": 0.182,
    "eval/accuracy": 0.931,
    "_step": 1200,
    "_runtime": 3600.5,
    "_wandb": {"runtime": 3600},
    "confusion": {"_type": "table-file", "path": "media/table.json"},
    "note": "done",
}

WEIGHTS = b"\0" * 16
# W&B's manifest digest: the base64 of the file's MD5.
WEIGHTS_DIGEST = base64.b64encode(hashlib.md5(WEIGHTS).digest()).decode()
METADATA = {"python": "3.11.9", "program": "train.py", "git": {"commit": "8d1f2a7", "remote": "x"}}


def run_folder(root: Path) -> list[Path]:
    base = "offline-run-20260105_101500-k3x9q2ab"
    return write_files(
        root,
        {
            f"{base}/files/config.yaml": CONFIG_YAML,
            f"{base}/files/wandb-summary.json": json.dumps(SUMMARY),
            f"{base}/files/wandb-metadata.json": json.dumps(METADATA),
            f"{base}/files/model.safetensors": b"\0" * 16,
            f"{base}/run-k3x9q2ab.wandb": b"\0\1\2",
        },
    )


def test_an_offline_run_gives_params_metrics_and_the_run(tmp_path: Path) -> None:
    files = run_folder(tmp_path)

    info = inspect_folder(tmp_path, files)

    assert info.params == {
        "learning_rate": "0.0003",
        "epochs": "10",
        "optimizer.name": "adamw",
        "optimizer.betas": "[0.9,0.999]",
    }
    assert sorted(info.metrics, key=lambda m: m.key) == [
        Metric("eval/accuracy", 0.931, step=1200),
        Metric("train/loss", 0.182, step=1200),
    ]
    assert info.run_id == "k3x9q2ab"
    assert info.environment.python_version == "3.11.9"
    assert info.metadata["wandb_run"]["code_commit"] == "8d1f2a7"


def test_a_config_yaml_without_wandb_files_beside_it_is_not_read_as_a_run(tmp_path: Path) -> None:
    files = write_files(tmp_path, {"config.yaml": CONFIG_YAML, "model.safetensors": b"\0" * 16})

    info = inspect_folder(tmp_path, files)

    assert info.params == {}


def test_an_artifact_folder_whose_manifest_matches_its_files_is_read(tmp_path: Path) -> None:
    manifest = {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "contents": {
            "model.safetensors": {"digest": WEIGHTS_DIGEST, "size": 16},
            "big.bin": {"digest": "def==", "ref": "s3://bucket/big.bin", "size": 10**12},
        },
    }
    files = write_files(tmp_path, {"model.safetensors": b"\0" * 16, "wandb_manifest.json": json.dumps(manifest)})

    info = inspect_folder(tmp_path, files)

    assert info.metadata["wandb_artifact"] == {
        "entries": 2, "storage_policy": "wandb-storage-policy-v1", "references": ["s3://bucket/big.bin"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        ({"../../etc/passwd": {"digest": "x", "size": 1}}, "PATH_OUTSIDE"),
        ({"/etc/passwd": {"digest": "x", "size": 1}}, "PATH_OUTSIDE"),
        ({"sub/../../x": {"digest": "x", "size": 1}}, "PATH_OUTSIDE"),
        ({"missing.bin": {"digest": "x", "size": 1}}, "MISSING_FILE"),
        ({"model.safetensors": {"digest": WEIGHTS_DIGEST, "size": 17}}, "SIZE_MISMATCH"),
        (
            {"model.safetensors": {"digest": base64.b64encode(hashlib.md5(b"other").digest()).decode(), "size": 16}},
            "DIGEST_MISMATCH",
        ),
        ({"model.safetensors": {"digest": "not base64 md5", "size": 16}}, "BAD_WANDB_MANIFEST"),
        ({"model.safetensors": {"digest": "abc=", "size": 16}}, "BAD_WANDB_MANIFEST"),
        ([], "BAD_WANDB_MANIFEST"),
    ],
)
def test_a_hostile_or_stale_manifest_is_refused_with_a_reason(tmp_path: Path, contents: object, reason: str) -> None:
    text = json.dumps({"version": 1, "contents": contents})
    files = write_files(tmp_path, {"model.safetensors": b"\0" * 16, "wandb_manifest.json": text})

    with pytest.raises(FormatError) as refused:
        inspect_folder(tmp_path, files)

    assert refused.value.reason == reason


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=64), other=st.binary(max_size=64))
def test_a_file_passes_the_manifest_exactly_when_its_md5_is_the_digest(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, other: bytes
) -> None:
    root = tmp_path_factory.mktemp("wandb")
    digest = base64.b64encode(hashlib.md5(other).digest()).decode()
    manifest = {"version": 1, "contents": {"weights.bin": {"digest": digest, "size": len(content)}}}
    files = write_files(root, {"weights.bin": content, "wandb_manifest.json": json.dumps(manifest)})

    try:
        inspect_folder(root, files)
    except FormatError as refused:
        assert refused.reason == "DIGEST_MISMATCH" and content != other
        assert "download the artifact again" in refused.message
    else:
        assert hashlib.md5(content).digest() == hashlib.md5(other).digest()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("wandb-summary.json", "{not json", "BAD_JSON"),
        ("config.yaml", "lr: &a 1\nx: *a\n", "BAD_YAML"),
        ("wandb_manifest.json", "[1, 2", "BAD_JSON"),
    ],
)
def test_bad_json_or_yaml_in_wandb_files_is_refused(tmp_path: Path, name: str, content: str, reason: str) -> None:
    files = write_files(tmp_path, {"model.safetensors": b"\0" * 16, "wandb-metadata.json": "{}", name: content})

    with pytest.raises(FormatError) as refused:
        inspect_folder(tmp_path, files)

    assert refused.value.reason == reason


def test_a_summary_linked_from_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text('{"x": 1}')
    unit = tmp_path / "unit"
    files = write_files(unit, {"model.safetensors": b"\0" * 16})
    (unit / "wandb-summary.json").symlink_to(tmp_path / "secret.json")

    with pytest.raises(FormatError) as refused:
        inspect_folder(unit, [*files, Path("wandb-summary.json")])

    assert refused.value.reason == "PATH_OUTSIDE"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(summary=_JSON, manifest=_JSON)
def test_any_json_reads_as_metrics_or_a_format_error(tmp_path_factory: pytest.TempPathFactory, summary: object,
                                                     manifest: object) -> None:  # fmt: skip
    root = tmp_path_factory.mktemp("wandb")
    files = write_files(root, {
        "model.safetensors": b"\0" * 16,
        "wandb-summary.json": json.dumps(summary),
        "wandb_manifest.json": json.dumps(manifest),
    })  # fmt: skip
    try:
        info = inspect_folder(root, files)
    except FormatError as err:
        assert err.reason in (
            "BAD_WANDB_MANIFEST",
            "PATH_OUTSIDE",
            "MISSING_FILE",
            "SIZE_MISMATCH",
            "BAD_JSON",
            "DIGEST_MISMATCH",
        )
        return
    for metric in info.metrics:
        assert isinstance(metric.value, float)


_YAML_WORDS = st.sampled_from(
    ["value", "desc", "_wandb", "lr", "a b", "x", ": ", "- ", "\n", "  ", "{", "}", "[", "]", "&a", "*a", "!!binary",
     "null", "1e5", ".inf", "'", '"', "#", "|", "0x1f"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_YAML_WORDS, max_size=40).map("".join))
def test_any_config_yaml_reads_as_params_or_bad_yaml(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    root = tmp_path_factory.mktemp("config")
    files = write_files(root, {"config.yaml": text, "wandb-metadata.json": "{}", "model.safetensors": b"\0" * 16})
    try:
        info = inspect_folder(root, files)
    except FormatError as err:
        assert err.reason in ("BAD_YAML", "FILE_TOO_LARGE")
        return
    for key, value in info.params.items():
        assert METRIC_KEY.fullmatch(key) and isinstance(value, str)
