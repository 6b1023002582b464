"""`studbook pull` and `register --keep-in-place`: a kept version's files back on disk, verified."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from support.cli import runner
from support.files import random_weights


@pytest.fixture
def studbook(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(daemon.address, capsys)


def make_folder(path: Path) -> dict[str, bytes]:
    files = {"weights.bin": random_weights(2 * 1024 * 1024 + 3), "tokenizer/vocab.txt": b"a\nb\n"}
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return files


def test_pull_writes_every_file_of_a_version_byte_identical_after_its_folder_is_gone(
    studbook: Any, tmp_path: Path
) -> None:
    files = make_folder(tmp_path / "src")
    assert studbook("register", "pulled", str(tmp_path / "src"), "--no-env").code == 0
    shutil.rmtree(tmp_path / "src")

    result = studbook("--json", "pull", "pulled@latest", str(tmp_path / "out"))

    assert result.code == 0, result.err
    assert {f["path"] for f in result.json()["files"]} == {str(tmp_path / "out" / name) for name in files}
    for name, data in files.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    assert not list((tmp_path / "out").rglob("*.studbook-part"))


def test_pull_one_file_and_pull_again_skips_what_is_already_there(studbook: Any, tmp_path: Path) -> None:
    make_folder(tmp_path / "src")
    studbook("register", "one", str(tmp_path / "src"), "--no-env")

    first = studbook("--json", "pull", "one", str(tmp_path / "out"), "--file", "tokenizer/vocab.txt")
    again = studbook("--json", "pull", "one", str(tmp_path / "out"), "--file", "tokenizer/vocab.txt")
    missing = studbook("pull", "one", str(tmp_path / "out"), "--file", "nope.bin")

    assert [f["skipped"] for f in first.json()["files"]] == [False]
    assert [f["skipped"] for f in again.json()["files"]] == [True]
    assert list((tmp_path / "out").rglob("*.bin")) == []
    assert missing.code == 3 and "FILE_NOT_FOUND" in missing.err


def test_an_interrupted_pull_resumes_from_its_partial_file(daemon: Any, tmp_path: Path) -> None:
    files = make_folder(tmp_path / "src")
    data = files["weights.bin"]
    with Client(daemon.address) as client:
        client.register("resumed", path=tmp_path / "src", environment=False, git=False)
        part = tmp_path / "out" / "weights.bin.studbook-part"
        part.parent.mkdir(parents=True)
        part.write_bytes(data[:1_000_000])  # what an interrupted pull left behind
        written: list[int] = []
        pulled = client.download("resumed", tmp_path / "out", file="weights.bin", progress=written.append)

    assert (tmp_path / "out" / "weights.bin").read_bytes() == data
    assert sum(written) == len(data) - 1_000_000  # only the rest travelled
    assert pulled[0].sha256 == hashlib.sha256(data).hexdigest() and not part.exists()


def test_a_corrupt_partial_file_is_caught_and_never_takes_the_final_name(daemon: Any, tmp_path: Path) -> None:
    files = make_folder(tmp_path / "src")
    with Client(daemon.address) as client:
        client.register("corrupt", path=tmp_path / "src", environment=False, git=False)
        part = tmp_path / "out" / "weights.bin.studbook-part"
        part.parent.mkdir(parents=True)
        part.write_bytes(b"\0" * 1000)  # not the start of the file
        with pytest.raises(StudbookError) as caught:
            client.download("corrupt", tmp_path / "out", file="weights.bin")
        retried = client.download("corrupt", tmp_path / "out", file="weights.bin")

    assert caught.value.reason == "DOWNLOAD_CORRUPT"
    assert not part.exists() and retried[0].path.read_bytes() == files["weights.bin"]


def test_a_version_kept_in_place_is_shown_as_referenced_and_cannot_be_pulled(studbook: Any, tmp_path: Path) -> None:
    make_folder(tmp_path / "src")
    registered = studbook("--json", "register", "inplace", str(tmp_path / "src"), "--keep-in-place", "--no-env")

    shown = studbook("show", "inplace@1")
    pulled = studbook("pull", "inplace@1", str(tmp_path / "out"))

    assert registered.json()["version"].get("kept", False) is False
    assert "referenced, not kept" in shown.out
    assert pulled.code == 4 and "VERSION_NOT_KEPT" in pulled.err


def test_show_says_a_version_is_kept(studbook: Any, tmp_path: Path) -> None:
    make_folder(tmp_path / "src")
    studbook("register", "shown", str(tmp_path / "src"), "--no-env")

    assert "kept by the registry" in studbook("show", "shown@1").out
