"""Zip archives opened within bounds: entry count and directory size are checked from the
end record before zipfile parses anything, and every entry's compression ratio after."""

from __future__ import annotations

import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.limits import Limits

MAGIC = b"PK\x03\x04"
EMPTY_MAGIC = b"PK\x05\x06"
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
# The end record is 22 bytes plus a comment of at most 65535.
_TAIL = 22 + 65535
# What zipfile raises on a malformed archive, beyond BadZipFile (a negative seek is an
# OSError, an unknown method NotImplementedError, an encrypted entry RuntimeError).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    ValueError,
    EOFError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    lzma.LZMAError,
)


def looks_like(head: bytes) -> bool:
    return head.startswith((MAGIC, EMPTY_MAGIC))


def _directory_bounds(path: Path, size: int) -> tuple[int, int]:
    """(entry count, central directory bytes) declared by the end records."""
    with open(path, "rb") as fileobj:
        start = max(0, size - _TAIL)
        fileobj.seek(start)
        tail = fileobj.read(size - start)
        index = tail.rfind(_EOCD)
        if index < 0 or len(tail) - index < 22:
            raise FormatError("BAD_ZIP", "zip end-of-central-directory record not found")
        entries, directory = struct.unpack("<HI", tail[index + 10 : index + 16])
        if entries != 0xFFFF and directory != 0xFFFFFFFF:
            return entries, directory
        # Zip64: the locator sits right before the end record and points at the
        # zip64 end record, which holds 64-bit counts.
        locator = start + index - 20
        if locator < 0:
            raise FormatError("BAD_ZIP", "zip64 locator missing")
        fileobj.seek(locator)
        raw = fileobj.read(20)
        if raw[:4] != _ZIP64_LOCATOR:
            return entries, directory
        (offset,) = struct.unpack("<Q", raw[8:16])
        if offset + 56 > size:
            raise FormatError("BAD_ZIP", "zip64 end record lies past the end of the file")
        fileobj.seek(offset)
        record = fileobj.read(56)
        if record[:4] != _ZIP64_EOCD:
            raise FormatError("BAD_ZIP", "zip64 end record not found")
        entries64, directory64 = struct.unpack("<QQ", record[32:48])
        return entries64, directory64


@contextmanager
def open_zip(path: Path, size: int, limits: Limits) -> Iterator[zipfile.ZipFile]:
    """A ZipFile whose directory has passed the entry, size and ratio bounds."""
    entries, directory = _directory_bounds(path, size)
    if entries > limits.max_zip_entries:
        raise FormatError(
            "TOO_MANY_ENTRIES",
            f"zip declares {entries} entries, above the {limits.max_zip_entries} limit",
            declared=entries,
        )
    if directory > limits.max_zip_directory_bytes:
        raise FormatError(
            "TOO_MANY_ENTRIES",
            f"zip central directory is {directory} bytes, above the {limits.max_zip_directory_bytes}-byte limit",
        )
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as err:
        raise FormatError("BAD_ZIP", f"unreadable zip archive: {err}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise FormatError("TOO_MANY_ENTRIES", f"zip holds {len(infos)} entries")
        for info in infos:
            if info.file_size > limits.zip_ratio_min_bytes and info.file_size > limits.max_zip_ratio * max(
                info.compress_size, 1
            ):
                raise FormatError(
                    "ZIP_BOMB",
                    f"zip entry {info.filename[:200]!r} expands {info.compress_size} bytes to "
                    f"{info.file_size}, beyond the {limits.max_zip_ratio:g}:1 ratio limit",
                    entry=info.filename[:200],
                )
        _check_overlap(infos)
        yield archive


# The fixed part of a local file header, before its name and extra field.
_LOCAL_HEADER = 30


def _check_overlap(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse entries whose local header and data overlap another's: the overlapping-files
    zip bomb reuses one compressed stream for many entries, so the ratio of each looks
    ordinary while the total expands without bound. Each entry spans at least its fixed
    header, its name and its compressed data (the local extra field only adds to that)."""
    spans = []
    for info in infos:
        name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace")
        spans.append((info.header_offset, info.header_offset + _LOCAL_HEADER + len(name) + info.compress_size, info))
    spans.sort(key=lambda span: span[0])
    for (_, end, before), (start, _, after) in zip(spans, spans[1:]):
        if start < end:
            raise FormatError(
                "ZIP_OVERLAP",
                f"zip entries {before.filename[:200]!r} and {after.filename[:200]!r} share bytes "
                f"(one starts at {start}, inside the other, which runs to {end}): an overlapping "
                "zip bomb or a corrupt archive; do not unpack it, rebuild the archive",
                entry=after.filename[:200],
            )


def read_member(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """One entry's bytes, refusing entries (declared or actual) longer than `cap`."""
    try:
        info = archive.getinfo(name)
        if info.file_size > cap:
            raise FormatError("MEMBER_TOO_LARGE", f"zip entry {name[:200]!r} is {info.file_size} bytes, above {cap}")
        with archive.open(info) as member:
            data = member.read(cap + 1)
    except ZIP_ERRORS as err:
        raise FormatError("BAD_ZIP", f"zip entry {name[:200]!r} is unreadable: {err}") from None
    if len(data) > cap:
        raise FormatError("MEMBER_TOO_LARGE", f"zip entry {name[:200]!r} is larger than {cap} bytes")
    return data


def listing(archive: zipfile.ZipFile, limits: Limits) -> dict[str, object]:
    """Entry count, total sizes and the first names, for metadata."""
    infos = archive.infolist()
    return {
        "entries": len(infos),
        "total_bytes": sum(info.file_size for info in infos),
        "compressed_bytes": sum(info.compress_size for info in infos),
        "names": [info.filename[:300] for info in infos[: limits.max_listed]],
    }
