"""A minimal protobuf wire-format reader over a Source: fields, spans and nesting, all bounded.

It decodes only what a schema-aware caller asks for: length-delimited fields are yielded
as spans, so large payloads (ONNX initializer raw_data, GraphDef bodies) are skipped
without being read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.source import Source

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True)
class Span:
    """A length-delimited field's payload: `length` bytes at `start`."""

    start: int
    length: int


class Budget:
    """Fields visited across one file; exceeding it means the file is too complex to read."""

    def __init__(self, max_fields: int, max_depth: int) -> None:
        self.fields_left = max_fields
        self.max_depth = max_depth

    def spend(self) -> None:
        self.fields_left -= 1
        if self.fields_left < 0:
            raise FormatError("TOO_COMPLEX", "protobuf has more fields than the reading limit")


class Message:
    """One message occupying [start, end) of a Source."""

    def __init__(self, source: Source, start: int, end: int, budget: Budget, depth: int = 0) -> None:
        if depth > budget.max_depth:
            raise FormatError("TOO_DEEP", f"protobuf messages nest deeper than {budget.max_depth}")
        self.source = source
        self.start = start
        self.end = end
        self.budget = budget
        self.depth = depth

    def fields(self) -> Iterator[tuple[int, int, int | Span]]:
        """(field number, wire type, value): an int for scalars, a Span for LEN fields."""
        pos = self.start
        while pos < self.end:
            self.budget.spend()
            key, pos = self._varint(pos)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise FormatError("BAD_PROTOBUF", f"field number 0 at offset {pos}")
            if wire == VARINT:
                value, pos = self._varint(pos)
                yield number, wire, value
            elif wire == LEN:
                length, pos = self._varint(pos)
                if length > self.end - pos:
                    raise FormatError(
                        "TRUNCATED",
                        f"protobuf field {number} at offset {pos} declares {length} bytes, past the end of its message",
                    )
                yield number, wire, Span(pos, length)
                pos += length
            elif wire in (FIXED64, FIXED32):
                width = 8 if wire == FIXED64 else 4
                raw = self._read(pos, width)
                pos += width
                yield number, wire, int.from_bytes(raw, "little")
            else:
                raise FormatError("BAD_PROTOBUF", f"unsupported wire type {wire} at offset {pos}")

    def child(self, span: Span) -> Message:
        return Message(self.source, span.start, span.start + span.length, self.budget, self.depth + 1)

    def read(self, span: Span, cap: int, what: str) -> bytes:
        if span.length > cap:
            raise FormatError("FIELD_TOO_LARGE", f"{what} is {span.length} bytes, above {cap}")
        return self.source.read_at(span.start, span.length, what)

    def string(self, span: Span, cap: int, what: str) -> str:
        return self.read(span, cap, what).decode("utf-8", errors="replace")

    def packed_varints(self, span: Span) -> Iterator[int]:
        pos, end = span.start, span.start + span.length
        while pos < end:
            self.budget.spend()
            value, pos = self._varint(pos, end)
            yield value

    def _read(self, pos: int, n: int) -> bytes:
        if pos + n > self.end:
            raise FormatError("TRUNCATED", f"protobuf value at offset {pos} runs past its message")
        return self.source.read_at(pos, n, "protobuf value")

    def _varint(self, pos: int, end: int | None = None) -> tuple[int, int]:
        limit = self.end if end is None else end
        raw = self.source.read_at(pos, min(10, limit - pos), "varint") if pos < limit else b""
        value = 0
        for index, byte in enumerate(raw):
            value |= (byte & 0x7F) << (7 * index)
            if byte < 0x80:
                return value, pos + index + 1
        raise FormatError("TRUNCATED" if len(raw) < 10 else "BAD_PROTOBUF", f"bad varint at offset {pos}")


def signed(value: int) -> int:
    """An int64 field's varint as a signed number (negatives are 10-byte two's complement)."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value
