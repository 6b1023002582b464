"""The committed real model files (tests/fixtures/models) as the readers see them: every file's
format detected from its bytes, counts matching what the writing library said, and what
the Hugging Face, transformers, MLflow, Keras and SavedModel folders declare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from studbook.daemon.domain.model import Dataset, TensorSpec
from studbook.daemon.formats import FolderInfo, inspect_file, inspect_folder
from support.models import FIXTURES, expected, facts, fixture

# What each committed file is, by how it is named; everything else (JSON, text, YAML,
# tokenizer files, raw weights) is no model format of its own.
_BY_SUFFIX = {
    ".safetensors": "safetensors", ".gguf": "gguf", ".onnx": "onnx", ".pt": "pytorch",
    ".joblib": "joblib", ".pkl": "pickle", ".keras": "keras",
    ".h5": "keras",  # written by Keras: its HDF5 root attributes say so
}  # fmt: skip
_HOSTILE = {"onnx/escape.onnx"}  # refused, see test_onnx.py
_FILES = sorted(
    p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file() and "__pycache__" not in p.parts
)


def folder_info(name: str) -> FolderInfo:
    root = fixture(name)
    return inspect_folder(root, [p.relative_to(root) for p in root.rglob("*") if p.is_file()])


def test_the_fixtures_cover_every_format_the_readers_name() -> None:
    formats = {_expected_format(name) for name in _FILES}

    assert formats >= {"safetensors", "gguf", "onnx", "pytorch", "joblib", "pickle", "keras", "savedmodel"}


def _expected_format(name: str) -> str:
    if Path(name).name == "saved_model.pb":
        return "savedmodel"
    return _BY_SUFFIX.get(Path(name).suffix, "unknown")


@pytest.mark.parametrize("name", [n for n in _FILES if n not in _HOSTILE])
def test_every_committed_file_is_detected_as_what_made_it(name: str) -> None:
    info = inspect_file(fixture(name))

    assert info.format == _expected_format(name)
    assert "extension-mismatch" not in info.flags
    json.dumps(info.metadata)


_COUNTED = sorted(
    name for name, fact in expected()["files"].items() if "parameter_count" in fact and not name.startswith("keras/")
)


@pytest.mark.parametrize("name", _COUNTED)
def test_parameter_and_tensor_counts_match_what_the_writing_library_counted(name: str) -> None:
    info = inspect_file(fixture(name))

    assert info.parameter_count == facts(name)["parameter_count"]
    if "tensor_count" in facts(name):
        assert info.metadata["tensor_count"] == facts(name)["tensor_count"]


# -- Hugging Face folders -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["huggingface/tiny-sentiment", "huggingface/tiny-sentiment-sharded"])
def test_a_hugging_face_folder_declares_its_card_config_and_results(name: str) -> None:
    info = folder_info(name)

    assert info.kind == "huggingface"
    assert info.model_card.startswith("# tiny-sentiment")
    assert info.tags == {
        "license": "apache-2.0", "pipeline_tag": "text-classification", "library_name": "transformers",
        "language": "en", "sentiment": "", "tiny": "", "model_type": "bert",
    }  # fmt: skip
    assert info.datasets == [Dataset(name="imdb")]
    assert info.base_model == "google-bert/bert-base-uncased"
    assert info.environment.packages == {"transformers": "4.46.0"}
    assert info.metadata["config"]["architectures"] == ["BertForSequenceClassification"]
    assert info.metadata["config"]["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}
    assert info.metadata["card"]["eval_results"] == [
        {"task": "text-classification", "dataset": "IMDB", "split": "test", "metric": "accuracy", "value": 0.912},
        {"task": "text-classification", "dataset": "IMDB", "split": "test", "metric": "f1", "value": 0.905},
    ]
    assert info.flags == ()


def test_a_hugging_face_checkpoint_mixes_f32_f16_and_bf16() -> None:
    info = inspect_file(fixture("huggingface/tiny-sentiment/model.safetensors"))

    assert info.metadata["dtypes"] == {"float32": 216, "float16": 72, "bfloat16": 18}
    assert info.metadata["tensors"]["classifier.weight"] == {"dtype": "bfloat16", "shape": [2, 8]}
    assert info.parameter_count == expected()["huggingface_parameter_count"]


def _shard_parameters(folder: Path) -> int:
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) == 2
    counts = [inspect_file(folder / shard).parameter_count for shard in shards]
    assert None not in counts
    return sum(c for c in counts if c is not None)


def test_the_shards_named_by_the_index_add_up_to_the_whole_checkpoint() -> None:
    folder = fixture("huggingface/tiny-sentiment-sharded")

    assert _shard_parameters(folder) == expected()["huggingface_parameter_count"]


# -- transformers save_pretrained ------------------------------------------------------------


def test_a_transformers_save_pretrained_folder_names_its_architecture_and_version() -> None:
    info = folder_info("transformers/bert-tiny")

    assert info.kind == "huggingface"
    assert info.environment.packages == {"transformers": expected()["versions"]["transformers"]}
    assert info.metadata["config"]["model_type"] == "bert"
    assert info.metadata["config"]["num_hidden_layers"] == 1
    assert info.tags == {}  # no README.md card
    assert info.flags == ()


def test_a_transformers_checkpoint_counts_every_module_parameter() -> None:
    info = inspect_file(fixture("transformers/bert-tiny/model.safetensors"))

    assert info.format == "safetensors"
    assert info.parameter_count == expected()["transformers"]["parameter_count"]


def test_a_transformers_sharded_checkpoint_adds_up_across_its_shards() -> None:
    folder = fixture("transformers/bert-tiny-sharded")

    assert folder_info("transformers/bert-tiny-sharded").kind == "huggingface"
    assert _shard_parameters(folder) == expected()["transformers"]["parameter_count"]


# -- MLflow ---------------------------------------------------------------------------------


def test_an_mlflow_folder_declares_run_signature_and_environment() -> None:
    mlflow = expected()["mlflow"]

    info = folder_info("mlflow/model")

    assert info.kind == "mlflow"
    assert info.run_id == mlflow["run_id"]
    assert info.environment.python_version == mlflow["python_version"]
    assert info.environment.requirements == mlflow["requirements"]
    assert info.environment.packages["scikit-learn"] == mlflow["sklearn_version"]
    assert info.environment.packages["mlflow"] == mlflow["mlflow_version"]
    assert info.signature is not None
    assert info.signature.inputs == (TensorSpec("x0", "float64", (-1,)), TensorSpec("x1", "float64", (-1,)))
    assert info.signature.outputs == (TensorSpec("0", "int64", (-1,)),)
    assert info.metadata["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    assert info.flags == ()


def test_the_mlflow_models_pickle_names_its_estimator() -> None:
    info = inspect_file(fixture("mlflow/model/model.pkl"))

    assert info.metadata["object_type"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert info.metadata["unsafe_globals"] == []


# -- Keras and TensorFlow --------------------------------------------------------------------


def test_a_keras_functional_model_reports_its_input_layers_and_version() -> None:
    info = inspect_file(fixture("keras/functional.keras"))

    assert info.format == "keras"
    assert info.flags == ()
    assert info.metadata["keras_version"] == expected()["versions"]["keras"]
    assert info.metadata["model_class"] == "Functional"
    assert info.metadata["model_name"] == "tiny_functional"
    assert info.metadata["layer_types"] == {"InputLayer": 1, "Dense": 2}
    assert info.metadata["layer_count"] == expected()["files"]["keras/functional.keras"]["layer_count"]
    assert info.signature is not None
    assert info.signature.inputs == (TensorSpec("features", "float32", (-1, 4)),)


def test_a_keras_sequential_model_reports_its_built_input() -> None:
    info = inspect_file(fixture("keras/sequential.keras"))

    assert info.metadata["model_class"] == "Sequential"
    assert info.signature is not None
    assert [spec.shape for spec in info.signature.inputs] == [(-1, 3)]


def test_a_keras_lambda_layer_is_flagged() -> None:
    info = inspect_file(fixture("keras/lambda.keras"))

    assert info.flags == ("lambda-layer",)
    assert info.metadata["layer_types"]["Lambda"] == 1


def test_a_tensorflow_saved_model_declares_its_serving_signature() -> None:
    info = folder_info("tensorflow/saved_model")

    assert info.kind == "savedmodel"
    assert info.environment.packages == {"tensorflow": expected()["versions"]["tensorflow"]}
    assert info.signature is not None
    assert info.signature.inputs == (TensorSpec("x", "float32", (-1, 3)),)
    assert info.signature.outputs == (TensorSpec("y", "float32", (-1, 2)),)
    assert info.metadata["methods"] == {"serving_default": "tensorflow/serving/predict"}
    assert info.metadata["variables"] == ["variables/variables.data-00000-of-00001", "variables/variables.index"]


def test_a_keras_h5_file_is_keras_in_an_hdf5_container() -> None:
    info = inspect_file(fixture("keras/legacy.h5"))

    assert (info.format, info.metadata["container"]) == ("keras", "hdf5")
