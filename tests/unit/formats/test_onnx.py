"""ONNX: opsets, producer and typed inputs/outputs from the wire format; external data is
allowed only inside the version folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from studbook.daemon.domain.model import TensorSpec
from studbook.daemon.formats import FormatError, Limits, inspect_file
from support.models import copy_fixture, expected, facts, fixture

from .builders import onnx_model, onnx_tensor, onnx_value_info, pb_bytes, pb_int

FLOAT, INT64 = 1, 7


def test_real_model_reports_opsets_producer_signature_and_parameters() -> None:
    # onnx.helper: MatMul + Add over W[4, 2] and B[2], opsets 17 and ai.onnx.ml 3
    info = inspect_file(fixture("onnx/linear.onnx"))

    assert info.format == "onnx"
    assert info.metadata["opsets"] == {"ai.onnx": 17, "ai.onnx.ml": 3}
    assert info.metadata["producer_name"] == "trainer"
    assert info.metadata["producer_version"] == "2.1"
    assert info.metadata["ir_version"] == expected()["onnx_ir_version"]
    assert info.metadata["metadata_props"] == {"author": "risk-team"}
    assert info.metadata["op_types"] == {"MatMul": 1, "Add": 1}
    assert info.metadata["symbolic_dims"] == ["batch"]
    assert info.signature is not None
    assert info.signature.inputs == (TensorSpec("X", "float32", (-1, 4)),)
    assert info.signature.outputs == (TensorSpec("Y", "float32", (-1, 2)),)
    assert info.parameter_count == facts("onnx/linear.onnx")["parameter_count"] == 10
    assert info.flags == ()


def test_external_data_inside_the_folder_is_flagged_and_listed() -> None:
    # onnx.save_model(save_as_external_data=True, location="weights.bin")
    info = inspect_file(fixture("onnx/external/model.onnx"))

    assert info.flags == ("external-data",)
    assert info.metadata["external_data"] == ["weights.bin"]
    assert info.parameter_count == facts("onnx/external/model.onnx")["parameter_count"] == 10


def test_missing_external_data_file_is_flagged(tmp_path: Path) -> None:
    folder = copy_fixture("onnx/external", tmp_path)
    (folder / "weights.bin").unlink()

    info = inspect_file(folder / "model.onnx")

    assert "external-data-missing" in info.flags
    assert info.metadata["external_data_missing"] == ["weights.bin"]


def test_real_external_data_pointing_out_of_the_folder_is_refused() -> None:
    # Written with onnx: W's external data location set to ../../etc/passwd.
    with pytest.raises(FormatError) as caught:
        inspect_file(fixture("onnx/escape.onnx"))

    assert caught.value.reason == "EXTERNAL_DATA_OUTSIDE"


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "a/../../b.bin", "..\\..\\x.bin", "C:/w.bin"])
def test_hand_made_external_locations_out_of_the_folder_are_refused(tmp_path: Path, location: str) -> None:
    external = {"location": location, "offset": "0", "length": "16"}
    data = onnx_model(initializers=[onnx_tensor("W", [4], external=external)])
    path = tmp_path / "model.onnx"
    path.write_bytes(data)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "EXTERNAL_DATA_OUTSIDE"


def test_external_data_in_a_subgraph_attribute_is_checked_too(tmp_path: Path) -> None:
    tensor = onnx_tensor("C", [1], external={"location": "../secret.bin"})
    attribute = pb_bytes(1, "value") + pb_bytes(5, tensor)
    node = pb_bytes(4, "Constant") + pb_bytes(5, attribute)
    data = pb_int(1, 9) + pb_bytes(7, pb_bytes(1, node)) + pb_bytes(8, pb_int(2, 17))
    path = tmp_path / "model.onnx"
    path.write_bytes(data)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "EXTERNAL_DATA_OUTSIDE"


def test_a_symlink_that_leads_out_of_the_version_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "w.bin").write_bytes(b"\0" * 16)
    version = tmp_path / "version"
    version.mkdir()
    os.symlink(outside, version / "data")
    path = version / "model.onnx"
    path.write_bytes(onnx_model(initializers=[onnx_tensor("W", [4], external={"location": "data/w.bin"})]))

    with pytest.raises(FormatError) as caught:
        inspect_file(path, root=version)

    assert caught.value.reason == "EXTERNAL_DATA_OUTSIDE"


def test_external_data_resolves_against_the_models_own_folder(tmp_path: Path) -> None:
    (tmp_path / "onnx" / "weights").mkdir(parents=True)
    (tmp_path / "onnx" / "weights" / "w.bin").write_bytes(b"\0" * 16)
    path = tmp_path / "onnx" / "model.onnx"
    external = {"location": "weights/w.bin", "offset": "0", "length": "16"}
    path.write_bytes(onnx_model(initializers=[onnx_tensor("W", [4], external=external)]))

    info = inspect_file(path, root=tmp_path)

    assert info.flags == ("external-data",)
    assert info.metadata["external_data"] == ["weights/w.bin"]


def test_external_data_shorter_than_declared_counts_as_missing(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"\0" * 8)
    path = tmp_path / "model.onnx"
    external = {"location": "w.bin", "offset": "0", "length": "16"}
    path.write_bytes(onnx_model(initializers=[onnx_tensor("W", [4], external=external)]))

    info = inspect_file(path)

    assert info.metadata["external_data_missing"] == ["w.bin"]


def test_initializers_listed_as_graph_inputs_are_not_signature_inputs(tmp_path: Path) -> None:
    data = onnx_model(
        initializers=[onnx_tensor("W", [2, 2])],
        inputs=[onnx_value_info("X", FLOAT, ["n", 2]), onnx_value_info("W", FLOAT, [2, 2])],
        outputs=[onnx_value_info("Y", INT64, [-1])],
        nodes=[("MatMul", ""), ("TreeEnsembleClassifier", "ai.onnx.ml")],
        ir_version=3,
    )
    path = tmp_path / "old.onnx"
    path.write_bytes(data)

    info = inspect_file(path)

    assert info.signature is not None
    assert [spec.name for spec in info.signature.inputs] == ["X"]
    assert info.signature.outputs == (TensorSpec("Y", "int64", (-1,)),)
    assert info.metadata["op_types"] == {"MatMul": 1, "ai.onnx.ml.TreeEnsembleClassifier": 1}


def test_sequence_and_map_types_are_spelt_out(tmp_path: Path) -> None:
    tensor_float = pb_bytes(1, pb_int(1, FLOAT))
    sequence = pb_bytes(4, pb_bytes(1, tensor_float))
    mapping = pb_bytes(5, pb_int(1, INT64) + pb_bytes(2, tensor_float))
    outputs = [pb_bytes(1, "labels") + pb_bytes(2, sequence), pb_bytes(1, "probs") + pb_bytes(2, mapping)]
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model(outputs=outputs))

    info = inspect_file(path)

    assert info.signature is not None
    assert [(s.name, s.dtype) for s in info.signature.outputs] == [
        ("labels", "sequence<float32>"),
        ("probs", "map<int64,float32>"),
    ]


def test_a_truncated_model_is_refused(tmp_path: Path) -> None:
    data = onnx_model(initializers=[onnx_tensor("W", [64])], inputs=[onnx_value_info("X", FLOAT, [1])])
    path = tmp_path / "model.onnx"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TRUNCATED"


def test_absurdly_nested_types_hit_the_depth_bound(tmp_path: Path) -> None:
    nested = pb_bytes(1, pb_int(1, FLOAT))
    for _ in range(200):
        nested = pb_bytes(4, pb_bytes(1, nested))
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model(inputs=[pb_bytes(1, "x") + pb_bytes(2, nested)]))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TOO_DEEP"


def test_field_count_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model(nodes=[("Relu", "")] * 500))

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_protobuf_fields=100))

    assert caught.value.reason == "TOO_COMPLEX"


def test_reading_onnx_never_imports_the_onnx_package(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model(inputs=[onnx_value_info("X", FLOAT, [1])]))
    code = (
        "import sys; from pathlib import Path; from studbook.daemon.formats import inspect_file;"
        f"info = inspect_file(Path({str(path)!r}));"
        "heavy = [m for m in ('onnx', 'torch', 'numpy', 'yaml', 'google.protobuf') if m in sys.modules];"
        "print(info.format, heavy)"
    )

    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert output.strip() == "onnx []"


def test_a_symlink_loop_in_the_location_is_refused_not_crashed_on(tmp_path: Path) -> None:
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model(initializers=[onnx_tensor("W", [4], external={"location": "loop/w.bin"})]))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "EXTERNAL_DATA_OUTSIDE"
