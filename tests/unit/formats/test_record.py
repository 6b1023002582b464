"""The format record: what each reader learned, typed and bounded, for a file and a version."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.daemon.domain import format_info as fi
from studbook.daemon.formats import inspect_file, inspect_folder
from studbook.daemon.formats.record import card_metrics, file_record, version_record

from .builders import (
    gguf_bytes,
    gguf_string,
    keras_archive,
    keras_layer,
    onnx_model,
    onnx_tensor,
    onnx_value_info,
    safetensors_bytes,
    saved_model_pb,
    write_files,
)
from .test_folders import hf_folder

UINT32, STRING = 4, 8


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_safetensors_record_names_dtypes_and_the_largest_tensors_first(tmp_path: Path) -> None:
    path = _write(tmp_path, "model.safetensors", safetensors_bytes({
        "bias": ("F32", [4], b"\0" * 16),
        "embed": ("BF16", [8, 4], b"\0" * 64),
    }, metadata={"format": "pt"}))  # fmt: skip

    record = file_record(inspect_file(path))

    assert record.format == "safetensors"
    assert record.parameters == 36 and record.tensor_count == 2
    assert record.dtypes == ("BF16", "F32")
    assert [t.name for t in record.tensors] == ["embed", "bias"]
    assert record.tensors[0] == fi.TensorInfo("embed", "BF16", (8, 4))
    assert record.details == {"format": "pt"}


def test_gguf_record_has_architecture_quantization_context_and_scalar_kvs(tmp_path: Path) -> None:
    kv = [
        ("general.architecture", STRING, gguf_string("llama")),
        ("general.name", STRING, gguf_string("tiny")),
        ("general.file_type", UINT32, struct.pack("<I", 15)),
        ("llama.context_length", UINT32, struct.pack("<I", 4096)),
    ]
    path = _write(tmp_path, "model.gguf", gguf_bytes(kv, [("tok.weight", [4, 8], 1, 0)], data=b"\0" * 64))

    record = file_record(inspect_file(path))

    assert record.format == "gguf" and record.architecture == "llama"
    assert record.gguf is not None
    assert (record.gguf.name, record.gguf.quantization, record.gguf.context_length) == ("tiny", "Q4_K_M", 4096)
    assert record.gguf.kv["llama.context_length"] == "4096"
    assert record.dtypes == ("F16",)
    assert record.tensors == (fi.TensorInfo("tok.weight", "F16", (8, 4)),)
    assert record.parameters == 32


def test_onnx_record_has_producer_opsets_ops_inputs_and_outputs(tmp_path: Path) -> None:
    data = onnx_model(
        initializers=[onnx_tensor("w", [3, 2])],
        inputs=[onnx_value_info("x", 1, ["batch", 3])],
        outputs=[onnx_value_info("y", 1, ["batch", 2])],
        nodes=[("MatMul", ""), ("Relu", ""), ("Relu", "")],
    )
    record = file_record(inspect_file(_write(tmp_path, "model.onnx", data)))

    assert record.onnx is not None
    assert record.onnx.ir_version == 9 and record.onnx.opsets == ("ai.onnx:17",)
    assert (record.onnx.producer, record.onnx.producer_version) == ("handmade", "1.0")
    assert record.onnx.op_types == ("Relu", "MatMul")
    assert [i.name for i in record.onnx.inputs] == ["x"] and record.onnx.inputs[0].dtype == "F32"
    assert [o.name for o in record.onnx.outputs] == ["y"]
    assert record.parameters == 6 and record.framework == "handmade"


def test_onnx_record_names_the_largest_initializers_and_their_element_types(tmp_path: Path) -> None:
    sizes = {f"w{i}": [i + 1, 2] for i in range(12)}
    data = onnx_model(initializers=[onnx_tensor(name, dims) for name, dims in sizes.items()])
    record = file_record(inspect_file(_write(tmp_path, "model.onnx", data)))

    assert record.dtypes == ("F32",) and record.tensor_count == 12
    assert [(t.name, t.shape) for t in record.tensors] == [(f"w{i}", (i + 1, 2)) for i in range(11, 3, -1)]


def test_keras_record_lists_layers_and_flags_lambda(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        keras_layer("Dense", {"units": 2}), keras_layer("Dense", {"units": 1}), keras_layer("Lambda", {}),
    ]}}  # fmt: skip
    record = file_record(inspect_file(keras_archive(tmp_path / "m.keras", config, keras_version="3.6.0")))

    assert record.keras is not None
    assert record.keras.model_class == "Sequential" and record.keras.keras_version == "3.6.0"
    assert record.keras.layers[0] == "Dense" and record.keras.layer_count == 3
    assert record.keras.lambda_layers is True
    assert record.framework == "keras"


def _binunicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def test_a_joblib_record_names_class_scikit_learn_version_and_compression(tmp_path: Path) -> None:
    # NEWOBJ of LogisticRegression, then BUILD with its state: written as opcodes, never unpickled.
    state = b"}(" + _binunicode("C") + b"G" + struct.pack(">d", 1.0) + _binunicode("_sklearn_version")
    state += _binunicode("1.5.1") + b"u"
    data = b"\x80\x04csklearn.linear_model._logistic\nLogisticRegression\n)\x81" + state + b"b."
    record = file_record(inspect_file(_write(tmp_path, "model.joblib", gzip.compress(data))))

    assert record.format == "joblib"
    assert (record.framework, record.framework_version) == ("scikit-learn", "1.5.1")
    assert record.pickle == fi.PickleInfo(4, "sklearn.linear_model._logistic.LogisticRegression", "1.5.1", "gzip")


def test_a_hugging_face_folder_summary_carries_config_and_card_fields(tmp_path: Path) -> None:
    weights = safetensors_bytes({"w": ("F16", [2, 2], b"\0" * 8)})
    files = hf_folder(tmp_path, **{"model.safetensors": weights})
    folder = inspect_folder(tmp_path, files)
    record = file_record(inspect_file(tmp_path / "model.safetensors"))

    summary = version_record([(len(weights), record), (2, fi.FormatInfo(format="unknown"))], folder)

    assert summary.format == "huggingface" and summary.architecture == "distilbert"
    assert summary.framework == "transformers" and summary.framework_version == "4.44.0"
    assert summary.parameters == 4 and summary.dtypes == ("F16",)
    hf = summary.huggingface
    assert hf is not None
    assert hf.architectures == ("DistilBertForSequenceClassification",)
    assert (hf.torch_dtype, hf.license, hf.pipeline_tag) == ("float32", "apache-2.0", "text-classification")
    assert hf.language == ("en",) and hf.base_model == "distilbert/distilbert-base-uncased"


def test_an_mlflow_folder_summary_names_flavors_and_loader(tmp_path: Path) -> None:
    mlmodel = (
        "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    sklearn_version: 1.5.0\n"
        "model_uuid: abc123\nmlflow_version: 2.14.0\n"
    )
    files = write_files(tmp_path, {"MLmodel": mlmodel, "model.pkl": b"\x80\x04N."})
    summary = version_record([(4, file_record(inspect_file(tmp_path / "model.pkl")))], inspect_folder(tmp_path, files))

    assert summary.format == "mlflow" and summary.framework == "sklearn" and summary.framework_version == "1.5.0"
    assert summary.mlflow == fi.MlflowInfo(("python_function", "sklearn"), "mlflow.sklearn", "abc123", "2.14.0", False)


def test_a_savedmodel_folder_summary_names_signatures_and_variables(tmp_path: Path) -> None:
    signatures = {"serving_default": {"inputs": {"x": (1, [-1, 3])}, "outputs": {"y": (1, [-1])}}}
    pb = saved_model_pb(signatures, ops=["Placeholder", "MatMul", "Relu", "MatMul"])  # type: ignore[arg-type]
    files = write_files(tmp_path, {"saved_model.pb": pb, "variables/variables.index": b"\0" * 8})
    record = file_record(inspect_file(tmp_path / "saved_model.pb"))

    summary = version_record([(len(pb), record), (8, fi.FormatInfo(format="unknown"))], inspect_folder(tmp_path, files))

    assert (
        summary.format == "savedmodel" and summary.framework == "tensorflow" and summary.framework_version == "2.16.1"
    )
    assert summary.savedmodel == fi.SavedModelInfo(("serving_default",), ("serve",), ("variables/variables.index",),
                                                   "2.16.1", ("MatMul", "Placeholder", "Relu"))  # fmt: skip


def test_the_biggest_readable_file_names_the_main_format() -> None:
    summary = version_record(
        [(10, fi.FormatInfo(format="onnx", parameters=5)), (99, fi.FormatInfo(format="unknown")),
         (20, fi.FormatInfo(format="gguf", parameters=7, architecture="llama", dtypes=("Q4_K",)))],
        None,
    )  # fmt: skip
    assert summary.format == "gguf" and summary.parameters == 12 and summary.architecture == "llama"


def test_model_index_results_become_metrics_with_dataset_and_split(tmp_path: Path) -> None:
    folder = inspect_folder(tmp_path, hf_folder(tmp_path))

    metrics = card_metrics(folder)

    assert [(m.key, m.split, m.value) for m in metrics] == [("imdb/accuracy", "test", 0.93)]


# -- bounds ------------------------------------------------------------------------------

_text = st.text(min_size=0, max_size=600)


def _within_bounds(record: fi.FormatInfo) -> None:
    plain = fi.to_plain(record)

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, str):
            assert len(value) <= fi.MAX_TEXT and "\x00" not in value
        elif isinstance(value, list):
            assert len(value) <= (fi.MAX_TENSORS if key == "tensors" else max(fi.MAX_ITEMS, fi.MAX_SHAPE))
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            assert len(value) <= max(fi.MAX_DETAILS, 32)
            for k, item in value.items():
                walk(item, k)

    walk(plain)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_text.filter(lambda n: n and n != "__metadata__"), min_size=1, max_size=60, unique=True),
       metadata=st.dictionaries(_text, _text, max_size=60))  # fmt: skip
def test_a_file_record_stays_within_bounds_whatever_the_header(tmp_path: Path, names: list[str],
                                                                metadata: dict[str, str]) -> None:  # fmt: skip
    path = _write(tmp_path, "model.safetensors",
                  safetensors_bytes({n: ("F32", [1, 1, 1], b"\0" * 4) for n in names}, metadata=metadata))  # fmt: skip
    record = file_record(inspect_file(path))

    _within_bounds(record)
    assert record.tensor_count == len(names)
    assert fi.from_plain(json.loads(json.dumps(fi.to_plain(record)))) == record


_tensor = st.builds(fi.TensorInfo, _text, _text, st.lists(st.integers(-1, 2**40), max_size=40).map(tuple))
_records = st.builds(
    fi.FormatInfo,
    format=_text, framework=_text, architecture=_text,
    parameters=st.integers(0, 2**62), tensor_count=st.integers(0, 2**40),
    dtypes=st.lists(_text, max_size=80).map(tuple),
    tensors=st.lists(_tensor, max_size=40).map(tuple),
    onnx=st.none() | st.builds(fi.OnnxInfo, op_types=st.lists(_text, max_size=80).map(tuple),
                               inputs=st.lists(_tensor, max_size=40).map(tuple)),
    gguf=st.none() | st.builds(fi.GgufInfo, name=_text, kv=st.dictionaries(_text, _text, max_size=80)),
    details=st.dictionaries(_text, _text, max_size=80),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(_records)
def test_bounded_cuts_every_list_string_and_map_and_round_trips(record: fi.FormatInfo) -> None:
    cut = fi.bounded(record)

    _within_bounds(cut)
    assert fi.bounded(cut) == cut
    assert fi.from_plain(json.loads(json.dumps(fi.to_plain(cut)))) == cut


def _card_folder(tmp_path: Path, results: str) -> object:
    readme = f"---\nmodel-index:\n- name: m\n  results:\n{results}---\n# card\n"
    return inspect_folder(tmp_path, write_files(tmp_path, {"README.md": readme, "config.json": "{}"}))


def test_card_names_become_valid_metric_keys_and_text_values_are_left_out(tmp_path: Path) -> None:
    results = (
        "  - dataset: {name: '1k set!', split: 'test/clean'}\n"
        "    metrics:\n"
        "    - {type: 'exact match', value: 71}\n"
        "    - {type: rouge, value: 'n/a'}\n"
    )
    metrics = card_metrics(_card_folder(tmp_path, results))  # type: ignore[arg-type]

    assert [(m.key, m.split, m.value) for m in metrics] == [("_1k_set/exact_match", "test_clean", 71.0)]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dataset=st.text(max_size=200), split=st.text(max_size=200), metric=st.text(max_size=200))
def test_whatever_a_card_names_its_metrics_are_valid(tmp_path: Path, dataset: str, split: str, metric: str) -> None:
    from studbook.daemon.app.versions import validate_metrics

    results = (f"  - dataset: {{name: {json.dumps(dataset)}, split: {json.dumps(split)}}}\n"
               f"    metrics:\n    - {{type: {json.dumps(metric)}, value: 0.5}}\n")  # fmt: skip
    folder = _card_folder(tmp_path, results)

    validate_metrics(card_metrics(folder))  # type: ignore[arg-type]
