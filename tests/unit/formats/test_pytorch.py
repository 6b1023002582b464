"""PyTorch zip checkpoints: archive listing, data.pkl scanned, tensors and parameters."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
from studbook.daemon.formats import FormatError, inspect_file
from support.models import facts, fixture

from .builders import write_zip
from .test_pickle import SYSTEM, RunsCommand


def test_a_state_dict_reports_tensors_parameters_and_no_unsafe_globals() -> None:
    # torch.save(Sequential(Linear(4, 3), ReLU(), Linear(3, 2)).state_dict())
    info = inspect_file(fixture("torch/state_dict.pt"))

    assert info.format == "pytorch"
    assert info.flags == ("unsafe-format",)
    assert info.parameter_count == facts("torch/state_dict.pt")["parameter_count"] == 23
    assert info.metadata["tensors"]["0.weight"] == {"dtype": "float32", "shape": [3, 4]}
    assert info.metadata["tensor_count"] == facts("torch/state_dict.pt")["tensor_count"] == 4
    assert info.metadata["byteorder"] == "little"
    assert info.metadata["serialization_version"]
    assert info.metadata["unsafe_globals"] == []
    assert info.metadata["archive"]["entries"] >= 5
    json.dumps(info.metadata)


def test_a_whole_pickled_torch_nn_module_raises_no_global_flag() -> None:
    # torch.save(Sequential(Linear(2, 2)))
    info = inspect_file(fixture("torch/module.pt"))

    assert not any(f.endswith("torch.nn.modules.linear.Linear") for f in info.flags)
    assert info.metadata["object_type"] == "torch.nn.modules.container.Sequential"
    assert info.parameter_count == 6


def test_a_malicious_data_pkl_is_flagged_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    data = pickle.dumps({"w": RunsCommand(f"touch {marker}")}, protocol=2)
    path = write_zip(tmp_path / "model.pt", {"archive/data.pkl": data, "archive/version": b"3\n"})

    info = inspect_file(path)

    assert info.format == "pytorch"
    assert f"dangerous-global:{SYSTEM}" in info.flags
    assert not marker.exists()


def test_a_checkpoint_missing_a_storage_entry_is_refused(tmp_path: Path) -> None:
    source = fixture("torch/one_tensor.pt")  # torch.save({"w": zeros(2)})
    assert inspect_file(source).parameter_count == 2  # whole, it reads
    with zipfile.ZipFile(source) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist() if "/data/" not in i.filename}
    path = write_zip(tmp_path / "broken.pt", entries)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "MISSING_STORAGE"


def test_torchscript_archives_are_flagged_for_their_code() -> None:
    # torch.jit.save(torch.jit.script(Linear(2, 2)))
    info = inspect_file(fixture("torch/scripted.pt"))

    assert info.format == "pytorch"
    assert "torchscript-code" in info.flags


def test_a_data_pkl_larger_than_the_scan_limit_is_refused(tmp_path: Path) -> None:
    from studbook.daemon.formats import Limits

    data = pickle.dumps(list(range(10_000)), protocol=2)
    path = write_zip(tmp_path / "model.pt", {"archive/data.pkl": data})

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_pickle_bytes=1024))

    assert caught.value.reason == "MEMBER_TOO_LARGE"


def test_nothing_in_the_archive_is_extracted(tmp_path: Path) -> None:
    data = pickle.dumps({"a": 1}, protocol=2)
    path = write_zip(tmp_path / "model.pt", {"archive/data.pkl": data, "../escape.txt": b"x"})

    inspect_file(path)

    assert sorted(os.listdir(tmp_path)) == ["model.pt"]
