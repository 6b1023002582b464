"""DVC files beside a model: their data dependencies become datasets and data versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.model import Dataset
from studbook.daemon.formats import FormatError, inspect_folder
from studbook.daemon.formats.dvc import parse

from .builders import write_files

DVC_LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd: python prepare.py data/raw
    deps:
    - path: data/raw
      md5: 1a2b3c4d5e6f708192a3b4c5d6e7f809.dir
      size: 52428800
      nfiles: 12
    - path: prepare.py
      md5: 0f0e0d0c0b0a09080706050403020100
      size: 812
    outs:
    - path: data/prepared
      md5: 99aa88bb77cc66dd55ee44ff33001122.dir
      size: 41000000
      nfiles: 2
  train:
    cmd: python train.py
    deps:
    - path: data/prepared
      md5: 99aa88bb77cc66dd55ee44ff33001122.dir
      size: 41000000
      nfiles: 2
    - path: params.yaml
      md5: abcdefabcdefabcdefabcdefabcdefab
    params:
      params.yaml:
        train.lr: 0.01
    outs:
    - path: model.safetensors
      md5: 00112233445566778899aabbccddeeff
      size: 16
"""

DATA_DVC = """\
outs:
- md5: a304afb96060aad90176268345e10355
  size: 14445097
  hash: md5
  path: train.csv
"""

IMPORT_DVC = """\
md5: 3d1f0e4c2b7a7f3b
frozen: true
deps:
- path: datasets/reviews.parquet
  repo:
    url: https://example.com/team/data-registry
    rev_lock: 0123456789abcdef0123456789abcdef01234567
outs:
- md5: f1e2d3c4b5a697887766554433221100
  size: 2048
  hash: md5
  path: reviews.parquet
"""


def test_a_dvc_lock_records_each_stage_input_that_is_data() -> None:
    data = parse(DVC_LOCK, "dvc.lock")

    assert data.datasets == [
        Dataset("data--raw", "1a2b3c4d5e6f708192a3b4c5d6e7f809", "dvc:data/raw", 52428800),
        Dataset("data--prepared", "99aa88bb77cc66dd55ee44ff33001122", "dvc:data/prepared", 41000000),
    ]
    assert data.data_versions == {
        "data--raw": "1a2b3c4d5e6f708192a3b4c5d6e7f809",
        "data--prepared": "99aa88bb77cc66dd55ee44ff33001122",
    }


def test_a_dvc_file_records_what_it_tracks_and_where_an_import_came_from() -> None:
    tracked = parse(DATA_DVC, "train.csv.dvc")
    imported = parse(IMPORT_DVC, "reviews.parquet.dvc")

    assert tracked.datasets == [Dataset("train.csv", "a304afb96060aad90176268345e10355", "dvc:train.csv", 14445097)]
    assert imported.datasets[0] == Dataset(
        "datasets--reviews.parquet",
        "",
        "https://example.com/team/data-registry#datasets/reviews.parquet@0123456789abcdef0123456789abcdef01234567",
    )
    assert imported.datasets[1].name == "reviews.parquet"


def test_a_dvc_file_tracking_the_model_itself_is_not_its_training_data() -> None:
    text = "outs:\n- md5: 00112233445566778899aabbccddeeff\n  size: 16\n  path: model.safetensors\n"

    data = parse(text, "model.safetensors.dvc", own_files=frozenset({"model.safetensors"}))

    assert data.datasets == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("outs: [unclosed\n", "BAD_DVC_FILE"),
        ("- just\n- a list\n", "BAD_DVC_FILE"),
        ("name: not dvc\n", "BAD_DVC_FILE"),
        ("base: &a 1\nother: *a\n", "BAD_DVC_FILE"),  # anchors and aliases are refused
        ("outs:\n- path: ../../etc/passwd\n  md5: 00\n", "PATH_OUTSIDE"),
        ("outs:\n- path: /etc/passwd\n  md5: 00\n", "PATH_OUTSIDE"),
        ("stages:\n  s:\n    deps:\n    - path: data/../../secret\n", "PATH_OUTSIDE"),
    ],
)
def test_a_hostile_or_broken_dvc_file_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(FormatError) as refused:
        parse(text, "data.dvc")

    assert refused.value.reason == reason
    assert "data.dvc" in refused.value.message


def test_a_version_folder_with_a_dvc_lock_declares_its_data(tmp_path: Path) -> None:
    files = write_files(tmp_path, {"model.safetensors": b"\0" * 16, "dvc.lock": DVC_LOCK, "train.csv.dvc": DATA_DVC})

    info = inspect_folder(tmp_path, files)

    assert [d.name for d in info.datasets] == ["data--raw", "data--prepared", "train.csv"]
    assert info.data_versions["train.csv"] == "a304afb96060aad90176268345e10355"


def test_a_broken_dvc_file_in_a_folder_refuses_the_folder(tmp_path: Path) -> None:
    files = write_files(tmp_path, {"model.safetensors": b"\0" * 16, "data.dvc": "outs: {path: [\n"})

    with pytest.raises(FormatError) as refused:
        inspect_folder(tmp_path, files)

    assert refused.value.reason == "BAD_DVC_FILE"


def test_a_dvc_file_linked_from_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.dvc"
    outside.write_text(DATA_DVC)
    unit = tmp_path / "unit"
    files = write_files(unit, {"model.safetensors": b"\0" * 16})
    (unit / "data.dvc").symlink_to(outside)

    with pytest.raises(FormatError) as refused:
        inspect_folder(unit, [*files, Path("data.dvc")])

    assert refused.value.reason == "PATH_OUTSIDE"


_DVC_WORDS = st.sampled_from(
    ["outs", "deps", "stages", "path", "md5", "size", "nfiles", "repo", "url", "rev_lock", "..", "/", "data",
     "&a", "*a", "!!python/object", "- ", ": ", "\n", "  ", "[", "]", "{", "}", "'", '"', "#", "|", "12", "-1"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_DVC_WORDS, max_size=40).map("".join))
def test_any_text_reads_as_dvc_data_or_a_format_error(text: str) -> None:
    try:
        data = parse(text, "fuzz.dvc")
    except FormatError as err:
        assert err.reason in ("BAD_DVC_FILE", "PATH_OUTSIDE")
        return
    for dataset in data.datasets:
        assert "/" not in dataset.name and "@" not in dataset.name and dataset.name
        assert ".." not in dataset.uri.split(":", 1)[-1].split("/")
        assert dataset.size is None or dataset.size >= 0
