"""Zip-based files: PyTorch checkpoints, Keras archives, numpy .npz, or a plain zip."""

from __future__ import annotations

from pathlib import Path

from studbook.daemon.formats import keras, pytorch, zipsafe
from studbook.daemon.formats.info import FileInfo
from studbook.daemon.formats.limits import Limits


def inspect(path: Path, size: int, limits: Limits) -> FileInfo:
    with zipsafe.open_zip(path, size, limits) as archive:
        names = archive.namelist()
        if pytorch.data_pickle(names) is not None:
            return pytorch.inspect(archive, limits)
        if keras.is_keras(names):
            return keras.inspect(archive, limits)
        listing = zipsafe.listing(archive, limits)
        if names and all(name.endswith(".npy") for name in names):
            return FileInfo(format="npz", metadata={"archive": listing})
        return FileInfo(format="zip", metadata={"archive": listing})
