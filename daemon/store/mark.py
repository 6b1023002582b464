"""The high-water mark file beside the catalog: the newest acknowledged revision and its chain hash.

Written once per commit group, after the commit and before any caller of the group gets its
answer, so at start-up a catalog that holds less than the mark says lost acknowledged writes.

The file is two fixed 512-byte slots, each a record with its own CRC. A write overwrites
the slot that does not hold the newest record and is made durable with fdatasync: one
write of one sector, no new inode and no size change, so no metadata to flush. Measured
here against write + fsync + rename + fsync of the folder: 0.09 ms against 0.4-0.9 ms on
an idle disk; 1.3-2.2 ms against 2.6-7.6 ms per group while 16 clients register (where a
group's commit takes ~12 ms). A write torn by a power cut spoils only its own slot; the
other still holds the mark before, which is older and so still a safe claim. Overwriting
allocated bytes also needs no free space, so the mark keeps up even on a full disk.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

from studbook.daemon.domain.audit import HighWaterMark
from studbook.daemon.store.records import StoreError

SLOT_SIZE = 512
FILE_SIZE = 2 * SLOT_SIZE
_MAGIC = b"studbook-hwm-v1\n"
# magic, revision, chain hash as 64 hex characters; then a CRC-32 of those bytes.
_RECORD = struct.Struct("<16sQ64s")
_CRC = struct.Struct("<I")
_HEX = frozenset(b"0123456789abcdef")

_datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


class MarkDamaged(StoreError):
    reason = "MARK_DAMAGED"


def mark_path(catalog: Path) -> Path:
    return catalog.with_suffix(".hwm")


def encode(mark: HighWaterMark) -> bytes:
    record = _RECORD.pack(_MAGIC, mark.revision, mark.chain_hash.encode("ascii"))
    return (record + _CRC.pack(zlib.crc32(record))).ljust(SLOT_SIZE, b"\0")


def decode(slot: bytes) -> HighWaterMark | None:
    """The record in one slot, or None when the slot is empty or torn."""
    end = _RECORD.size + _CRC.size
    if len(slot) < end:
        return None
    record = slot[: _RECORD.size]
    (crc,) = _CRC.unpack(slot[_RECORD.size : end])
    if zlib.crc32(record) != crc:
        return None
    magic, revision, chain_hash = _RECORD.unpack(record)
    if magic != _MAGIC or not set(chain_hash) <= _HEX:
        return None
    return HighWaterMark(revision, chain_hash.decode("ascii"))


class MarkFile:
    """Reads and writes the mark; safe to share between the writer thread and readers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._newest_slot = 0

    def read(self) -> HighWaterMark | None:
        """The newest intact record; None when there is no mark file (a catalog from before marks)."""
        with self._lock:
            return self._read()[0]

    def write(self, mark: HighWaterMark) -> None:
        """Makes `mark` durable; raises OSError when it cannot, leaving the previous mark intact."""
        with self._lock:
            if self._fd is None:
                if not os.path.lexists(self.path):
                    self._create(mark)
                    return
                newest, self._newest_slot = self._read()
                self._fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
                if newest == mark:
                    # Every start writes the head it opened at: mostly the mark already there,
                    # whose sync would only cost the start a disk flush.
                    return
            slot = 1 - self._newest_slot
            os.pwrite(self._fd, encode(mark), slot * SLOT_SIZE)
            _datasync(self._fd)
            self._newest_slot = slot

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _read(self) -> tuple[HighWaterMark | None, int]:
        try:
            with open(self.path, "rb") as handle:
                data = handle.read(FILE_SIZE)
        except FileNotFoundError:
            return None, 0
        except OSError as exc:
            raise MarkDamaged(
                f"cannot read the high-water mark {self.path}: {exc.strerror or exc}; give the daemon's user "
                "access to it, or move it aside if the catalog is known to be good",
            ) from None
        slots = [decode(data[i * SLOT_SIZE : (i + 1) * SLOT_SIZE]) for i in (0, 1)]
        found = [(mark.revision, i, mark) for i, mark in enumerate(slots) if mark is not None]
        if not found:
            raise MarkDamaged(
                f"the high-water mark {self.path} is damaged, so the catalog cannot be checked against it; "
                f"if the catalog is known to be good, move {self.path.name} aside and the daemon writes a new one"
            )
        _, slot, newest = max(found)
        return newest, slot

    def _create(self, mark: HighWaterMark) -> None:
        """A new mark file appears whole or not at all: written aside, then renamed into place."""
        staged = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(staged, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, encode(mark).ljust(FILE_SIZE, b"\0"))
            os.fsync(fd)
            os.rename(staged, self.path)
        except BaseException:
            os.close(fd)
            staged.unlink(missing_ok=True)
            raise
        self._fd, self._newest_slot = fd, 0
        folder = os.open(self.path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(folder)  # the rename itself made durable
        finally:
            os.close(folder)
