"""Bounded byte streams for the pickle scanner: a file, a buffer, or a decompressed file.

The scanner reads opcodes through `PickleStream`, which counts every byte it hands out,
skips (without keeping) arguments and array payloads that are too large to matter, and
decompresses joblib's zlib/gzip/bz2/xz/lzma containers chunk by chunk.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any, BinaryIO

from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.limits import Limits

_CHUNK = 64 * 1024
# A protocol-0 line (GLOBAL, INT, STRING...) longer than this is not a real pickle.
_MAX_LINE = 64 * 1024

# Compression magic numbers joblib writes, by name.
COMPRESSIONS: dict[str, tuple[bytes, ...]] = {
    "gzip": (b"\x1f\x8b",),
    "bz2": (b"BZh",),
    "xz": (b"\xfd7zXZ\x00",),
    "lzma": (b"]\x00\x00",),
}


def compression_of(head: bytes) -> str | None:
    """The container a joblib file uses, from its first bytes; None for none."""
    for name, magics in COMPRESSIONS.items():
        if head.startswith(magics):
            return name
    # zlib: CMF 0x78 (deflate, 32K window) and a header checksum divisible by 31.
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    return None


class _Elided(bytes):
    """An argument skipped unread: no content, but the length pickletools asked for.

    pickletools only checks `len(data) == n` for length-prefixed arguments, so large byte
    strings (array payloads inside plain pickles) pass through the scan without being
    held in memory. Decoding one as text yields ''.
    """

    length: int

    def __new__(cls, length: int) -> _Elided:
        obj = super().__new__(cls)
        obj.length = length
        return obj

    def __len__(self) -> int:
        return self.length


class _Raw:
    """A forward-only byte source with a small buffer; subclasses supply chunks."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.eof = False

    def more(self) -> bytes:
        raise NotImplementedError

    def _fill(self, n: int) -> None:
        while len(self.buf) < n and not self.eof:
            chunk = self.more()
            if chunk:
                self.buf += chunk
            else:
                self.eof = True

    def read(self, n: int) -> bytes:
        self._fill(n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def readline(self, cap: int) -> bytes:
        searched = 0
        while True:
            index = self.buf.find(b"\n", searched)
            if index >= 0:
                return self.read(index + 1)
            if len(self.buf) >= cap or self.eof:
                return self.read(min(len(self.buf), cap))
            searched = len(self.buf)
            self._fill(len(self.buf) + 1)

    def discard(self, n: int) -> int:
        done = min(n, len(self.buf))
        del self.buf[:done]
        while done < n and not self.eof:
            chunk = self.more()
            if not chunk:
                self.eof = True
                break
            take = min(len(chunk), n - done)
            done += take
            self.buf += chunk[take:]
        return done


class _RawFile(_Raw):
    """A seekable file: discarding seeks instead of reading."""

    def __init__(self, fileobj: BinaryIO, size: int) -> None:
        super().__init__()
        self.file = fileobj
        self.size = size

    def more(self) -> bytes:
        return self.file.read(_CHUNK)

    def discard(self, n: int) -> int:
        done = min(n, len(self.buf))
        del self.buf[:done]
        rest = n - done
        if rest:
            step = min(rest, max(self.size - self.file.tell(), 0))
            self.file.seek(step, 1)
            done += step
            if step < rest:
                self.eof = True
        return done


class _RawDecompressed(_Raw):
    """A compressed file decompressed on demand, at most one chunk of output per step."""

    def __init__(self, fileobj: BinaryIO, compression: str) -> None:
        super().__init__()
        self.file = fileobj
        self.compression = compression
        self.decompressor = _decompressor(compression)

    def more(self) -> bytes:
        try:
            return self._more()
        except _CORRUPT as err:
            # bz2 reports corrupt data as OSError.
            raise FormatError("BAD_COMPRESSION", f"{self.compression} stream is corrupt: {err}") from None

    def _more(self) -> bytes:
        d = self.decompressor
        while not d.eof:
            if self.compression in ("zlib", "gzip"):
                data = d.unconsumed_tail or self.file.read(_CHUNK)
                if not data:
                    return b""
                out = d.decompress(data, _CHUNK)
            else:
                data = self.file.read(_CHUNK) if d.needs_input else b""
                if d.needs_input and not data:
                    return b""
                out = d.decompress(data, max_length=_CHUNK)
            if out:
                return bytes(out)
        return b""


# What the decompressors raise on corrupt input (bz2 reports it as OSError).
_CORRUPT = (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError)


def _decompressor(compression: str) -> Any:
    if compression == "zlib":
        return zlib.decompressobj(15)
    if compression == "gzip":
        return zlib.decompressobj(31)
    if compression == "bz2":
        return bz2.BZ2Decompressor()
    if compression == "xz":
        return lzma.LZMADecompressor(lzma.FORMAT_XZ)
    return lzma.LZMADecompressor(lzma.FORMAT_ALONE)


def first_decompressed_byte(fileobj: BinaryIO, compression: str) -> bytes | None:
    """The first byte a compressed file decompresses to; b"" if it is corrupt before one, and
    None if its first _CHUNK bytes give neither (a stream of empty blocks, say: not known).

    Fed a byte at a time, so that no reader, whatever its buffer size, could get a byte out
    of the file where this gets none (a decompressor raising on a chunk drops its output).
    """
    fileobj.seek(0)
    decompressor = _decompressor(compression)
    for _ in range(_CHUNK):
        piece = fileobj.read(1)
        if not piece:
            return b""
        try:
            out = decompressor.decompress(piece)
        except _CORRUPT:
            return b""
        if out:
            return out[:1]
    return None


class PickleStream:
    """What pickletools.genops reads from: read/readline/tell over a bounded raw source."""

    def __init__(self, raw: _Raw, limits: Limits) -> None:
        self.raw = raw
        self.pos = 0
        self.read_left = limits.max_pickle_bytes
        self.payload_left = limits.max_pickle_payload_bytes
        self.argument_cap = limits.max_pickle_argument_bytes
        self.limits = limits

    @classmethod
    def over_file(cls, fileobj: BinaryIO, size: int, limits: Limits) -> PickleStream:
        return cls(_RawFile(fileobj, size), limits)

    @classmethod
    def over_bytes(cls, data: bytes, limits: Limits) -> PickleStream:
        import io

        return cls(_RawFile(io.BytesIO(data), len(data)), limits)

    @classmethod
    def decompressing(cls, fileobj: BinaryIO, compression: str, limits: Limits) -> PickleStream:
        return cls(_RawDecompressed(fileobj, compression), limits)

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            raise FormatError("BAD_PICKLE", "unbounded read requested")
        if n > self.argument_cap:
            skipped = self.skip(n)
            return _Elided(n) if skipped == n else b""
        self._spend(n)
        data = self.raw.read(n)
        self.pos += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        cap = min(_MAX_LINE, self.argument_cap)
        data = self.raw.readline(cap)
        self._spend(len(data))
        self.pos += len(data)
        return data

    def peek(self, n: int) -> bytes:
        """The next `n` bytes (fewer at the end), left unread."""
        self.raw._fill(n)
        return bytes(self.raw.buf[:n])

    def skip(self, n: int) -> int:
        """Pass over `n` payload bytes without keeping them; returns how many there were."""
        self.payload_left -= n
        if self.payload_left < 0:
            raise FormatError(
                "PICKLE_TOO_LARGE",
                f"pickle payload exceeds the {self.limits.max_pickle_payload_bytes}-byte limit",
            )
        done = self.raw.discard(n)
        self.pos += done
        return done

    def _spend(self, n: int) -> None:
        self.read_left -= n
        if self.read_left < 0:
            raise FormatError(
                "PICKLE_TOO_LARGE",
                f"pickle opcodes exceed the {self.limits.max_pickle_bytes}-byte scanning limit",
            )
