"""Bounded random access to a file's bytes: every read is checked against the real size."""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from studbook.daemon.formats.errors import FormatError

_WINDOW = 64 * 1024


class Source:
    """Bytes of known size, read at offsets; a read past the end raises TRUNCATED.

    Small reads are served from one cached window so parsers that read field by field
    (protobuf, GGUF) do not pay a system call per field.
    """

    def __init__(self, fileobj: BinaryIO, size: int, name: str = "file") -> None:
        self._file = fileobj
        self.size = size
        self.name = name
        self._window_start = 0
        self._window = b""

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "buffer") -> Source:
        import io

        return cls(io.BytesIO(data), len(data), name)

    def read_at(self, pos: int, n: int, what: str = "data") -> bytes:
        if n < 0 or pos < 0 or pos + n > self.size:
            raise FormatError(
                "TRUNCATED",
                f"{self.name}: {what} needs {n} bytes at offset {pos}, but the file has {self.size} bytes",
                offset=pos,
                size=self.size,
            )
        start = pos - self._window_start
        if 0 <= start and start + n <= len(self._window):
            return self._window[start : start + n]
        self._file.seek(pos)
        if n >= _WINDOW:
            data = self._file.read(n)
        else:
            self._window_start = pos
            self._window = self._file.read(min(_WINDOW, self.size - pos))
            data = self._window[:n]
        if len(data) != n:
            # The file shrank while we read it: a drop still being written.
            raise FormatError("TRUNCATED", f"{self.name}: file shorter than its size while reading")
        return data


class FileSource(Source):
    """A Source over a file on disk, usable as a context manager."""

    def __init__(self, path: Path) -> None:
        fileobj = open(path, "rb")  # noqa: SIM115 - closed by __exit__/close
        super().__init__(fileobj, path.stat().st_size, path.name)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Cursor:
    """A moving position inside [start, end) of a Source, with typed little/big-endian reads."""

    def __init__(self, source: Source, pos: int = 0, end: int | None = None, order: str = "<") -> None:
        self.source = source
        self.pos = pos
        self.end = source.size if end is None else end
        self.order = order

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def read(self, n: int, what: str = "data") -> bytes:
        if n > self.remaining:
            raise FormatError(
                "TRUNCATED",
                f"{self.source.name}: {what} needs {n} bytes at offset {self.pos}, "
                f"only {max(self.remaining, 0)} remain",
                offset=self.pos,
            )
        data = self.source.read_at(self.pos, n, what)
        self.pos += n
        return data

    def skip(self, n: int, what: str = "data") -> None:
        if n < 0 or n > self.remaining:
            raise FormatError(
                "TRUNCATED",
                f"{self.source.name}: {what} of {n} bytes at offset {self.pos} runs past the end",
                offset=self.pos,
            )
        self.pos += n

    def unpack(self, fmt: str, what: str = "value") -> tuple[int | float, ...]:
        size = struct.calcsize(self.order + fmt)
        return struct.unpack(self.order + fmt, self.read(size, what))

    def u8(self, what: str = "value") -> int:
        return self.read(1, what)[0]

    def u32(self, what: str = "value") -> int:
        return int(self.unpack("I", what)[0])

    def u64(self, what: str = "value") -> int:
        return int(self.unpack("Q", what)[0])
