"""PyTorch zip checkpoints (torch.save, TorchScript): the archive listing and an opcode
scan of data.pkl, with tensor shapes and the parameter count it declares."""

from __future__ import annotations

import zipfile
from typing import Any

from studbook.daemon.formats import pickle_scan, zipsafe
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.info import TORCHSCRIPT_CODE, FileInfo, unique_flags
from studbook.daemon.formats.limits import Limits

FORMAT = "pytorch"
# Small text records beside data.pkl worth copying into metadata.
_RECORDS = {"version": "serialization_version", "byteorder": "byteorder", ".format_version": "format_version"}


def data_pickle(names: list[str]) -> str | None:
    """The archive's data.pkl (one folder deep in torch.save output), if any."""
    candidates = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    return min(candidates, key=lambda n: n.count("/")) if candidates else None


def inspect(archive: zipfile.ZipFile, limits: Limits) -> FileInfo:
    names = archive.namelist()
    pickle_name = data_pickle(names)
    if pickle_name is None:
        raise FormatError("BAD_ARCHIVE", "PyTorch archive has no data.pkl")
    prefix = pickle_name[: -len("data.pkl")]
    result = pickle_scan.scan_bytes(zipsafe.read_member(archive, pickle_name, limits.max_pickle_bytes), limits)
    metadata: dict[str, Any] = {"archive": zipsafe.listing(archive, limits)}
    metadata.update(pickle_scan.scan_metadata(result, limits))
    for record, key in _RECORDS.items():
        if prefix + record in names:
            raw = zipsafe.read_member(archive, prefix + record, 64)
            metadata[key] = raw.decode("utf-8", errors="replace").strip()
    flags: list[str] = list(pickle_scan.scan_flags(result, limits))
    if any(n.startswith(prefix + "code/") for n in names):
        # TorchScript archives carry Python-like source that torch.jit.load compiles.
        flags.append(TORCHSCRIPT_CODE)
        constants = prefix + "constants.pkl"
        if constants in names:
            extra = pickle_scan.scan_bytes(zipsafe.read_member(archive, constants, limits.max_pickle_bytes), limits)
            flags.extend(pickle_scan.scan_flags(extra, limits))
    present = set(names)
    missing = sorted({t.storage for t in result.tensors if t.storage and f"{prefix}data/{t.storage}" not in present})
    if missing:
        raise FormatError(
            "MISSING_STORAGE",
            f"PyTorch archive references {len(missing)} storage entries it does not contain "
            f"(first: {missing[0][:64]!r})",
        )
    return FileInfo(
        format=FORMAT,
        flags=unique_flags(flags),
        metadata=metadata,
        parameter_count=pickle_scan.parameter_count(result) if result.tensors else None,
    )
