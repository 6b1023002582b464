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
from support.models import expected, facts, fixture


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
        b"cbuiltins\ngetattr\n(cimportlib\nimport_module\n(S'os'\ntRS'system'\ntR" + f"(S'touch {marker}'\ntR.".encode()
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


def test_a_scikit_learn_pickle_reports_its_class_and_version_without_unsafe_globals() -> None:
    # pickle.dumps(LogisticRegression().fit(...))
    info = inspect_file(fixture("sklearn/logistic.pkl"))

    assert info.format == "pickle"
    assert info.flags == ("unsafe-format",)
    assert info.metadata["object_type"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert info.metadata["library_versions"] == {"scikit-learn": expected()["versions"]["scikit-learn"]}
    json.dumps(info.metadata)


@pytest.mark.parametrize(
    ("name", "compression"),
    [("none", None), ("zlib", "zlib"), ("gzip", "gzip"), ("bz2", "bz2"), ("xz", "xz"), ("lzma", "lzma")],
)
def test_joblib_files_are_scanned_through_inline_arrays_and_compression(name: str, compression: str | None) -> None:
    # joblib.dump(RandomForestClassifier(n_estimators=3).fit(...), compress=(compression, 3))
    info = inspect_file(fixture(f"sklearn/forest-{name}.joblib"))

    assert info.format == "joblib"
    assert info.flags == ("unsafe-format",)
    assert info.metadata["object_type"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert info.metadata["library_versions"]["scikit-learn"] == expected()["versions"]["scikit-learn"]
    assert info.metadata["arrays"] > 3
    assert info.metadata.get("compression") == compression


def test_joblib_object_arrays_are_scanned_as_nested_pickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its object array holds a pickle that runs `touch "$STUDBOOK_FIXTURE_MARKER"` when loaded.
    marker = tmp_path / "executed"
    monkeypatch.setenv("STUDBOOK_FIXTURE_MARKER", str(marker))

    info = inspect_file(fixture("sklearn/object-array.joblib"))

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


def test_payload_budget_bounds_decompressed_arrays() -> None:
    path = fixture("sklearn/zeros.joblib")  # joblib.dump(np.zeros(1_000_000), compress=3): 8 MB of zeros
    assert inspect_file(path).format == "joblib"  # within the default budget it reads

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


def test_legacy_torch_save_is_recognised() -> None:
    # torch.save({"w": zeros(3, 4)}, _use_new_zipfile_serialization=False)
    info = inspect_file(fixture("torch/legacy.pt"))

    assert info.format == "pytorch"
    assert info.metadata["legacy_serialization"] is True
    assert info.metadata["tensors"] == {"w": {"dtype": "float32", "shape": [3, 4]}}
    assert info.parameter_count == facts("torch/legacy.pt")["parameter_count"] == 12
