"""Keras v3 `.keras` archives: config.json and metadata.json, with Lambda layers flagged."""

from __future__ import annotations

import zipfile
from typing import Any

from studbook.daemon.domain.model import Signature, TensorSpec
from studbook.daemon.formats import jsonutil, zipsafe
from studbook.daemon.formats.info import LAMBDA_LAYER, FileInfo
from studbook.daemon.formats.limits import Limits

FORMAT = "keras"
# Serialised functions: deserialising any of these runs stored bytecode.
_CODE_CLASSES = frozenset({"Lambda", "__lambda__"})


def is_keras(names: list[str]) -> bool:
    return "config.json" in names and ("metadata.json" in names or "model.weights.h5" in names)


def inspect(archive: zipfile.ZipFile, limits: Limits) -> FileInfo:
    config = _json(archive, "config.json", limits)
    names = archive.namelist()
    about = _json(archive, "metadata.json", limits) if "metadata.json" in names else {}
    metadata: dict[str, Any] = {"archive": zipsafe.listing(archive, limits)}
    if isinstance(about, dict):
        for key in ("keras_version", "date_saved"):
            if isinstance(about.get(key), str):
                metadata[key] = about[key]
    flags: list[str] = []
    layer_types: dict[str, int] = {}
    custom: dict[str, None] = {}
    inputs: list[TensorSpec] = []
    for node in jsonutil.walk(config, limits.max_depth, 1_000_000):
        if isinstance(node, dict) and isinstance(node.get("layers"), list):
            # A model's own `layers` list: initializers, dtype policies and the like are
            # serialised objects too, but not layers.
            for layer in node["layers"]:
                if isinstance(layer, dict) and isinstance(layer.get("class_name"), str):
                    layer_types[layer["class_name"]] = layer_types.get(layer["class_name"], 0) + 1
        if not isinstance(node, dict) or not isinstance(node.get("class_name"), str):
            continue
        class_name = node["class_name"]
        if class_name in _CODE_CLASSES and LAMBDA_LAYER not in flags:
            flags.append(LAMBDA_LAYER)
        module = node.get("module")
        if isinstance(node.get("registered_name"), str) and not (
            isinstance(module, str) and module.startswith("keras")
        ):
            custom.setdefault(node["registered_name"][:200], None)
        if class_name == "InputLayer" and isinstance(node.get("config"), dict):
            inputs.append(_input_spec(node["config"]))
    if isinstance(config, dict):
        metadata["model_class"] = str(config.get("class_name", ""))[:200]
        inner = config.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            metadata["model_name"] = inner["name"][:200]
        if not inputs:
            inputs = _build_input(config)
    metadata["layer_types"] = dict(list(layer_types.items())[: limits.max_listed])
    metadata["layer_count"] = sum(layer_types.values())
    if custom:
        metadata["custom_objects"] = list(custom)[: limits.max_listed]
    signature = Signature(inputs=tuple(inputs)) if inputs else None
    return FileInfo(format=FORMAT, flags=tuple(flags), metadata=metadata, signature=signature)


def _json(archive: zipfile.ZipFile, name: str, limits: Limits) -> Any:
    data = zipsafe.read_member(archive, name, limits.max_json_bytes)
    return jsonutil.loads(data, f"Keras {name}", limits.max_json_bytes)


def _shape(raw: Any) -> tuple[int, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(d if type(d) is int else -1 for d in raw[:64])


def _dtype(raw: Any) -> str:
    """A dtype string, or a DTypePolicy object's name."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict) and isinstance(raw.get("config"), dict):
        name = raw["config"].get("name")
        return name if isinstance(name, str) else ""
    return ""


def _input_spec(config: dict[str, Any]) -> TensorSpec:
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    return TensorSpec(name=str(config.get("name", ""))[:200], dtype=_dtype(config.get("dtype")), shape=_shape(shape))


def _build_input(config: dict[str, Any]) -> list[TensorSpec]:
    """Sequential models without an InputLayer record their input in build_config."""
    build = config.get("build_config")
    if isinstance(build, dict) and isinstance(build.get("input_shape"), list):
        return [TensorSpec(name="input", shape=_shape(build["input_shape"]))]
    return []
