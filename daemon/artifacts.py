"""Turn a local file or folder into a checked, hashed list of artifact files."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import threading
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from studbook.daemon.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RegistryError,
)

GiB = 1 << 30
TiB = 1 << 40
# 1 MiB keeps the per-call overhead of read + update negligible next to the hashing itself.
CHUNK_SIZE = 1 << 20
# The kernel's own limit (MAXSYMLINKS) on symlinks followed in one lookup.
MAX_SYMLINK_HOPS = 40
# Below this a hole cannot cost much hashing, and tiny files may legitimately report no
# blocks at all (inline data), so only bigger files are checked for sparseness.
SPARSE_MIN_SIZE = 1 << 20

# Files of one artifact hashed at once: hashlib and file I/O release the GIL, so a folder of
# shards uses every core; more threads than cores would only queue on the disk.
HASH_WORKERS = max(1, min(4, os.cpu_count() or 1))
_HASH_POOL = ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="studbook-hash")
_BUFFERS = threading.local()

# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
# O_NOFOLLOW: a file swapped for a symlink after it was listed fails with ELOOP.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC

# Control characters (C0, DEL, C1), line/paragraph separators and bidirectional
# overrides make a name print as something it is not; lone surrogates are how Python
# spells bytes that are not UTF-8.
_BAD_NAME_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SHA256_HEX = re.compile("[0-9a-f]{64}")


@dataclass(frozen=True)
class ScannedFile:
    """One regular file of an artifact, as read from disk."""

    path: str
    """Relative to the artifact root, '/'-separated, exactly as named on disk."""
    size: int
    sha256: str
    """Lower-case hex sha256 of the content."""
    mtime_ns: int
    inode: int
    device: int


@dataclass(frozen=True)
class ScanLimits:
    """Caps that keep one registration from exhausting the daemon."""

    max_files: int = 100_000
    """Entries of any kind (files, folders, symlinks) in one artifact."""
    max_file_bytes: int = 256 * GiB
    max_total_bytes: int = 1 * TiB
    max_depth: int = 64
    """Folders nested below the artifact root."""
    max_path_length: int = 4096
    """UTF-8 bytes of a relative path, and of the source path itself."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"ScanLimits.{name} must not be negative")


DEFAULT_LIMITS = ScanLimits()


class FileSink(Protocol):
    """Reads each file the scanner hashes (see daemon/blobs/ingest.py): keeps the bytes too."""

    def absorb(self, rel: str, fd: int, size: int) -> str | None:
        """The sha256 of the open file, read once to its end; None if it is not `size` bytes long."""
        ...

    def seal(self) -> None:
        """Called once the scan succeeded: what was kept must be durable when the scan returns."""
        ...


class HashedPath(Protocol):
    """Anything with a relative path and a sha256: ScannedFile, the domain's ArtifactFile."""

    @property
    def path(self) -> str: ...

    @property
    def sha256(self) -> str: ...


def scan_artifact(
    source: Path,
    *,
    limits: ScanLimits = DEFAULT_LIMITS,
    allowed_roots: Sequence[Path] | None = None,
    known: Mapping[str, ScannedFile] | None = None,
    sink: FileSink | None = None,
) -> list[ScannedFile]:
    """List, check and hash the regular files under `source` (a file or a folder).

    Synchronous and blocking: run it in a worker thread. The result is sorted by path;
    a single file is listed under its own name as given in `source`.

    Policy, in the order a reader meets it:
    - `source` must be absolute, without `..`; a symlink as `source` itself is resolved,
      and with `allowed_roots` the resolved path must lie inside one of them. Errors
      about a path outside the roots never reveal whether it exists.
    - Inside a folder every name must be valid UTF-8 without control characters, and no
      two names of one folder may be equal after Unicode NFC normalisation.
    - Symlinks inside a folder are followed only when they lead, within the folder, to a
      regular file; the entry is listed under the link's path with the target's content.
      A link that leaves the folder, loops or is too long a chain is SYMLINK_ESCAPE; a
      link to a folder is refused (SYMLINK_TO_DIRECTORY) because following folder links
      is how trees duplicate or loop; a dangling link is SYMLINK_BROKEN.
    - Hardlinked files (link count > 1) are refused: another name outside the artifact
      could change registered content. FIFOs, sockets and devices are refused without
      ever being opened for a blocking read. Sparse files are refused: a small file
      could otherwise make the daemon hash a terabyte of zeros.
    - All limits are checked over the whole tree before a single byte is hashed.
    - Every folder and file is opened relative to its already-open parent with
      O_NOFOLLOW, and its identity compared with what was listed, so a swap between
      listing and reading is caught (FILE_CHANGED_DURING_SCAN, worth a retry later).
    - `known` maps relative paths to earlier results: a file whose size, mtime_ns,
      inode and device are unchanged keeps its sha256 without being read. That trusts
      mtimes, so pass `known` only where re-hashing every file is not required.
    - `sink`, when given, reads every file instead of a plain hash (and keeps its bytes);
      it is given the same opened, checked descriptor, so what it keeps is what was hashed.
    - Empty folders are not listed; an artifact without any file is EMPTY_ARTIFACT.
    """
    source = Path(source)
    real = _checked_source(source, limits, allowed_roots)
    try:
        root_fd = os.open(real, _FILE_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise _not_found(str(source)) from None
        raise _os_error(exc, _printable(str(source))) from None
    try:
        root_stat = os.fstat(root_fd)
        if allowed_roots is not None:
            _check_opened_root(root_fd, source, allowed_roots)
        if stat.S_ISREG(root_stat.st_mode):
            os.set_blocking(root_fd, True)  # a regular file after all: plain blocking reads
            scanned = [_scan_single_file(root_fd, root_stat, source, limits, known or {}, _thread_buffer(), sink)]
        elif stat.S_ISDIR(root_stat.st_mode):
            scanned = _TreeScan(source, real, limits, known or {}, sink).run(root_fd, root_stat)
        else:
            raise _special_file(root_stat, _printable(str(source)))
        if sink is not None:
            sink.seal()
        return scanned
    finally:
        os.close(root_fd)


def content_digest(files: Iterable[HashedPath | tuple[str, str]]) -> str:
    """Lower-case hex sha256 naming an artifact's content, independent of where it lies.

    The digest is sha256 over one line `path \\0 sha256 \\n` (UTF-8) per file, lines
    sorted by path in code-point order (the same as UTF-8 byte order). Paths are NFC
    normalised first, so the same artifact copied to a file system that stores
    decomposed names keeps its digest; the scanner refuses names that collide under
    NFC, so normalising never merges two files. Only paths and contents count: sizes,
    times, inodes, the order given and the artifact's location do not. Identical
    content, identical digest; an empty list has the digest of no bytes.
    """
    lines: dict[str, str] = {}
    for item in files:
        path, sha256 = item if isinstance(item, tuple) else (item.path, item.sha256)
        key = unicodedata.normalize("NFC", path)
        if not key or "\0" in key or "\n" in key or _has_surrogates(key):
            raise InvalidArgument(
                f"file path {_printable(path)!r} cannot be part of a content digest",
                reason="INVALID_FILE_NAME",
                path=_printable(path),
            )
        digest = sha256.lower()
        if not _SHA256_HEX.fullmatch(digest):
            raise InvalidArgument(
                f"sha256 of {_printable(path)!r} must be 64 hex digits",
                reason="INVALID_SHA256",
                path=_printable(path),
                sha256=sha256[:100],
            )
        if key in lines:
            raise InvalidArgument(
                f"file path {_printable(path)!r} is listed twice",
                reason="DUPLICATE_PATH",
                path=_printable(path),
            )
        lines[key] = digest
    hasher = hashlib.sha256()
    for key in sorted(lines):
        hasher.update(f"{key}\0{lines[key]}\n".encode())
    return hasher.hexdigest()


# --- files named by a remote client ------------------------------------------------------


def check_uploaded_files(files: Sequence[HashedPath], sizes: Sequence[int], limits: ScanLimits) -> None:
    """The paths and sizes an upload declares, held to the rules a scanned folder meets."""
    if not files:
        raise InvalidArgument("uploaded_files is empty", reason="EMPTY_ARTIFACT", field="uploaded_files")
    if len(files) > limits.max_files:
        raise InvalidArgument(f"more than {limits.max_files} files", reason="TOO_MANY_FILES",
                              max_files=limits.max_files)  # fmt: skip
    for item, size in zip(files, sizes):
        parts = item.path.split("/")
        if item.path.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise InvalidArgument(
                f"uploaded file path {_printable(item.path)!r} must be relative, '/'-separated, without '.' or '..'",
                reason="INVALID_FILE_NAME", path=_printable(item.path)[:200],
            )  # fmt: skip
        if len(os.fsencode(item.path)) > limits.max_path_length or len(parts) > limits.max_depth + 1:
            raise InvalidArgument(f"uploaded file path {_printable(item.path)[:200]!r} is too long or too deep",
                                  reason="PATH_TOO_LONG", path=_printable(item.path)[:200])  # fmt: skip
        for part in parts:
            _check_name(part, _printable(item.path))
        if size < 0 or size > limits.max_file_bytes:
            raise InvalidArgument(f"{_printable(item.path)!r} is {size} bytes; one file may hold 0 to "
                                  f"{limits.max_file_bytes}", reason="FILE_TOO_LARGE", path=_printable(item.path))  # fmt: skip
    if sum(sizes) > limits.max_total_bytes:
        raise _artifact_too_large("the uploaded files", limits)
    content_digest(files)  # names each duplicate, NUL or bad sha256


# --- the source path -------------------------------------------------------------------


def require_under_roots(text: str, allowed_roots: Sequence[Path]) -> None:
    """Refuses a path that does not lie, as spelled, under one of `allowed_roots`.

    Pure text, no system call: a refused caller learns nothing about the disk, not even
    whether the path exists. `scan_artifact` checks the resolved path again before reading.
    """
    path = Path(text)
    spelled = os.path.normpath(text) if path.is_absolute() and ".." not in path.parts else ""
    roots = [os.path.normpath(os.path.abspath(root)) for root in allowed_roots]
    if "\0" in text or not spelled or not _inside_any(spelled, roots):
        raise source_not_allowed()


def source_not_allowed() -> PermissionDenied:
    return PermissionDenied(
        "over TCP the daemon reads no source_path outside the folders its owner allowed (allowed_roots); "
        "upload the files instead: `studbook register MODEL PATH` does when the daemon is remote",
        reason="SOURCE_PATH_NOT_ALLOWED",
        field="source_path",
    )


def _checked_source(source: Path, limits: ScanLimits, allowed_roots: Sequence[Path] | None) -> str:
    """Validate the caller's path and return it with symlinks resolved."""
    text = str(source)
    if "\0" in text:
        raise InvalidArgument(
            "the source path contains a NUL character",
            reason="INVALID_PATH",
            path=_printable(text),
        )
    if not source.is_absolute():
        raise InvalidArgument(
            f"source path {_printable(text)!r} must be absolute",
            reason="RELATIVE_PATH",
            path=_printable(text),
        )
    if ".." in source.parts:
        raise InvalidArgument(
            f"source path {_printable(text)!r} must not contain '..'",
            reason="PATH_TRAVERSAL",
            path=_printable(text),
        )
    if len(os.fsencode(text)) > limits.max_path_length:
        raise InvalidArgument(
            f"source path is longer than {limits.max_path_length} bytes",
            reason="PATH_TOO_LONG",
            path=_printable(text[:200]),
        )
    roots = None if allowed_roots is None else [os.path.realpath(root) for root in allowed_roots]
    try:
        real = os.path.realpath(text, strict=True)
    except OSError as exc:
        # Outside the roots every failure looks the same, so nobody can probe the disk.
        if allowed_roots is not None:
            spelled = [os.path.normpath(os.path.abspath(root)) for root in allowed_roots]
            if not _inside_any(os.path.normpath(text), [*(roots or []), *spelled]):
                raise _not_allowed(text) from None
        if exc.errno == errno.ELOOP:
            raise InvalidArgument(
                f"source path {_printable(text)!r} is a symlink loop",
                reason="SYMLINK_ESCAPE",
                path=_printable(text),
            ) from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise _not_found(text) from None
        raise _os_error(exc, _printable(text)) from None
    if roots is not None and not _inside_any(real, roots):
        raise _not_allowed(text)
    return real


def _check_opened_root(fd: int, source: Path, allowed_roots: Sequence[Path]) -> None:
    """Re-check the roots on what was actually opened: a parent may have been swapped."""
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return  # no /proc: the resolved path checked before opening is all we have
    roots = [os.path.realpath(root) for root in allowed_roots]
    if not _inside_any(opened, roots):
        raise _not_allowed(str(source))


def _inside_any(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _not_allowed(text: str) -> InvalidArgument:
    return InvalidArgument(
        f"source path {_printable(text)!r} is outside the folders this registry may read",
        reason="PATH_NOT_ALLOWED",
        path=_printable(text),
    )


# --- a single file ---------------------------------------------------------------------


def _scan_single_file(
    fd: int,
    st: os.stat_result,
    source: Path,
    limits: ScanLimits,
    known: Mapping[str, ScannedFile],
    buffer: memoryview,
    sink: FileSink | None,
) -> ScannedFile:
    name = source.name
    display = _printable(str(source))
    _check_name(name, display)
    _check_regular_file(st, display, limits)
    if st.st_size > limits.max_total_bytes:
        raise _artifact_too_large(display, limits)
    if _looks_sparse(st) and _has_hole(fd, st):
        raise _sparse_file(display, st)
    reused = _reuse_known(known.get(name), name, st)
    if reused is not None:
        return reused
    return _hash_open_file(fd, st, name, display, buffer, sink)


# --- a folder --------------------------------------------------------------------------


@dataclass
class _Folder:
    """A folder as listed in the first pass; the second pass checks it is still the same."""

    rel: str
    device: int
    inode: int
    files: list[tuple[str, os.stat_result]] = field(default_factory=list)
    folders: list[tuple[str, _Folder]] = field(default_factory=list)


class _TreeScan:
    """Two passes over one folder: list and check everything, then hash."""

    def __init__(
        self,
        source: Path,
        real: str,
        limits: ScanLimits,
        known: Mapping[str, ScannedFile],
        sink: FileSink | None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.real = real
        self.limits = limits
        self.known = known
        self.entries = 0
        self.total_bytes = 0
        self.files: dict[str, os.stat_result] = {}
        self.folders: set[str] = {""}
        self.links: dict[str, str] = {}

    def run(self, root_fd: int, root_stat: os.stat_result) -> list[ScannedFile]:
        root = _Folder("", root_stat.st_dev, root_stat.st_ino)
        self._list(root_fd, root, depth=0)
        link_targets = {link: self._resolve_link(link) for link in sorted(self.links)}
        for target in link_targets.values():
            self._add_bytes(self.files[target].st_size)
        if not self.files:
            raise InvalidArgument(
                f"{_printable(str(self.source))!r} contains no files",
                reason="EMPTY_ARTIFACT",
                path=_printable(str(self.source)),
            )
        hashed: dict[str, ScannedFile] = {}
        pending: deque[tuple[str, Future[ScannedFile]]] = deque()
        try:
            self._hash(root_fd, root, hashed, pending)
            while pending:
                done, future = pending.popleft()
                hashed[done] = future.result()
        finally:
            # After a refusal above, the files still in flight finish (and close) before the scan ends.
            wait([future for _, future in pending])
        for link, target in link_targets.items():
            hashed[link] = replace(hashed[target], path=link)
        return [hashed[path] for path in sorted(hashed)]

    # First pass: list and check, read nothing but metadata.

    def _list(self, dir_fd: int, folder: _Folder, depth: int) -> None:
        display_dir = self._display(folder.rel)
        try:
            with os.scandir(dir_fd) as iterator:
                entries = sorted(
                    ((entry.name, entry.stat(follow_symlinks=False)) for entry in iterator),
                    key=lambda item: item[0],
                )
        except OSError as exc:
            raise _os_error(exc, self._display(folder.rel)) from None
        normalised: dict[str, str] = {}
        for name, st in entries:
            rel = f"{folder.rel}/{name}" if folder.rel else name
            display = self._display(rel)
            _check_name(name, display)
            key = unicodedata.normalize("NFC", name)
            if key in normalised:
                raise InvalidArgument(
                    f"{_printable(name)!r} and {_printable(normalised[key])!r} in "
                    f"{display_dir!r} are the same name after Unicode normalisation",
                    reason="NAME_COLLISION",
                    path=display,
                    other=self._display(f"{folder.rel}/{normalised[key]}".lstrip("/")),
                )
            normalised[key] = name
            self._count_entry()
            self._check_path_length(rel)
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > self.limits.max_depth:
                    raise InvalidArgument(
                        f"{display!r} is nested more than {self.limits.max_depth} folders deep",
                        reason="PATH_TOO_DEEP",
                        path=display,
                        max_depth=self.limits.max_depth,
                    )
                child = _Folder(rel, st.st_dev, st.st_ino)
                self.folders.add(rel)
                folder.folders.append((name, child))
                child_fd = self._open_folder(dir_fd, name, child)
                try:
                    self._list(child_fd, child, depth + 1)
                finally:
                    os.close(child_fd)
            elif stat.S_ISLNK(st.st_mode):
                try:
                    self.links[rel] = os.readlink(name, dir_fd=dir_fd)
                except OSError as exc:
                    raise _os_error(exc, self._display(rel)) from None
            elif stat.S_ISREG(st.st_mode):
                _check_regular_file(st, display, self.limits)
                self._add_bytes(st.st_size)
                if _looks_sparse(st) and self._file_has_hole(dir_fd, name, st, rel):
                    raise _sparse_file(display, st)
                self.files[rel] = st
                folder.files.append((name, st))
            else:
                raise _special_file(st, display)

    def _count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_files:
            raise InvalidArgument(
                f"{_printable(str(self.source))!r} holds more than {self.limits.max_files} files and folders",
                reason="TOO_MANY_FILES",
                path=_printable(str(self.source)),
                max_files=self.limits.max_files,
            )

    def _check_path_length(self, rel: str) -> None:
        if len(os.fsencode(rel)) > self.limits.max_path_length:
            raise InvalidArgument(
                f"a path in {_printable(str(self.source))!r} is longer than {self.limits.max_path_length} bytes",
                reason="PATH_TOO_LONG",
                path=self._display(rel)[:200],
                max_path_length=self.limits.max_path_length,
            )

    def _add_bytes(self, size: int) -> None:
        self.total_bytes += size
        if self.total_bytes > self.limits.max_total_bytes:
            raise _artifact_too_large(_printable(str(self.source)), self.limits)

    def _file_has_hole(self, dir_fd: int, name: str, st: os.stat_result, rel: str) -> bool:
        fd = self._open_file(dir_fd, name, st, rel)
        try:
            return _has_hole(fd, st)
        finally:
            os.close(fd)

    def _resolve_link(self, link: str) -> str:
        """Follow `link` through the listed tree, as the kernel would; return a file path."""
        display = self._display(link)
        first_target = self.links[link]
        # A relative target starts in the link's folder, an absolute one at the root.
        current: list[str] = [] if first_target.startswith("/") else link.split("/")[:-1]
        pending = self._link_parts(first_target, link)
        hops = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not current:
                    raise _symlink_escape(display, first_target, "leads outside the artifact")
                current.pop()
                continue
            candidate = "/".join([*current, part])
            if candidate in self.links:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise _symlink_escape(display, first_target, "is a symlink loop")
                target = self.links[candidate]
                if target.startswith("/"):
                    current = []
                pending = self._link_parts(target, link) + pending
            elif candidate in self.folders:
                current.append(part)
            elif candidate in self.files and not pending:
                return candidate
            else:
                raise InvalidArgument(
                    f"symlink {display!r} points to {_printable(first_target)!r}, "
                    "which does not exist inside the artifact",
                    reason="SYMLINK_BROKEN",
                    path=display,
                    target=_printable(first_target),
                )
        folder = "/".join(current)
        parent = link.rpartition("/")[0]
        if not folder or parent == folder or parent.startswith(folder + "/"):
            raise _symlink_escape(display, first_target, "loops back to an enclosing folder")
        raise InvalidArgument(
            f"symlink {display!r} points to a folder; only links to files are followed",
            reason="SYMLINK_TO_DIRECTORY",
            path=display,
            target=_printable(first_target),
        )

    def _link_parts(self, target: str, link: str) -> list[str]:
        """Split a link target; an absolute one must name the artifact root as its prefix."""
        if not target.startswith("/"):
            return target.split("/")
        # Compare components, not lexically normalised text: a `..` below a symlinked
        # folder resolves physically, so it is kept and resolved inside the tree.
        root_parts = Path(self.real).parts
        parts = Path(target).parts
        if parts[: len(root_parts)] != root_parts:
            raise _symlink_escape(self._display(link), self.links[link], "leads outside the artifact")
        return list(parts[len(root_parts) :])

    # Second pass: reopen the same folders and hash.

    def _hash(self, dir_fd: int, folder: _Folder, out: dict[str, ScannedFile],
              pending: deque[tuple[str, Future[ScannedFile]]]) -> None:  # fmt: skip
        """Opens each file here (checked against the listing) and hands it to the hashing pool;
        a few files are in flight at once, so a folder of shards uses every core."""
        for name, listed in folder.files:
            rel = f"{folder.rel}/{name}" if folder.rel else name
            reused = _reuse_known(self.known.get(rel), rel, listed)
            if reused is not None:
                out[rel] = reused
                continue
            fd = self._open_file(dir_fd, name, listed, rel)
            pending.append((rel, _HASH_POOL.submit(self._hash_open, fd, listed, rel)))
            if len(pending) > 2 * HASH_WORKERS:  # bounded: never thousands of open files
                done, future = pending.popleft()
                out[done] = future.result()
        for name, child in folder.folders:
            child_fd = self._open_folder(dir_fd, name, child)
            try:
                self._hash(child_fd, child, out, pending)
            finally:
                os.close(child_fd)

    def _hash_open(self, fd: int, listed: os.stat_result, rel: str) -> ScannedFile:
        """On a pool thread: hash (or keep, through the sink) a file opened by `_hash`; closes it."""
        try:
            opened = os.fstat(fd)
            if (opened.st_size, opened.st_mtime_ns) != (listed.st_size, listed.st_mtime_ns):
                raise _changed(self._display(rel))
            _check_regular_file(opened, self._display(rel), self.limits)
            return _hash_open_file(fd, opened, rel, self._display(rel), _thread_buffer(), self.sink)
        finally:
            os.close(fd)

    # Opening, always relative to the parent, never through a symlink.

    def _open_folder(self, dir_fd: int, name: str, folder: _Folder) -> int:
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise _os_error(exc, self._display(folder.rel)) from None
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (folder.device, folder.inode):
            os.close(fd)
            raise _changed(self._display(folder.rel))
        return fd

    def _open_file(self, dir_fd: int, name: str, listed: os.stat_result, rel: str) -> int:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise _os_error(exc, self._display(rel)) from None
        try:
            opened = os.fstat(fd)
            if _identity(opened) != _identity(listed):
                raise _changed(self._display(rel))
            if not stat.S_ISREG(opened.st_mode):
                raise _special_file(opened, self._display(rel))
            os.set_blocking(fd, True)  # a regular file after all: plain blocking reads
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _display(self, rel: str) -> str:
        return _printable(os.path.join(str(self.source), rel) if rel else str(self.source))


# --- checks and hashing shared by both shapes ------------------------------------------


def _check_name(name: str, display: str) -> None:
    bad = _BAD_NAME_CHARS.search(name)
    if bad is None:
        return
    problem = "is not valid UTF-8" if _has_surrogates(name) else "contains a control character"
    raise InvalidArgument(
        f"file name {_printable(name)!r} {problem}; rename it",
        reason="INVALID_FILE_NAME",
        path=display,
        name=_printable(name),
    )


def _check_regular_file(st: os.stat_result, display: str, limits: ScanLimits) -> None:
    if st.st_nlink > 1:
        raise InvalidArgument(
            f"{display!r} has {st.st_nlink} hard links; registered content must not be "
            "changeable through another name, so copy the file instead of linking it",
            reason="HARDLINK_REFUSED",
            path=display,
            links=st.st_nlink,
        )
    if st.st_size > limits.max_file_bytes:
        raise InvalidArgument(
            f"{display!r} is {st.st_size} bytes, more than the {limits.max_file_bytes} allowed for one file",
            reason="FILE_TOO_LARGE",
            path=display,
            size=st.st_size,
            max_file_bytes=limits.max_file_bytes,
        )


def _thread_buffer() -> memoryview:
    """A read buffer of this thread's own, reused across files."""
    buffer: memoryview | None = getattr(_BUFFERS, "buffer", None)
    if buffer is None:
        buffer = _BUFFERS.buffer = memoryview(bytearray(CHUNK_SIZE))
    return buffer


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    """Device, inode and type: a freed inode number can come back as a FIFO at once."""
    return st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)


def _looks_sparse(st: os.stat_result) -> bool:
    """Less than half of the bytes allocated: worth a closer look."""
    return st.st_size >= SPARSE_MIN_SIZE and st.st_blocks * 512 * 2 < st.st_size


def _has_hole(fd: int, st: os.stat_result) -> bool:
    """Confirm with SEEK_HOLE, so compressed file systems (few blocks, no hole) pass."""
    try:
        return os.lseek(fd, 0, os.SEEK_HOLE) < st.st_size
    except (AttributeError, OSError):
        return True  # cannot ask: trust the block count
    finally:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
        except OSError:
            pass


def _reuse_known(previous: ScannedFile | None, rel: str, st: os.stat_result) -> ScannedFile | None:
    if previous is None:
        return None
    same = (previous.size, previous.mtime_ns, previous.inode, previous.device) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
        st.st_dev,
    )
    return replace(previous, path=rel) if same else None


def _hash_open_file(
    fd: int, before: os.stat_result, rel: str, display: str, buffer: memoryview, sink: FileSink | None = None
) -> ScannedFile:
    """Hash an open regular file; refuse it if it changed while being read."""
    try:
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except (AttributeError, OSError):
            pass  # only a read-ahead hint
        if sink is not None:
            digest = sink.absorb(rel, fd, before.st_size)
        else:
            digest = _sha256_of(fd, before.st_size, buffer)
        after = os.fstat(fd)
    except OSError as exc:
        raise FailedPrecondition(
            f"could not read {display!r}: {exc.strerror}",
            reason="READ_FAILED",
            path=display,
            errno=errno.errorcode.get(exc.errno or 0, str(exc.errno)),
        ) from None
    unchanged = (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    if digest is None or not unchanged:
        raise _changed(display)
    return ScannedFile(
        path=rel,
        size=before.st_size,
        sha256=digest,
        mtime_ns=before.st_mtime_ns,
        inode=before.st_ino,
        device=before.st_dev,
    )


def _sha256_of(fd: int, expected_size: int, buffer: memoryview) -> str | None:
    """sha256 of the whole file, or None when it is not `expected_size` bytes long."""
    hasher = hashlib.sha256()
    reader = io.FileIO(fd, "rb", closefd=False)
    read = 0
    while count := reader.readinto(buffer):
        read += count
        if read > expected_size:
            return None  # still growing: stop instead of chasing a writer
        hasher.update(buffer[:count])
    return hasher.hexdigest() if read == expected_size else None


# --- errors ----------------------------------------------------------------------------


def _os_error(exc: OSError, display: str) -> RegistryError:
    """Map an OS error on something already listed or resolved a moment ago."""
    code = exc.errno
    if code in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
        # It existed a moment ago: it vanished, or was swapped for a symlink.
        return _changed(display)
    if code in (errno.EACCES, errno.EPERM):
        return FailedPrecondition(f"the registry may not read {display!r}", reason="PERMISSION_DENIED", path=display)
    return FailedPrecondition(
        f"could not read {display!r}: {exc.strerror}",
        reason="READ_FAILED",
        path=display,
        errno=errno.errorcode.get(code or 0, str(code)),
    )


def _not_found(text: str) -> NotFound:
    display = _printable(text)
    return NotFound(f"{display!r} does not exist", reason="PATH_NOT_FOUND", path=display)


def _changed(display: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"{display!r} changed while it was being scanned; register it once it is complete",
        reason="FILE_CHANGED_DURING_SCAN",
        path=display,
    )


def _special_file(st: os.stat_result, display: str) -> InvalidArgument:
    mode = st.st_mode
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a character device"
        if stat.S_ISCHR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return InvalidArgument(
        f"{display!r} is {kind}; only regular files and folders can be registered",
        reason="SPECIAL_FILE",
        path=display,
        kind=kind,
    )


def _symlink_escape(display: str, target: str, why: str) -> InvalidArgument:
    return InvalidArgument(
        f"symlink {display!r} -> {_printable(target)!r} {why}; only links to files inside the artifact are followed",
        reason="SYMLINK_ESCAPE",
        path=display,
        target=_printable(target),
    )


def _sparse_file(display: str, st: os.stat_result) -> InvalidArgument:
    return InvalidArgument(
        f"{display!r} is a sparse file ({st.st_size} bytes, {st.st_blocks * 512} on disk); "
        "write it out in full before registering it",
        reason="SPARSE_FILE",
        path=display,
        size=st.st_size,
        allocated=st.st_blocks * 512,
    )


def _artifact_too_large(display: str, limits: ScanLimits) -> InvalidArgument:
    return InvalidArgument(
        f"{display!r} holds more than the {limits.max_total_bytes} bytes allowed for one artifact",
        reason="ARTIFACT_TOO_LARGE",
        path=display,
        max_total_bytes=limits.max_total_bytes,
    )


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _printable(text: str) -> str:
    """Text safe to show: undecodable bytes as \\xNN, control characters escaped."""
    decoded = os.fsencode(text).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in decoded)
