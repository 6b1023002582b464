"""`studbook drops`, `drops retry` and the watcher in `status`, against a real daemon watching a real folder.

One daemon watches one root for the module; every test drops into its own model folder.
What a test waits for it polls through the command itself, with a deadline.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Daemon, start_daemon, stop_daemon
from studbook.cli import commands as cli
from support.cli import Result, runner
from support.waiting import wait_for

QUIET = 0.2
# A safetensors header that claims to be a terabyte long: the reader refuses it unread.
HOSTILE_SAFETENSORS = (1 << 40).to_bytes(8, "little") + b'{"w": '


@dataclass
class Watched:
    root: Path
    daemon: Daemon


def watch_args(base: Path, *roots: Path) -> list[str]:
    args = [arg for root in roots for arg in ("--watch", str(root))]
    return [*args, "--quiet-seconds", str(QUIET), "--config", str(base / "none.toml")]


@pytest.fixture(scope="module")
def watched() -> Iterator[Watched]:
    base = Path(tempfile.mkdtemp(prefix="sb-"))  # short: socket paths are limited
    root = base / "drops"
    root.mkdir()
    daemon = start_daemon(base / "data", base / "s.sock", *watch_args(base, root))
    try:
        yield Watched(root, daemon)
    finally:
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def run(watched: Watched, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    return runner(watched.daemon.address, capsys)


@pytest.fixture
def model() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


def drop_listed(run: Callable[..., Result], path: Path, *options: str) -> dict[str, Any] | None:
    """The drop at `path` as `studbook drops --json` lists it, or None."""
    listed = run("drops", "--json", "--limit", "0", *options)
    assert listed.code == 0, listed.err
    return next((d for d in listed.json()["drops"] if d["path"] == str(path)), None)


def safetensors_bytes(values: tuple[float, ...] = (0.5, -1.0)) -> bytes:
    data = struct.pack(f"<{len(values)}f", *values)
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(data)]}}).encode()
    return struct.pack("<Q", len(header)) + header + data


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---- studbook drops, and a retry once fixed ------------------------------------------


def test_a_hostile_drop_is_listed_with_its_reason_and_a_retry_after_the_fix_registers_it(
    run: Callable[..., Result], watched: Watched, model: str
) -> None:
    unit = watched.root / model / "1"
    write(unit / "model.safetensors", HOSTILE_SAFETENSORS)
    listed = wait_for(lambda: drop_listed(run, unit), "the quarantined drop in `studbook drops`")
    table = run("drops", "--model", model)

    write(unit / "model.safetensors", safetensors_bytes())
    retried = run("drops", "retry", str(unit), "--json")
    shown = run("show", f"{model}@1", "--json")
    after = run("drops", "--json", "--model", model)

    assert listed["state"] == "quarantined" and listed["reason"] == "HEADER_TOO_LARGE"
    assert listed["model"] == f"models/{model}" and listed["message"] and listed["update_time"]
    assert table.code == 0
    assert table.out.splitlines()[0].split() == ["PATH", "MODEL", "VERSION", "REASON", "SINCE", "MESSAGE"]
    assert str(unit) in table.out and "HEADER_TOO_LARGE" in table.out
    assert retried.code == cli.EXIT_OK, retried.out + retried.err
    assert retried.json()["state"] == "registered"
    assert retried.json()["version"] == f"models/{model}/versions/1"
    assert [f["format"] for f in shown.json()["files"]] == ["safetensors"]
    assert after.json() == {"drops": [], "total_size": 0}


def test_a_retry_before_the_fix_exits_4_and_one_after_it_registers_the_drop(
    run: Callable[..., Result], watched: Watched, model: str
) -> None:
    unit = watched.root / model / "1"
    write(unit / "model.bin", b"child weights")
    parent = f"models/{model}-base/versions/1"
    manifest = {"parents": [{"version": parent, "relation": "fine_tuned_from"}]}
    write(unit / "studbook.json", json.dumps(manifest).encode())
    wait_for(lambda: drop_listed(run, unit), "the drop waiting for its parent")

    early = run("drops", "retry", str(unit), "--json")
    registered_parent = run("register", f"{model}-base", "--uri", "s3://bucket/base", "--no-env")
    by_name = run("drops", "retry", early.json()["name"], "--json")
    child = run("show", f"{model}@1", "--json")

    assert early.code == cli.EXIT_PRECONDITION
    assert early.json()["state"] == "quarantined" and early.json()["reason"] == "PARENT_NOT_FOUND"
    assert registered_parent.code == cli.EXIT_OK
    assert by_name.code == cli.EXIT_OK, by_name.out + by_name.err
    assert by_name.json()["state"] == "registered" and by_name.json()["path"] == str(unit)
    parents = [(p["version"], p["relation"]) for p in child.json()["parents"]]
    assert parents == [(parent, "fine_tuned_from")]


def test_a_retry_that_does_not_wait_answers_at_once_with_the_standing_verdict(
    run: Callable[..., Result], watched: Watched, model: str
) -> None:
    unit = write(watched.root / model / "model.safetensors", HOSTILE_SAFETENSORS)
    found = wait_for(lambda: drop_listed(run, unit), "the quarantine")

    retried = run("drops", "retry", str(unit), "--wait", "0", "--json")

    assert retried.code == cli.EXIT_OK
    assert (retried.json()["name"], retried.json()["reason"]) == (found["name"], "HEADER_TOO_LARGE")


def test_drops_with_names_that_are_not_text_are_listed_escaped_and_can_be_retried(
    run: Callable[..., Result], watched: Watched, model: str
) -> None:
    control = write(watched.root / model / "ev\x1b]8;;x\x07il" / "model.bin", b"weights").parent
    not_utf8 = Path(os.fsdecode(bytes(watched.root) + b"/" + model.encode() + b"-caf\xff"))
    write(not_utf8 / "1" / "model.bin", b"weights")
    shown_control = str(control).replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    shown_bytes = str(watched.root / f"{model}-caf\\xff")

    first = wait_for(lambda: drop_listed(run, Path(shown_control)), "the drop with control characters")
    second = wait_for(lambda: drop_listed(run, Path(shown_bytes)), "the model folder that is not UTF-8")
    table = run("drops")
    retried = run("drops", "retry", first["name"], "--wait", "0", "--json")
    by_path = run("drops", "retry", shown_bytes, "--wait", "0", "--json")
    os.rename(not_utf8, watched.root / f"{model}-renamed")
    gone = wait_for(lambda: drop_listed(run, Path(shown_bytes)) is None, "the renamed folder's drop gone")

    assert (first["state"], first["reason"]) == ("quarantined", "INVALID_NAME")
    assert (second["state"], second["reason"]) == ("quarantined", "INVALID_NAME")
    assert "\\x1b" in first["message"] and second["model"] == f"models/{model}-caf\\xff"
    assert table.code == 0 and "\x1b" not in table.out and "\x07" not in table.out
    assert shown_control in table.out and shown_bytes in table.out
    assert retried.code == cli.EXIT_OK and retried.json()["path"] == shown_control
    assert by_path.code == cli.EXIT_OK and by_path.json()["name"] == second["name"]
    assert gone


def test_retrying_a_path_the_watcher_does_not_know_exits_3_with_one_error_line(
    run: Callable[..., Result], watched: Watched
) -> None:
    result = run("drops", "retry", str(watched.root / "nobody" / "1"))

    assert result.code == cli.EXIT_NOT_FOUND
    assert result.err.startswith("error: ") and result.err.count("\n") == 1 and "[DROP_NOT_FOUND]" in result.err


def test_all_lists_registered_drops_with_their_state_and_the_default_leaves_them_out(
    run: Callable[..., Result], watched: Watched, model: str
) -> None:
    good = write(watched.root / model / "1" / "model.safetensors", safetensors_bytes()).parent
    bad = write(watched.root / model / "2" / "model.safetensors", HOSTILE_SAFETENSORS).parent
    wait_for(lambda: (d := drop_listed(run, good, "--all")) and d["state"] == "registered", "registered")
    wait_for(lambda: drop_listed(run, bad), "quarantined")

    everything = run("drops", "--all", "--json", "--model", model)
    quarantined = run("drops", "--json", "--model", model)
    table = run("drops", "--all", "--model", model)
    first = run("drops", "--all", "--model", model, "--limit", "1")

    states = {d["path"]: (d["state"], d["version"]) for d in everything.json()["drops"]}
    assert states == {str(good): ("registered", f"models/{model}/versions/1"),
                      str(bad): ("quarantined", "")}  # fmt: skip
    assert [d["path"] for d in quarantined.json()["drops"]] == [str(bad)]
    header, *rows = table.out.splitlines()
    assert header.split() == ["PATH", "MODEL", "VERSION", "STATE", "REASON", "SINCE", "MESSAGE"]
    assert [row.split()[:4] for row in rows] == [[str(good), model, "1", "registered"],
                                                 [str(bad), model, "-", "quarantined"]]  # fmt: skip
    assert first.out.splitlines()[-1] == "(1 of 2 shown; --limit 0 shows all)"


# ---- the watcher in studbook status ----------------------------------------------------


def test_status_shows_the_watched_root_and_its_observer(run: Callable[..., Result], watched: Watched) -> None:
    as_json = run("status", "--json")
    human = run("status")

    watch = as_json.json()["watch"]
    assert as_json.code == human.code == cli.EXIT_OK
    assert watch["roots"] == [{"path": str(watched.root.resolve()), "observer": "inotify", "keep_in_place": False}]
    assert watch["degraded"] is False and watch["problems"] == []
    assert "Drop-in folders" in human.out and "inotify" in human.out
    assert [line.split() for line in human.out.splitlines() if "degraded:" in line] == [["degraded:", "no"]]


def test_status_says_why_watching_is_degraded(
    daemon_factory: Callable[..., Daemon], short_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    present, absent = short_dir / "drops", short_dir / "absent"
    present.mkdir()
    daemon = daemon_factory(*watch_args(short_dir, present, absent))
    run = runner(daemon.address, capsys)

    as_json = run("status", "--json")
    human = run("status")

    watch = as_json.json()["watch"]
    roots = {r["path"]: r for r in watch["roots"]}
    assert as_json.code == cli.EXIT_OK  # the daemon serves; drops are still found, only later
    assert watch["degraded"] is True
    assert [p["reason"] for p in watch["problems"]] == ["ROOT_MISSING"]
    assert roots[str(present.resolve())]["observer"] == "inotify"
    assert roots[str(absent)]["problem"]["reason"] == "ROOT_MISSING"
    assert "yes (ROOT_MISSING)" in human.out
    assert human.out.count("[ROOT_MISSING]") == 1  # on the root's row, not repeated below
