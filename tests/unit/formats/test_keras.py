"""Keras `.keras` archives: config and metadata read as JSON, Lambda layers flagged."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from studbook.daemon.domain.model import TensorSpec
from studbook.daemon.formats import FormatError, Limits, inspect_file

from .builders import keras_archive, keras_layer, write_zip


def sequential(*layers: dict[str, Any]) -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "classifier", "layers": list(layers)},
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
    }


INPUT = keras_layer("InputLayer", {"batch_shape": [None, 4], "dtype": "float32", "name": "features"})
DENSE = keras_layer("Dense", {"name": "dense", "units": 2})


def test_config_and_metadata_are_read(tmp_path: Path) -> None:
    path = keras_archive(tmp_path / "model.keras", sequential(INPUT, DENSE))

    info = inspect_file(path)

    assert info.format == "keras"
    assert info.flags == ()
    assert info.metadata["keras_version"] == "3.6.0"
    assert info.metadata["model_class"] == "Sequential"
    assert info.metadata["model_name"] == "classifier"
    assert info.metadata["layer_types"] == {"Sequential": 1, "InputLayer": 1, "Dense": 1}
    assert info.signature is not None
    assert info.signature.inputs == (TensorSpec("features", "float32", (-1, 4)),)
    json.dumps(info.metadata)


def test_a_lambda_layer_anywhere_is_flagged(tmp_path: Path) -> None:
    lam = keras_layer(
        "Lambda",
        {"name": "lam", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}},
    )
    inner = {"module": "keras", "class_name": "Functional", "config": {"name": "inner", "layers": [lam]}}
    path = keras_archive(tmp_path / "model.keras", sequential(INPUT, inner, DENSE))

    info = inspect_file(path)

    assert info.flags == ("lambda-layer",)


def test_custom_objects_are_listed(tmp_path: Path) -> None:
    custom = {"module": "my_project.layers", "class_name": "Scaler", "config": {}, "registered_name": "Custom>Scaler"}
    path = keras_archive(tmp_path / "model.keras", sequential(INPUT, custom))

    info = inspect_file(path)

    assert info.metadata["custom_objects"] == ["Custom>Scaler"]


def test_sequential_without_input_layer_takes_its_build_shape(tmp_path: Path) -> None:
    path = keras_archive(tmp_path / "model.keras", sequential(DENSE))

    info = inspect_file(path)

    assert info.signature is not None
    assert info.signature.inputs[0].shape == (-1, 4)


def test_malformed_config_is_refused(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "model.keras", {"config.json": b"{not json", "metadata.json": b"{}"}, zipfile.ZIP_DEFLATED
    )

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_JSON"


def test_config_above_the_json_limit_is_refused(tmp_path: Path) -> None:
    path = keras_archive(tmp_path / "model.keras", sequential(INPUT, DENSE))

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_json_bytes=64))

    assert caught.value.reason == "MEMBER_TOO_LARGE"
