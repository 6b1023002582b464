"""Snapshots: what completeness compares, taken without reading or following anything."""

from __future__ import annotations

import os

from studbook.daemon.watch.snapshot import take_snapshot


def test_a_folder_snapshot_lists_files_and_links_below_it(tmp_path):
    unit = tmp_path / "1"
    (unit / "sub").mkdir(parents=True)
    (unit / "sub" / "w.bin").write_bytes(b"abc")
    (unit / ".w.bin.swp").write_bytes(b"x")
    (unit / "studbook.json").write_text("{}")
    os.symlink("/etc/passwd", unit / "link")

    snap = take_snapshot(str(unit), 100)

    assert snap is not None and snap.is_folder
    assert set(snap.entries) == {"sub/w.bin", ".w.bin.swp", "studbook.json", "link"}
    assert snap.entries["link"].kind == "link"
    assert set(snap.artifact()) == {"sub/w.bin", "link"}


def test_any_write_changes_the_fingerprint_and_nothing_else_does(tmp_path):
    unit = tmp_path / "1"
    unit.mkdir()
    (unit / "w.bin").write_bytes(b"abc")
    first = take_snapshot(str(unit), 100)
    (unit / "w.bin").read_bytes()
    again = take_snapshot(str(unit), 100)
    with open(unit / "w.bin", "ab") as handle:
        handle.write(b"d")
    grown = take_snapshot(str(unit), 100)

    assert first is not None and again is not None and grown is not None
    assert first.fingerprint == again.fingerprint
    assert grown.fingerprint != first.fingerprint


def test_a_replaced_folder_has_another_identity(tmp_path):
    unit = tmp_path / "1"
    unit.mkdir()
    (unit / "w.bin").write_bytes(b"abc")
    before = take_snapshot(str(unit), 100)
    os.rename(unit, tmp_path / "old")
    unit.mkdir()
    (unit / "w.bin").write_bytes(b"abc")

    after = take_snapshot(str(unit), 100)

    assert before is not None and after is not None and before.identity != after.identity


def test_a_single_file_is_one_entry_under_its_name_and_a_missing_unit_is_none(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"onnx")

    snap = take_snapshot(str(tmp_path / "model.onnx"), 100)

    assert snap is not None and not snap.is_folder and list(snap.entries) == ["model.onnx"]
    assert take_snapshot(str(tmp_path / "gone"), 100) is None


def test_too_many_entries_are_reported_not_walked_forever(tmp_path):
    for i in range(5):
        (tmp_path / f"f{i}").write_bytes(b"")

    snap = take_snapshot(str(tmp_path), 3)

    assert snap is not None and snap.too_many
