"""An export becomes DEST whole or not at all, and never mixes with what someone else put there."""

from __future__ import annotations

from pathlib import Path

import pytest
from studbook.client.errors import StudbookError
from studbook.exports import staging


def test_a_completed_export_becomes_dest_and_leaves_no_staging_folder(tmp_path: Path) -> None:
    with staging.staged(tmp_path / "out") as work:
        (work / "index.json").write_text("{}")

    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (tmp_path / "out" / "index.json").read_text() == "{}"


def test_a_failure_midway_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), staging.staged(tmp_path / "out") as work:
        (work / "half.bin").write_bytes(b"x")
        raise RuntimeError("stream broke")

    assert list(tmp_path.iterdir()) == []


def test_a_dest_filled_by_someone_else_meanwhile_is_left_as_they_left_it(tmp_path: Path) -> None:
    with pytest.raises(StudbookError) as refused, staging.staged(tmp_path / "out") as work:
        (work / "ours.json").write_text("{}")
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "theirs.txt").write_text("keep me")

    assert refused.value.reason == "EXPORT_DESTINATION_NOT_EMPTY"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["theirs.txt"]


def test_a_symlink_is_never_a_destination(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")

    with pytest.raises(StudbookError) as refused, staging.staged(tmp_path / "link"):
        pass

    assert refused.value.reason == "EXPORT_DESTINATION_EXISTS"
    assert list((tmp_path / "real").iterdir()) == []
