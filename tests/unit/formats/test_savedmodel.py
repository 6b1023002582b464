"""TensorFlow SavedModel: signature_defs, tags and the TensorFlow version from saved_model.pb."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.model import TensorSpec
from studbook.daemon.formats import FormatError, inspect_file, inspect_folder, tf_ops

from .builders import saved_model_pb, tf_graph, tf_node, write_files

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


SERVING_OPS = ["Placeholder", "MatMul", "BiasAdd", "Relu", "Softmax", "VarHandleOp", "ReadVariableOp",
               "SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin",
               "InitializeTableFromTextFileV2", "StatefulPartitionedCall"]  # fmt: skip


def write_model(tmp_path: Path, graph: bytes) -> list[Path]:
    return write_files(
        tmp_path, {"saved_model.pb": saved_model_pb(SIGNATURES, graph=graph), "variables/variables.index": b"i"}
    )


def test_a_serving_graph_with_its_checkpoint_ops_is_not_flagged(tmp_path: Path) -> None:
    graph = tf_graph([tf_node(op) for op in SERVING_OPS], functions=[[tf_node("MatMul"), tf_node("SaveV2")]])
    files = write_model(tmp_path, graph)

    info = inspect_file(tmp_path / "saved_model.pb")

    assert info.flags == ()
    assert info.metadata["node_count"] == len(SERVING_OPS) + 2
    assert inspect_folder(tmp_path, files).flags == ()


def test_file_and_python_ops_in_the_graph_or_its_functions_are_flagged(tmp_path: Path) -> None:
    graph = tf_graph(
        [tf_node("Placeholder"), tf_node("WriteFile")],
        functions=[[tf_node("MatMul")], [tf_node("EagerPyFunc"), tf_node("ReadFile"), tf_node("WriteFile", "again")]],
    )
    files = write_model(tmp_path, graph)

    info = inspect_file(tmp_path / "saved_model.pb")

    assert info.flags == ("unsafe-ops:EagerPyFunc,ReadFile,WriteFile",)
    assert info.metadata["unsafe_ops"] == ["EagerPyFunc", "ReadFile", "WriteFile"]
    assert inspect_folder(tmp_path, files).flags == ("unsafe-ops:EagerPyFunc,ReadFile,WriteFile",)


@pytest.mark.parametrize(
    ("stream", "flagged"), [("file:///tmp/out.log", True), ("log(error)", False), ("stderr", False)]
)
def test_print_is_flagged_only_when_it_writes_a_file(tmp_path: Path, stream: str, flagged: bool) -> None:
    write_model(tmp_path, tf_graph([tf_node("PrintV2", attrs={"end": "\n", "output_stream": stream})]))

    info = inspect_file(tmp_path / "saved_model.pb")

    assert info.flags == (("unsafe-ops:PrintV2",) if flagged else ())


def test_the_flag_names_a_bounded_number_of_ops(tmp_path: Path) -> None:
    ops = sorted(tf_ops.UNSAFE)
    write_model(tmp_path, tf_graph([tf_node(op) for op in ops]))

    info = inspect_file(tmp_path / "saved_model.pb")

    assert info.flags == ("unsafe-ops:" + ",".join(ops[:16]),)
    assert info.metadata["unsafe_ops"] == ops


@given(chosen=st.lists(st.sampled_from(sorted(tf_ops.UNSAFE) + SERVING_OPS), max_size=12), split=st.integers(0, 12))
def test_the_flag_is_the_sorted_set_of_unsafe_ops_wherever_they_sit(chosen: list[str], split: int) -> None:
    graph = tf_graph([tf_node(op) for op in chosen[:split]], functions=[[tf_node(op) for op in chosen[split:]]])
    with tempfile.TemporaryDirectory() as folder:
        write_model(Path(folder), graph)
        info = inspect_file(Path(folder) / "saved_model.pb")

    unsafe = sorted(set(chosen) & tf_ops.UNSAFE)
    assert info.flags == ((f"unsafe-ops:{','.join(unsafe[:16])}",) if unsafe else ())


def test_the_graph_op_types_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "saved_model.pb"
    path.write_bytes(saved_model_pb({}, ops=["Placeholder", "MatMul", "Relu", "MatMul"]))  # type: ignore[arg-type]

    assert inspect_file(path).metadata["op_types"] == {"MatMul": 2, "Placeholder": 1, "Relu": 1}


def test_every_node_of_a_large_graph_is_counted_and_judged(tmp_path: Path) -> None:
    path = tmp_path / "saved_model.pb"
    path.write_bytes(saved_model_pb({}, ops=["Const"] * 120_000 + ["WriteFile"]))  # type: ignore[arg-type]

    info = inspect_file(path)

    assert info.metadata["op_types"] == {"Const": 120_000, "WriteFile": 1}
    assert info.flags == ("unsafe-ops:WriteFile",)
