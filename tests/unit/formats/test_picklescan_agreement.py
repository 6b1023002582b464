"""The pickle scanner agrees with picklescan, the scanner model hubs run: every global it
calls dangerous is flagged dangerous-global here, and benign files earn no such flag."""

from __future__ import annotations

import builtins
import functools
import io
import os
import pickle
import runpy
import shutil
import socket
import subprocess
import webbrowser
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from picklescan import scanner
from studbook.daemon.formats import inspect_file
from studbook.daemon.formats.info import DANGEROUS_GLOBAL

from .builders import pickle_global, write_zip


class Reduces:
    """Pickles as fn(*args): how a hostile pickle is written."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (self.fn, self.args)


HOSTILE: dict[str, Any] = {
    "os.system": Reduces(os.system, "true"),
    "subprocess.Popen": Reduces(subprocess.Popen, ["true"]),
    "eval": Reduces(builtins.eval, "1+1"),
    "exec": Reduces(builtins.exec, "x = 1"),
    "__import__": Reduces(getattr, Reduces(builtins.__import__, "os"), "system"),
    "getattr chain": Reduces(getattr, Reduces(getattr, Reduces(builtins.__import__, "os"), "path"), "join"),
    "partial": functools.partial(os.system, "true"),
    "runpy": Reduces(runpy._run_code, "x = 1", {}),  # type: ignore[attr-defined]
    "webbrowser": Reduces(webbrowser.open, "http://localhost"),
    "socket": Reduces(socket.create_connection, ("localhost", 1)),
    "shutil.rmtree": Reduces(shutil.rmtree, "/nonexistent"),
    "io.open": Reduces(io.open, "/etc/hostname"),
    "nested in a dict": {"weights": [1, 2], "hook": [OrderedDict(a=Reduces(os.system, "true"))]},
}
BENIGN: dict[str, Any] = {
    "plain": {"w": [1.0, 2.0], "name": "x", "shape": (2, 3), "blob": b"\0" * 32},
    "ordered": OrderedDict(a=1, b=[{1, 2}, frozenset({3})]),
    "nested": [[(), (1,)], {"k": {"k": None}}],
}
PROTOCOLS = range(0, pickle.HIGHEST_PROTOCOL + 1)


def picklescan_dangerous(path: Path) -> set[str]:
    found = scanner.scan_file_path(str(path))
    return {f"{g.module}.{g.name}" for g in found.globals if g.safety == scanner.SafetyLevel.Dangerous}


def expected_flag(qualified: str) -> str:
    # picklescan names a reference it cannot resolve "unknown"; this scanner "<dynamic>".
    return DANGEROUS_GLOBAL + ("<dynamic>.<dynamic>" if "unknown" in qualified else qualified)


def assert_agrees(path: Path) -> set[str]:
    theirs = picklescan_dangerous(path)
    flags = inspect_file(path).flags
    for qualified in theirs:
        assert expected_flag(qualified) in flags, (qualified, flags)
    return theirs


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_global_picklescan_calls_dangerous_is_flagged(tmp_path: Path, name: str, protocol: int) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(HOSTILE[name], protocol=protocol))

    assert_agrees(path)

    # This scanner flags the whole corpus, picklescan's misses included (io.open).
    assert any(flag.startswith(DANGEROUS_GLOBAL) for flag in inspect_file(path).flags)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_data_pkl_in_a_torch_style_archive_is_flagged(tmp_path: Path, name: str) -> None:
    data = pickle.dumps(HOSTILE[name], protocol=2)
    path = write_zip(tmp_path / "model.pt", {"archive/data.pkl": data, "archive/version": b"3\n"})

    assert_agrees(path)

    assert any(flag.startswith(DANGEROUS_GLOBAL) for flag in inspect_file(path).flags)


@pytest.mark.parametrize("name", sorted(BENIGN))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_benign_pickles_raise_no_dangerous_global(tmp_path: Path, name: str, protocol: int) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(BENIGN[name], protocol=protocol))

    assert picklescan_dangerous(path) == set()
    assert not any(flag.startswith(DANGEROUS_GLOBAL) for flag in inspect_file(path).flags)


def _reference_entries() -> list[tuple[str, str]]:
    """(module, name) for each entry of picklescan's own deny-list."""
    entries: list[tuple[str, str]] = []
    for module, names in scanner._unsafe_globals.items():
        if names == "*":
            entries.append((module, "anything"))
        elif isinstance(names, str):
            entries.append((module, names))
        else:
            entries.extend((module, name) for name in sorted(names))
    return entries


@pytest.mark.parametrize(("module", "name"), _reference_entries())
def test_each_entry_of_picklescans_deny_list_is_dangerous_here(tmp_path: Path, module: str, name: str) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle_global(module, name, 2))

    assert assert_agrees(path) == {f"{module}.{name}"}


_POOL = [entry for entry in _reference_entries() if "." not in entry[1]] + [
    ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("numpy", "dtype"),
    ("sklearn.tree._tree", "Tree"), ("__main__", "Net"), ("mypackage.layers", "Block"),
]  # fmt: skip


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.lists(st.sampled_from(_POOL), min_size=1, max_size=6), protocol=st.sampled_from([0, 2]))
def test_any_mix_of_globals_gets_picklescans_dangerous_verdicts(
    tmp_path: Path, chosen: list[tuple[str, str]], protocol: int
) -> None:
    # A list of bare references: MARK, GLOBAL..., LIST, STOP.
    body = b"(" + b"".join(b"c%s\n%s\n" % (m.encode(), n.encode()) for m, n in chosen) + b"l."
    path = tmp_path / "mix.pkl"
    path.write_bytes(body if protocol == 0 else b"\x80\x02" + body)

    theirs = assert_agrees(path)
    ours = {f[len(DANGEROUS_GLOBAL) :] for f in inspect_file(path).flags if f.startswith(DANGEROUS_GLOBAL)}

    # Nothing picklescan passes as safe is called dangerous here, except by this scanner's
    # wider lists, and never the allow-listed framework classes.
    assert theirs <= ours
    assert not ours & {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
    }
