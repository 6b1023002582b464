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
    assert info.metadata["layer_types"] == {"InputLayer": 1, "Dense": 1}  # the model itself is not a layer
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


def keras_h5(config: dict[str, Any] | None, version: bytes = b"2.15.0", pad: int = 0) -> bytes:
    """The start of an HDF5 file as Keras 2 writes it: superblock, then root attributes
    stored inline as fixed-length strings (name, datatype and dataspace, value)."""
    datatype = b"\x13\x00\x00\x00" + b"\x00" * 12  # string class, sizes: opaque to the scan

    def attribute(name: bytes, value: bytes) -> bytes:
        return b"\x0c\x00" + name + b"\x00" * (8 - len(name) % 8) + datatype + value

    body = b"\x89HDF\r\n\x1a\n" + b"\x00" * (88 + pad)
    body += attribute(b"keras_version", version) + attribute(b"backend", b"tensorflow")
    if config is not None:
        body += attribute(b"model_config", json.dumps(config).encode())
    return body + b"\x00" * 512


def test_a_keras_2_h5_model_is_keras_in_an_hdf5_container(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": []}}
    path = tmp_path / "model.h5"
    path.write_bytes(keras_h5(config))

    info = inspect_file(path)

    assert info.format == "keras"
    assert info.flags == ()
    assert info.metadata == {
        "container": "hdf5", "keras_version": "2.15.0", "backend": "tensorflow", "model_class": "Sequential",
    }  # fmt: skip


def test_a_keras_h5_with_a_lambda_layer_is_flagged(tmp_path: Path) -> None:
    layer = keras_layer("Lambda", {"function": ["4wEAAAAAAAAA", None, None]})
    path = tmp_path / "model.hdf5"
    path.write_bytes(keras_h5({"class_name": "Functional", "config": {"layers": [layer]}}))

    info = inspect_file(path)

    assert (info.format, info.flags) == ("keras", ("lambda-layer",))


def test_plain_hdf5_stays_hdf5_and_matches_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 4096)

    info = inspect_file(path)

    assert (info.format, info.flags) == ("hdf5", ())


def test_keras_attributes_beyond_the_scan_bound_are_not_looked_for(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(keras_h5(None, pad=2048))

    assert inspect_file(path, Limits(max_hdf5_scan_bytes=1024)).format == "hdf5"
    assert inspect_file(path).metadata["keras_version"] == "2.15.0"
