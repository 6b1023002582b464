"""Pickle and joblib: an opcode scan that reports what a file would import, and never
imports, calls or constructs anything."""

from __future__ import annotations

import bz2
import json
import os
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from studbook.daemon.formats import FormatError, Limits, inspect_file


class RunsCommand:
    """Unpickling this runs a shell command: the classic malicious pickle."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


def write(tmp_path: Path, data: bytes, name: str = "model.pkl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


SYSTEM = f"{os.system.__module__}.system"  # posix.system here


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_malicious_reduce_is_flagged_and_nothing_runs(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "executed"
    data = pickle.dumps({"model": RunsCommand(f"touch {marker}")}, protocol=protocol)
    path = write(tmp_path, data)

    info = inspect_file(path)

    assert info.format == "pickle"
    assert "unsafe-format" in info.flags
    assert f"dangerous-global:{SYSTEM}" in info.flags
    assert info.metadata["unsafe_globals"] == [SYSTEM]
    assert not marker.exists()


def test_globals_reached_through_getattr_are_reported(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    # getattr(importlib.import_module("os"), "system")("touch marker"), by hand.
    data = (
        b"cbuiltins\ngetattr\n(cimportlib\nimport_module\n(S'os'\ntRS'system'\ntR"
        + f"(S'touch {marker}'\ntR.".encode()
    )
    path = write(tmp_path, data)

    info = inspect_file(path)

    assert "dangerous-global:builtins.getattr" in info.flags
    assert "dangerous-global:importlib.import_module" in info.flags
    assert not marker.exists()


def test_stack_global_names_are_followed_through_the_memo(tmp_path: Path) -> None:
    # Protocol 4 memoizes the module and name strings; the second reference reuses them.
    data = pickle.dumps([RunsCommand("true"), RunsCommand("true")], protocol=4)
    path = write(tmp_path, data)

    info = inspect_file(path)

    assert info.metadata["globals"] == [SYSTEM]


def test_a_scikit_learn_pickle_reports_its_class_and_version_without_unsafe_globals(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    x = np.arange(40, dtype=float).reshape(20, 2)
    model = LogisticRegression().fit(x, (x[:, 0] > 20).astype(int))
    path = write(tmp_path, pickle.dumps(model))

    info = inspect_file(path)

    assert info.format == "pickle"
    assert info.flags == ("unsafe-format",)
    assert info.metadata["object_type"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert info.metadata["library_versions"] == {"scikit-learn": sklearn.__version__}
    json.dumps(info.metadata)


def _forest() -> Any:
    np = pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    from sklearn.ensemble import RandomForestClassifier

    x = np.random.default_rng(0).random((60, 3))
    return RandomForestClassifier(n_estimators=3, random_state=0).fit(x, (x[:, 0] > 0.5).astype(int))


@pytest.mark.parametrize("compress", [0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)])
def test_joblib_files_are_scanned_through_inline_arrays_and_compression(tmp_path: Path, compress: Any) -> None:
    joblib = pytest.importorskip("joblib")
    model = _forest()
    path = tmp_path / "model.joblib"
    joblib.dump(model, path, compress=compress)

    info = inspect_file(path)

    assert info.format == "joblib"
    assert info.flags == ("unsafe-format",)
    assert info.metadata["object_type"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert info.metadata["library_versions"]["scikit-learn"]
    assert info.metadata["arrays"] > 3
    assert info.metadata.get("compression") == (compress[0] if compress else None)


def test_joblib_object_arrays_are_scanned_as_nested_pickles(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    marker = tmp_path / "executed"
    payload = np.empty(2, dtype=object)
    payload[0], payload[1] = "fine", RunsCommand(f"touch {marker}")
    path = tmp_path / "model.joblib"
    joblib.dump({"weights": np.zeros((50, 50)), "extra": payload, "after": np.ones(3)}, path)

    info = inspect_file(path)

    assert f"dangerous-global:{SYSTEM}" in info.flags
    assert info.metadata["arrays"] == 3
    assert not marker.exists()


def test_large_byte_arguments_are_skipped_not_held(tmp_path: Path) -> None:
    data = pickle.dumps({"blob": b"\x01" * 3_000_000}, protocol=4)
    path = write(tmp_path, data)

    info = inspect_file(path, Limits(max_pickle_bytes=64 * 1024, max_pickle_argument_bytes=1024))

    assert info.format == "pickle"


def test_opcode_budget_stops_huge_pickles(tmp_path: Path) -> None:
    path = write(tmp_path, pickle.dumps(list(range(5000)), protocol=4))

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_pickle_ops=1000))

    assert caught.value.reason == "PICKLE_TOO_LARGE"


def test_byte_budget_stops_huge_pickles(tmp_path: Path) -> None:
    path = write(tmp_path, pickle.dumps([str(i) for i in range(5000)], protocol=4))

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_pickle_bytes=4096))

    assert caught.value.reason == "PICKLE_TOO_LARGE"


def test_absurd_declared_argument_length_is_refused_quickly(tmp_path: Path) -> None:
    data = b"\x80\x04" + b"\x8e" + struct.pack("<Q", 2**62) + b"tiny" + b"."  # BINBYTES8
    path = write(tmp_path, data)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason in ("PICKLE_TOO_LARGE", "BAD_PICKLE")


def test_payload_budget_bounds_decompressed_arrays(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    path = tmp_path / "zeros.joblib"
    joblib.dump(np.zeros(1_000_000), path, compress=3)  # 8 MB of zeros, a few KB on disk

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_pickle_payload_bytes=1_000_000))

    assert caught.value.reason == "PICKLE_TOO_LARGE"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (pickle.dumps({"a": 1}, protocol=4)[:-1], "TRUNCATED"),
        (b"\x80\x04\xff.", "BAD_PICKLE"),  # unknown opcode
        (b"\x80\x04R.", "BAD_PICKLE"),  # REDUCE on an empty stack
        (b"\x80\x04h\x05.", "BAD_PICKLE"),  # memo key never set
    ],
)
def test_malformed_pickles_get_a_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    path = write(tmp_path, data)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == reason


def test_corrupt_compressed_joblib_is_refused(tmp_path: Path) -> None:
    good = zlib.compress(pickle.dumps(list(range(2000)), protocol=4))
    path = write(tmp_path, good[:40] + b"\xff" * 200, "model.joblib")

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_COMPRESSION"


def test_bz2_pickles_are_detected_without_a_known_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, bz2.compress(pickle.dumps({"a": [1, 2, 3]}, protocol=4)), "blob")

    info = inspect_file(path)

    assert (info.format, info.metadata["compression"]) == ("joblib", "bz2")


def test_legacy_torch_save_is_recognised(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.zeros(3, 4)}, path, _use_new_zipfile_serialization=False)

    info = inspect_file(path)

    assert info.format == "pytorch"
    assert info.metadata["legacy_serialization"] is True
    assert info.metadata["tensors"] == {"w": {"dtype": "float32", "shape": [3, 4]}}
    assert info.parameter_count == 12
