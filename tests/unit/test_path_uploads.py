"""Files uploaded by path (MLflow's artifact proxy): which paths are taken, and what they name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.app.path_uploads import POINTER, PathUploads, check_path
from studbook.daemon.artifacts import ScanLimits
from studbook.daemon.blobs import open_store
from studbook.daemon.domain.errors import InvalidArgument, NotFound

segments = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="/\\\x00"),
                   min_size=1, max_size=12).filter(lambda s: s not in (".", "..") and not s.endswith(POINTER))  # fmt: skip


@given(st.lists(segments, min_size=1, max_size=6))
def test_plain_relative_paths_are_taken(parts: list[str]) -> None:
    path = "/".join(parts)
    assert check_path(path) == path


@given(st.lists(segments, max_size=3), st.sampled_from(["..", ".", "", f"x{POINTER}"]), st.lists(segments, max_size=3))
def test_a_path_with_a_dot_empty_or_pointer_segment_is_refused(before: list[str], bad: str, after: list[str]) -> None:
    with pytest.raises(InvalidArgument):
        check_path("/".join([*before, bad, *after]))


@pytest.mark.parametrize("path", ["/etc/passwd", "a\\b", "a\x00b", "x" * 1025])
def test_absolute_and_odd_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidArgument):
        check_path(path)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_uploads_are_listed_read_and_gathered_under_a_folder(tmp_path: Path) -> None:
    uploads = PathUploads(tmp_path / "uploads", open_store("", tmp_path), ScanLimits())

    async def scenario() -> None:
        first = await uploads.receive("run/model/MLmodel", _chunks(b"flavors: ", b"{}\n"))
        await uploads.receive("run/model/data/w.bin", _chunks(b"\x00" * 10))
        assert (first.path, first.size) == ("run/model/MLmodel", 12)
        assert [(e.name, e.is_dir, e.size) for e in await uploads.entries("run/model")] == [
            ("MLmodel", False, 12), ("data", True, 0),
        ]  # fmt: skip
        gathered = await uploads.files_under("run/model")
        assert [(f.path, f.size) for f in gathered] == [("MLmodel", 12), ("data/w.bin", 10)]
        assert [(f.path, f.size) for f in await uploads.files_under("run/model/MLmodel")] == [("MLmodel", 12)]
        await uploads.receive("run/model/MLmodel", _chunks(b"replaced"))
        assert (await uploads.file("run/model/MLmodel")).size == 8
        with pytest.raises(NotFound):
            await uploads.file("run/model/absent")

    asyncio.run(scenario())


def test_an_upload_over_the_file_limit_is_refused_and_names_nothing(tmp_path: Path) -> None:
    uploads = PathUploads(tmp_path / "uploads", open_store("", tmp_path), ScanLimits(max_file_bytes=4))

    async def scenario() -> None:
        with pytest.raises(InvalidArgument):
            await uploads.receive("big.bin", _chunks(b"abc", b"def"))
        assert await uploads.entries("") == []

    asyncio.run(scenario())
