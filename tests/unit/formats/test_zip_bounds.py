"""Zip archives are bounded before zipfile parses them: entry count, directory size, ratio."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from studbook.daemon.formats import FormatError, Limits, inspect_file

from .builders import write_zip, zip_with_directory


def test_a_high_ratio_entry_is_a_zip_bomb(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/data/0", b"\0" * (20 * 1024 * 1024))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "ZIP_BOMB"
    assert "archive/data/0" in caught.value.message


def test_small_well_compressed_text_is_not_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", b" " * 500_000)

    info = inspect_file(path)

    assert info.format == "zip"


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.zip", {f"f{i}": b"" for i in range(101)})

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_zip_entries=100))

    assert caught.value.reason == "TOO_MANY_ENTRIES"


def test_an_end_record_declaring_millions_of_entries_is_refused_before_parsing(tmp_path: Path) -> None:
    # A zip64 end record claiming 2**40 entries, with no directory behind it.
    zip64_end = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, 2**40, 2**40, 2**20, 0)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, 4, 1)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    path = tmp_path / "hostile.zip"
    path.write_bytes(b"PK\x03\x04" + zip64_end + locator + end)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TOO_MANY_ENTRIES"


def test_a_huge_central_directory_is_refused(tmp_path: Path) -> None:
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, 2**31, 0, 0)
    path = tmp_path / "hostile.zip"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 30 + end)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TOO_MANY_ENTRIES"


def test_a_zip_without_its_end_record_is_bad(tmp_path: Path) -> None:
    data = write_zip(tmp_path / "a.zip", {"archive/data.pkl": b"\x80\x02}q\x00."}).read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(data[: len(data) - 30])

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_ZIP"


def test_a_lying_directory_is_bad_zip(tmp_path: Path) -> None:
    data = bytearray(write_zip(tmp_path / "a.zip", {"archive/data.pkl": b"\x80\x02}q\x00."}).read_bytes())
    offset = data.rfind(b"PK\x05\x06")
    data[offset + 16 : offset + 20] = struct.pack("<I", 10**6)  # directory offset past the end
    path = tmp_path / "lying.pt"
    path.write_bytes(bytes(data))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_ZIP"


def test_plain_and_npz_archives_are_listed(tmp_path: Path) -> None:
    plain = write_zip(tmp_path / "bundle.zip", {"a.txt": b"a", "b/c.txt": b"bc"})
    npz = write_zip(tmp_path / "arrays.npz", {"w.npy": b"\x93NUMPY"})

    plain_info, npz_info = inspect_file(plain), inspect_file(npz)

    assert plain_info.format == "zip"
    assert plain_info.metadata["archive"]["names"] == ["a.txt", "b/c.txt"]
    assert npz_info.format == "npz"


@pytest.mark.parametrize(
    "directory",
    [[("a", 0), ("b", 0)], [("a", 0), ("b", 40)], [("b", 40), ("a", 0)]],
    ids=["same local entry", "second inside the first's data", "listed out of order"],
)
def test_entries_that_share_bytes_are_an_overlap_bomb(tmp_path: Path, directory: list[tuple[str, int]]) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(zip_with_directory(b"\0" * 100, directory))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "ZIP_OVERLAP"
    assert "'a'" in caught.value.message and "'b'" in caught.value.message


def test_one_entry_built_by_hand_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(zip_with_directory(b"\0" * 100, [("a", 0)]))

    assert inspect_file(path).metadata["archive"]["names"] == ["a"]


def test_entries_written_back_to_back_do_not_overlap(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bundle.zip", {f"dir/é{i}.bin": bytes(i) for i in range(50)}, zipfile.ZIP_DEFLATED)

    assert inspect_file(path).metadata["archive"]["entries"] == 50
