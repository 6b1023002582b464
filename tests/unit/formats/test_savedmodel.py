"""TensorFlow SavedModel: signature_defs, tags and the TensorFlow version from saved_model.pb."""

from __future__ import annotations

from pathlib import Path

import pytest

from studbook.daemon.domain.model import TensorSpec
from studbook.daemon.formats import FormatError, inspect_file, inspect_folder

from .builders import saved_model_pb, write_files

FLOAT, INT64 = 1, 9
SIGNATURES = {
    "serving_default": {"inputs": {"features": (FLOAT, [-1, 8])}, "outputs": {"scores": (FLOAT, [-1, 2])}},
    "classify": {"inputs": {"ids": (INT64, [-1])}, "outputs": {}},
}


def test_a_savedmodel_folder_gives_its_serving_signature_and_tensorflow_version(tmp_path: Path) -> None:
    files = write_files(
        tmp_path,
        {
            "saved_model.pb": saved_model_pb(SIGNATURES, tf_version="2.16.1"),
            "variables/variables.index": b"idx",
            "variables/variables.data-00000-of-00001": b"data",
            "assets/vocab.txt": "a\nb\n",
            "fingerprint.pb": b"",
        },
    )

    info = inspect_folder(tmp_path, files)

    assert info.kind == "savedmodel"
    assert info.signature is not None
    assert info.signature.inputs == (TensorSpec("features", "float32", (-1, 8)),)
    assert info.signature.outputs == (TensorSpec("scores", "float32", (-1, 2)),)
    assert info.environment.packages == {"tensorflow": "2.16.1"}
    assert info.metadata["tags"] == ["serve"]
    assert info.metadata["signature_names"] == ["serving_default", "classify"]
    assert info.metadata["variables"] == ["variables/variables.data-00000-of-00001", "variables/variables.index"]
    assert info.metadata["assets"] == 1


def test_saved_model_pb_alone_is_detected_by_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "saved_model.pb"
    path.write_bytes(saved_model_pb(SIGNATURES))

    info = inspect_file(path)

    assert info.format == "savedmodel"
    assert info.signature is not None and info.signature.inputs[0].name == "features"


def test_a_truncated_saved_model_pb_is_refused(tmp_path: Path) -> None:
    data = saved_model_pb(SIGNATURES)
    files = write_files(tmp_path, {"saved_model.pb": data[: len(data) - 20]})

    with pytest.raises(FormatError) as caught:
        inspect_folder(tmp_path, files)

    assert caught.value.reason == "TRUNCATED"


def test_the_graph_op_types_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "saved_model.pb"
    path.write_bytes(saved_model_pb({}, ops=["Placeholder", "MatMul", "Relu", "MatMul"]))  # type: ignore[arg-type]

    assert inspect_file(path).metadata["op_types"] == {"MatMul": 2, "Placeholder": 1, "Relu": 1}


def test_a_graph_too_big_to_scan_whole_keeps_the_ops_counted_so_far(tmp_path: Path) -> None:
    path = tmp_path / "saved_model.pb"
    path.write_bytes(saved_model_pb({}, ops=["Const"] * 120_000))  # type: ignore[arg-type]

    info = inspect_file(path)

    assert info.format == "savedmodel"
    assert 0 < info.metadata["op_types"]["Const"] < 120_000
