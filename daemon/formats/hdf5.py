"""HDF5 files, and the legacy Keras `.h5` models among them: Keras writes its root
attributes (keras_version, backend, model_config) first, so a bounded scan of the file's
start finds them without an HDF5 library. Values are read only when stored inline as
fixed-length strings (Keras 2 encodes them to bytes, which h5py stores that way)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from studbook.daemon.formats.info import LAMBDA_LAYER, FileInfo
from studbook.daemon.formats.limits import Limits

FORMAT = "hdf5"
KERAS = "keras"
MAGIC = b"\x89HDF\r\n\x1a\n"

# Attribute names Keras puts on the root group, NUL-terminated as HDF5 stores them.
_KERAS_NAMES = (b"keras_version\x00", b"model_config\x00")
# An attribute message's datatype and dataspace sit between its name and its value.
_VALUE_WINDOW = 256
_VERSION = re.compile(rb"\d+\.\d+(?:\.\d+)?(?:[.-]?[A-Za-z0-9]+)?")
_BACKEND = re.compile(rb"tensorflow|theano|cntk|jax|torch|numpy")
_CLASS = re.compile(rb'\{\s*"class_name"\s*:\s*"([A-Za-z_][A-Za-z0-9_]{0,100})"')
_LAMBDA = re.compile(rb'"class_name"\s*:\s*"Lambda"')


def inspect(path: Path, limits: Limits) -> FileInfo:
    with open(path, "rb") as fileobj:
        start = fileobj.read(limits.max_hdf5_scan_bytes)
    if not any(name in start for name in _KERAS_NAMES):
        return FileInfo(format=FORMAT)
    metadata: dict[str, Any] = {"container": FORMAT}
    version = _after(start, b"keras_version\x00", _VERSION)
    if version:
        metadata["keras_version"] = version
    backend = _after(start, b"backend\x00", _BACKEND)
    if backend:
        metadata["backend"] = backend
    config_at = start.find(b"model_config\x00")
    flags: tuple[str, ...] = ()
    if config_at >= 0:
        found = _CLASS.search(start, config_at, config_at + _VALUE_WINDOW)
        if found:
            metadata["model_class"] = found.group(1).decode()
        # A Lambda layer stores marshalled Python bytecode that loading runs.
        if _LAMBDA.search(start, config_at):
            flags = (LAMBDA_LAYER,)
    return FileInfo(format=KERAS, flags=flags, metadata=metadata)


def _after(data: bytes, name: bytes, pattern: re.Pattern[bytes]) -> str:
    at = data.find(name)
    if at < 0:
        return ""
    found = pattern.search(data, at + len(name), at + len(name) + _VALUE_WINDOW)
    return found.group().decode("ascii", errors="replace") if found else ""
