"""FormatError: a file whose bytes cannot be read safely, with the reason it is quarantined."""

from __future__ import annotations

from studbook.daemon.domain.errors import FailedPrecondition


class FormatError(FailedPrecondition):
    """The artifact's content is malformed, hostile or beyond a reading bound.

    `reason` is UPPER_SNAKE (HEADER_TOO_LARGE, TRUNCATED, BAD_MAGIC, ZIP_BOMB, ZIP_OVERLAP,
    TOO_MANY_ENTRIES, EXTERNAL_DATA_OUTSIDE, INVALID_OFFSETS, DUPLICATE_KEY, MISSING_FILE,
    LFS_POINTER, EMPTY_FILE, ...); the watcher quarantines the drop with it and the API
    refuses the registration with it (FAILED_PRECONDITION: the request is well formed, the
    files are not), so the message names the limit or the offset.
    """

    def __init__(self, reason: str, message: str, **metadata: object) -> None:
        super().__init__(message, reason=reason, **metadata)

    def __repr__(self) -> str:
        return f"FormatError({self.reason!r}, {self.message!r})"


class NotThisFormat(FormatError):
    """Bytes that began like a format but cannot be read as it, and hold nothing a loader of
    the format would act on: a safetensors header longer than its file, a protobuf that does
    not parse, a compressed file corrupt before its first byte of output.

    Formats are sniffed from a few bytes, and random data (a blob of raw weights, say) begins
    like safetensors, ONNX or zlib about once in 3,000 files: unless the file's name claims a
    model format, such a file is not a model (inspect_file calls it unknown) rather than a
    broken one. A pickle that breaks stays refused whatever its name: an unpickler runs its
    opcodes up to the break.
    """
