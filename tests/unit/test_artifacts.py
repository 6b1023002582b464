"""Scanning a local path into artifact files: what is listed, what is refused, the digest."""

from __future__ import annotations

import hashlib
import os
import random
import socket
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon import artifacts
from studbook.daemon.artifacts import ScanLimits, ScannedFile, content_digest, scan_artifact
from studbook.daemon.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RegistryError,
)

E = TypeVar("E", bound=RegistryError)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A small, valid model folder."""
    return write(
        tmp_path / "model",
        {"config.json": b"{}", "weights/part-1.bin": b"A" * 3000, "weights/part-2.bin": b"B"},
    )


@pytest.fixture
def opened_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the last path component of every os.open call made while scanning."""
    names: list[str] = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        names.append(os.path.basename(os.fsdecode(path)))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", spy)
    return names


def refusal(error: type[E], call: Callable[[], object]) -> E:
    """The error `call` raises; fails the test when it raises nothing or something else."""
    with pytest.raises(error) as caught:
        call()
    return caught.value


# --- what a scan returns ---------------------------------------------------------------


def test_folder_lists_every_file_sorted_with_size_and_sha256(model: Path) -> None:
    files = scan_artifact(model)

    assert [(f.path, f.size, f.sha256) for f in files] == [
        ("config.json", 2, sha(b"{}")),
        ("weights/part-1.bin", 3000, sha(b"A" * 3000)),
        ("weights/part-2.bin", 1, sha(b"B")),
    ]
    info = os.stat(model / "config.json")
    assert (files[0].mtime_ns, files[0].inode, files[0].device) == (
        info.st_mtime_ns,
        info.st_ino,
        info.st_dev,
    )


def test_single_file_is_listed_under_its_own_name(tmp_path: Path) -> None:
    source = write(tmp_path, {"model.onnx": b"onnx bytes"}) / "model.onnx"

    files = scan_artifact(source)

    assert [(f.path, f.size, f.sha256) for f in files] == [("model.onnx", 10, sha(b"onnx bytes"))]


def test_file_larger_than_one_chunk_hashes_like_hashlib(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(artifacts.CHUNK_SIZE * 2 + 123)
    source = write(tmp_path, {"big.bin": data}) / "big.bin"

    assert scan_artifact(source)[0].sha256 == sha(data)


def test_empty_file_is_listed(tmp_path: Path) -> None:
    write(tmp_path / "m", {"empty": b"", "w": b"x"})

    assert [(f.path, f.size) for f in scan_artifact(tmp_path / "m")] == [("empty", 0), ("w", 1)]


def test_folder_without_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m" / "only" / "folders").mkdir(parents=True)

    error = refusal(InvalidArgument, lambda: scan_artifact(tmp_path / "m"))

    assert error.reason == "EMPTY_ARTIFACT"


# --- the source path -------------------------------------------------------------------


def test_relative_source_is_refused() -> None:
    error = refusal(InvalidArgument, lambda: scan_artifact(Path("models/m")))

    assert (error.reason, error.metadata["path"]) == ("RELATIVE_PATH", "models/m")


def test_missing_source_is_not_found(tmp_path: Path) -> None:
    error = refusal(NotFound, lambda: scan_artifact(tmp_path / "nope"))

    assert (error.reason, error.metadata["path"]) == ("PATH_NOT_FOUND", str(tmp_path / "nope"))


def test_source_with_dot_dot_is_refused(model: Path) -> None:
    error = refusal(InvalidArgument, lambda: scan_artifact(model / "weights" / ".." / "weights"))

    assert error.reason == "PATH_TRAVERSAL"


def test_source_inside_allowed_roots_is_scanned(model: Path) -> None:
    files = scan_artifact(model / "weights", allowed_roots=[model.parent])

    assert [f.path for f in files] == ["part-1.bin", "part-2.bin"]


def test_source_outside_allowed_roots_is_refused(model: Path, tmp_path: Path) -> None:
    other_root = tmp_path / "drops"
    other_root.mkdir()

    error = refusal(InvalidArgument, lambda: scan_artifact(model, allowed_roots=[other_root]))

    assert (error.reason, error.metadata["path"]) == ("PATH_NOT_ALLOWED", str(model))


def test_symlink_inside_allowed_root_to_outside_is_refused(model: Path, tmp_path: Path) -> None:
    root = tmp_path / "drops"
    root.mkdir()
    (root / "m").symlink_to(model)

    error = refusal(InvalidArgument, lambda: scan_artifact(root / "m", allowed_roots=[root]))

    assert error.reason == "PATH_NOT_ALLOWED"


def test_missing_path_outside_allowed_roots_does_not_reveal_existence(tmp_path: Path) -> None:
    root = tmp_path / "drops"
    root.mkdir()

    error = refusal(InvalidArgument, lambda: scan_artifact(tmp_path / "secret", allowed_roots=[root]))

    assert error.reason == "PATH_NOT_ALLOWED"


def test_source_symlink_is_resolved_and_listed_under_the_given_name(tmp_path: Path) -> None:
    blob = write(tmp_path, {"blobs/0a1b2c": b"weights"}) / "blobs" / "0a1b2c"
    (tmp_path / "model.safetensors").symlink_to(blob)

    files = scan_artifact(tmp_path / "model.safetensors")

    assert [(f.path, f.sha256) for f in files] == [("model.safetensors", sha(b"weights"))]


# --- symlinks inside a folder ----------------------------------------------------------


def test_symlink_to_a_file_inside_is_followed_and_listed_under_its_own_path(model: Path) -> None:
    (model / "latest.bin").symlink_to("weights/part-1.bin")
    (model / "weights" / "abs.bin").symlink_to(model / "weights" / "part-2.bin")

    files = {f.path: f.sha256 for f in scan_artifact(model)}

    assert files["latest.bin"] == sha(b"A" * 3000)
    assert files["weights/abs.bin"] == sha(b"B")


def test_chain_of_symlinks_inside_is_followed(model: Path) -> None:
    (model / "first").symlink_to("weights/second")
    (model / "weights" / "second").symlink_to("../weights/./part-1.bin")

    files = {f.path: f.sha256 for f in scan_artifact(model)}

    assert files["first"] == files["weights/second"] == sha(b"A" * 3000)


def test_symlink_to_etc_passwd_is_refused(model: Path) -> None:
    (model / "weights" / "passwd").symlink_to("/etc/passwd")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "SYMLINK_ESCAPE"
    assert error.metadata["path"] == str(model / "weights" / "passwd")
    assert error.metadata["target"] == "/etc/passwd"


def test_relative_symlink_leaving_the_folder_is_refused(model: Path) -> None:
    (model.parent / "outside.bin").write_bytes(b"secret")
    (model / "weights" / "x").symlink_to("../../outside.bin")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "SYMLINK_ESCAPE"


def test_symlink_loop_is_refused(model: Path) -> None:
    (model / "a").symlink_to("b")
    (model / "b").symlink_to("a")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "SYMLINK_ESCAPE"
    assert "loop" in error.message


def test_symlink_to_itself_is_refused(model: Path) -> None:
    (model / "self").symlink_to("self")

    assert refusal(InvalidArgument, lambda: scan_artifact(model)).reason == "SYMLINK_ESCAPE"


@pytest.mark.timeout(10)
def test_folder_symlink_to_an_enclosing_folder_is_refused_not_followed(model: Path) -> None:
    (model / "weights" / "again").symlink_to("..")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "SYMLINK_ESCAPE"


def test_folder_symlink_to_a_sibling_folder_is_refused(model: Path) -> None:
    (model / "w").symlink_to("weights")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert (error.reason, error.metadata["path"]) == ("SYMLINK_TO_DIRECTORY", str(model / "w"))


def test_dangling_symlink_is_refused(model: Path) -> None:
    (model / "gone").symlink_to("weights/part-9.bin")

    assert refusal(InvalidArgument, lambda: scan_artifact(model)).reason == "SYMLINK_BROKEN"


# --- files that are not plain files ----------------------------------------------------


def test_hardlinked_file_is_refused(model: Path, tmp_path: Path) -> None:
    os.link(model / "config.json", tmp_path / "elsewhere.json")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "HARDLINK_REFUSED"
    assert error.metadata["path"] == str(model / "config.json")


@pytest.mark.timeout(10)
def test_fifo_inside_a_folder_is_refused_without_hanging(model: Path) -> None:
    os.mkfifo(model / "weights" / "pipe")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "SPECIAL_FILE"
    assert error.metadata["path"] == str(model / "weights" / "pipe")


@pytest.mark.timeout(10)
def test_fifo_as_source_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")

    error = refusal(InvalidArgument, lambda: scan_artifact(tmp_path / "pipe"))

    assert (error.reason, error.metadata["kind"]) == ("SPECIAL_FILE", "a named pipe (FIFO)")


@pytest.mark.timeout(10)
def test_socket_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    listener = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    try:
        os.chdir(folder)  # a relative bind keeps clear of the socket path length limit
        listener.bind("sock")
    finally:
        os.chdir(cwd)
    try:
        error = refusal(InvalidArgument, lambda: scan_artifact(folder))
    finally:
        listener.close()

    assert (error.reason, error.metadata["kind"]) == ("SPECIAL_FILE", "a socket")


def test_device_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    try:
        os.mknod(folder / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating device nodes needs CAP_MKNOD")

    error = refusal(InvalidArgument, lambda: scan_artifact(folder))

    assert (error.reason, error.metadata["kind"]) == ("SPECIAL_FILE", "a character device")


def test_sparse_file_is_refused(model: Path) -> None:
    with open(model / "weights" / "hollow.bin", "wb"):
        pass
    os.truncate(model / "weights" / "hollow.bin", 1 << 30)

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert (error.reason, error.metadata["path"]) == (
        "SPARSE_FILE",
        str(model / "weights" / "hollow.bin"),
    )


def test_sparse_file_as_source_is_refused(tmp_path: Path) -> None:
    hollow = tmp_path / "hollow.bin"
    hollow.touch()
    os.truncate(hollow, 1 << 30)

    assert refusal(InvalidArgument, lambda: scan_artifact(hollow)).reason == "SPARSE_FILE"


# --- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["line\nbreak.bin", "esc\x1b[31m.bin", "tab\there", "del\x7f", "bidi\u202egnp.exe"],
)
def test_name_with_control_character_is_refused(model: Path, name: str) -> None:
    (model / name).write_bytes(b"x")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "INVALID_FILE_NAME"
    assert all(ch.isprintable() for ch in error.metadata["name"])


def test_name_that_is_not_utf8_is_refused(model: Path) -> None:
    fd = os.open(os.fsencode(model) + b"/caf\xe9.bin", os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert (error.reason, error.metadata["name"]) == ("INVALID_FILE_NAME", "caf\\xe9.bin")


def test_names_equal_after_nfc_normalisation_are_refused(model: Path) -> None:
    (model / "caf\u00e9.bin").write_bytes(b"composed")
    (model / "cafe\u0301.bin").write_bytes(b"decomposed")
    if len(os.listdir(model)) != 4:
        pytest.skip("this file system normalises names, so both cannot exist")

    error = refusal(InvalidArgument, lambda: scan_artifact(model))

    assert error.reason == "NAME_COLLISION"


# --- limits ----------------------------------------------------------------------------


def test_file_over_the_size_cap_is_refused(model: Path) -> None:
    limits = ScanLimits(max_file_bytes=2999)

    error = refusal(InvalidArgument, lambda: scan_artifact(model, limits=limits))

    assert (error.reason, error.metadata["path"]) == (
        "FILE_TOO_LARGE",
        str(model / "weights" / "part-1.bin"),
    )


def test_too_many_entries_are_refused(model: Path) -> None:
    error = refusal(InvalidArgument, lambda: scan_artifact(model, limits=ScanLimits(max_files=3)))

    assert error.reason == "TOO_MANY_FILES"


def test_artifact_over_the_total_cap_is_refused(model: Path) -> None:
    error = refusal(InvalidArgument, lambda: scan_artifact(model, limits=ScanLimits(max_total_bytes=3002)))

    assert error.reason == "ARTIFACT_TOO_LARGE"


def test_symlinked_copies_count_towards_the_total_cap_before_anything_is_read(
    model: Path, opened_names: list[str]
) -> None:
    (model / "copy").symlink_to("weights/part-1.bin")

    error = refusal(InvalidArgument, lambda: scan_artifact(model, limits=ScanLimits(max_total_bytes=5000)))

    assert error.reason == "ARTIFACT_TOO_LARGE"
    assert not {"config.json", "part-1.bin", "part-2.bin"} & set(opened_names)


def test_limits_are_checked_before_any_file_is_read(model: Path, opened_names: list[str]) -> None:
    write(model, {"z/last.bin": b"over the cap"})

    limits = ScanLimits(max_total_bytes=3010)  # crossed only by the last file listed

    error = refusal(InvalidArgument, lambda: scan_artifact(model, limits=limits))

    assert error.reason == "ARTIFACT_TOO_LARGE"
    assert not {"config.json", "part-1.bin", "part-2.bin"} & set(opened_names)


def test_folders_nested_too_deep_are_refused(model: Path) -> None:
    write(model, {"a/b/c.bin": b"x"})

    error = refusal(InvalidArgument, lambda: scan_artifact(model, limits=ScanLimits(max_depth=1)))

    assert (error.reason, error.metadata["path"]) == ("PATH_TOO_DEEP", str(model / "a" / "b"))


def test_path_too_long_is_refused(model: Path) -> None:
    error = refusal(InvalidArgument, lambda: scan_artifact(model, limits=ScanLimits(max_path_length=12)))

    assert error.reason == "PATH_TOO_LONG"


# --- races -----------------------------------------------------------------------------


REAL_SHA256 = hashlib.sha256


class TamperingHasher:
    """A sha256 that runs `tamper` once, after the first chunk was read."""

    def __init__(self, tamper: Callable[[], object]) -> None:
        self.inner = REAL_SHA256()
        self.tamper: Callable[[], object] | None = tamper

    def update(self, data: bytes) -> None:
        self.inner.update(data)
        tamper, self.tamper = self.tamper, None
        if tamper is not None:
            tamper()

    def hexdigest(self) -> str:
        return self.inner.hexdigest()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda path: path.open("ab").write(b"more"), id="appended"),
        pytest.param(lambda path: os.utime(path, ns=(1, 1)), id="touched"),
    ],
)
def test_file_changing_while_hashed_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tamper: Callable[[Path], object]
) -> None:
    source = write(tmp_path, {"w.bin": b"x" * 5000}) / "w.bin"
    monkeypatch.setattr(hashlib, "sha256", lambda: TamperingHasher(lambda: tamper(source)))

    error = refusal(FailedPrecondition, lambda: scan_artifact(source))

    assert (error.reason, error.metadata["path"]) == ("FILE_CHANGED_DURING_SCAN", str(source))


def swap_before_open(monkeypatch: pytest.MonkeyPatch, victim: Path, replace: Callable[[Path], None]) -> None:
    """Replace `victim` the moment the scanner opens it for reading."""
    real_open = os.open

    def racing_open(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        if os.fsdecode(path) == victim.name and not flags & os.O_DIRECTORY and victim.exists():
            victim.unlink()
            replace(victim)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", racing_open)


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "replace",
    [
        pytest.param(lambda path: path.symlink_to("/etc/passwd"), id="symlink"),
        pytest.param(lambda path: os.mkfifo(path), id="fifo"),
        pytest.param(lambda path: path.write_bytes(b"other"), id="new-file"),
    ],
)
def test_file_swapped_between_listing_and_reading_is_refused(
    model: Path, monkeypatch: pytest.MonkeyPatch, replace: Callable[[Path], None]
) -> None:
    victim = model / "weights" / "part-2.bin"
    swap_before_open(monkeypatch, victim, replace)

    error = refusal(FailedPrecondition, lambda: scan_artifact(model))

    assert (error.reason, error.metadata["path"]) == ("FILE_CHANGED_DURING_SCAN", str(victim))


def test_folder_swapped_for_a_symlink_is_refused(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = write(tmp_path / "outside", {"part-1.bin": b"evil", "part-2.bin": b"evil"})
    real_scandir = os.scandir
    calls = 0

    def scandir_then_swap(fd):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        listing = real_scandir(fd)
        if calls == 2:  # `weights` listed: swap it before the hashing pass reopens it
            (model / "weights").rename(tmp_path / "moved")
            (model / "weights").symlink_to(outside)
        return listing

    monkeypatch.setattr(os, "scandir", scandir_then_swap)

    error = refusal(FailedPrecondition, lambda: scan_artifact(model))

    assert (error.reason, error.metadata["path"]) == (
        "FILE_CHANGED_DURING_SCAN",
        str(model / "weights"),
    )


# --- reusing earlier results -----------------------------------------------------------


def test_unchanged_known_file_is_not_read_again(model: Path, opened_names: list[str]) -> None:
    first = {f.path: f for f in scan_artifact(model)}
    opened_names.clear()

    again = scan_artifact(model, known=first)

    assert again == sorted(first.values(), key=lambda f: f.path)
    assert not {"config.json", "part-1.bin", "part-2.bin"} & set(opened_names)


def test_known_entry_is_trusted_when_size_mtime_and_inode_match(model: Path) -> None:
    first = {f.path: f for f in scan_artifact(model)}
    # A recorded digest that differs from the content proves the file was not re-read.
    first["config.json"] = ScannedFile(**{**vars(first["config.json"]), "sha256": "0" * 64})

    again = {f.path: f for f in scan_artifact(model, known=first)}

    assert again["config.json"].sha256 == "0" * 64


def test_known_file_with_a_new_mtime_is_hashed_again(model: Path, opened_names: list[str]) -> None:
    first = {f.path: f for f in scan_artifact(model)}
    (model / "config.json").write_bytes(b"[]")
    os.utime(model / "config.json", ns=(first["config.json"].mtime_ns + 1,) * 2)
    opened_names.clear()

    again = {f.path: f for f in scan_artifact(model, known=first)}

    assert "config.json" in opened_names
    assert again["config.json"].sha256 == sha(b"[]")


def test_known_single_file_is_not_read_again(tmp_path: Path) -> None:
    source = write(tmp_path, {"m.gguf": b"gguf"}) / "m.gguf"
    first = scan_artifact(source)[0]
    recorded = ScannedFile(**{**vars(first), "sha256": "f" * 64})

    assert scan_artifact(source, known={"m.gguf": recorded}) == [recorded]


# --- the content digest ----------------------------------------------------------------


def test_digest_is_sha256_over_sorted_path_and_hash_lines() -> None:
    files = [("b.bin", sha(b"b")), ("a.bin", sha(b"a"))]
    expected = hashlib.sha256(f"a.bin\0{sha(b'a')}\nb.bin\0{sha(b'b')}\n".encode()).hexdigest()

    assert content_digest(files) == expected


def test_digest_of_a_scan_ignores_location_and_times(model: Path, tmp_path: Path) -> None:
    copy = write(
        tmp_path / "copy",
        {"weights/part-2.bin": b"B", "config.json": b"{}", "weights/part-1.bin": b"A" * 3000},
    )
    os.utime(copy / "config.json", ns=(10**9, 10**9))

    assert content_digest(scan_artifact(model)) == content_digest(scan_artifact(copy))


def test_digest_accepts_records_or_pairs_alike(model: Path) -> None:
    files = scan_artifact(model)

    assert content_digest(files) == content_digest((f.path, f.sha256) for f in files)


def test_digest_changes_with_a_path_or_a_content() -> None:
    base = content_digest([("a", sha(b"1")), ("b", sha(b"2"))])

    assert base != content_digest([("a", sha(b"1")), ("c", sha(b"2"))])
    assert base != content_digest([("a", sha(b"1")), ("b", sha(b"3"))])
    assert base != content_digest([("a", sha(b"2")), ("b", sha(b"1"))])


def test_digest_treats_composed_and_decomposed_paths_alike() -> None:
    assert content_digest([("caf\u00e9", sha(b"x"))]) == content_digest([("cafe\u0301", sha(b"x"))])


def test_digest_accepts_upper_case_hex() -> None:
    assert content_digest([("a", sha(b"x").upper())]) == content_digest([("a", sha(b"x"))])


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([("a", sha(b"x")), ("a", sha(b"y"))], "DUPLICATE_PATH"),
        ([("a", "not-a-digest")], "INVALID_SHA256"),
        ([("a\nb", sha(b"x"))], "INVALID_FILE_NAME"),
        ([("", sha(b"x"))], "INVALID_FILE_NAME"),
    ],
)
def test_digest_refuses_ambiguous_input(files: list[tuple[str, str]], reason: str) -> None:
    assert refusal(InvalidArgument, lambda: content_digest(files)).reason == reason


hashes = st.binary(min_size=32, max_size=32).map(lambda raw: raw.hex())
digest_inputs = st.dictionaries(
    st.text(alphabet="abcxyz/._-éß", min_size=1, max_size=12).filter(lambda p: "\n" not in p),
    hashes,
    max_size=20,
)


@given(files=digest_inputs, seed=st.randoms())
def test_digest_does_not_depend_on_order(files: dict[str, str], seed: random.Random) -> None:
    shuffled = list(files.items())
    seed.shuffle(shuffled)

    assert content_digest(files.items()) == content_digest(shuffled)


# --- random trees ----------------------------------------------------------------------

names = st.text(alphabet="abcxyz019_-.", min_size=1, max_size=6).filter(lambda name: name not in (".", ".."))


def without_prefix_clashes(paths: dict[tuple[str, ...], bytes]) -> dict[str, bytes]:
    """Drop paths that would need to be a file and a folder at once."""
    prefixes = {parts[:i] for parts in paths for i in range(1, len(parts))}
    return {"/".join(parts): data for parts, data in paths.items() if parts not in prefixes}


trees = st.dictionaries(
    st.lists(names, min_size=1, max_size=3).map(tuple),
    st.binary(max_size=300),
    min_size=1,
    max_size=12,
).map(without_prefix_clashes)


@settings(max_examples=30, deadline=None)
@given(tree=trees, seed=st.randoms())
def test_digest_of_a_random_tree_depends_only_on_paths_and_contents(
    tree: dict[str, bytes], seed: random.Random
) -> None:
    reordered = list(tree.items())
    seed.shuffle(reordered)
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        write(Path(first), tree)
        write(Path(second), dict(reordered))
        os.utime(Path(second) / reordered[0][0], ns=(5, 5))

        scanned = scan_artifact(Path(first))
        rescanned = scan_artifact(Path(second))

    assert [(f.path, f.size) for f in scanned] == sorted((p, len(d)) for p, d in tree.items())
    expected = content_digest((path, sha(data)) for path, data in tree.items())
    assert content_digest(scanned) == content_digest(rescanned) == expected


def test_random_tree_strategy_yields_nested_paths() -> None:
    """Guards the generator: without nesting the property above would test little."""
    examples: list[dict[str, bytes]] = []

    @settings(max_examples=50, database=None)
    @given(tree=trees)
    def collect(tree: dict[str, bytes]) -> None:
        examples.append(tree)

    collect()

    assert any("/" in path for tree in examples for path in tree)
