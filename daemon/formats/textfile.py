"""Small text files (README.md, MLmodel, requirements.txt, *.yaml, *.json) read within a bound."""

from __future__ import annotations

from pathlib import Path

from studbook.daemon.formats.errors import FormatError


def read_text(path: Path, cap: int, *, truncate: bool = False) -> str:
    """The file as UTF-8 (undecodable bytes replaced); longer than `cap` is cut or refused."""
    with open(path, "rb") as fileobj:
        data = fileobj.read(cap + 1)
    if len(data) > cap:
        if not truncate:
            raise FormatError("FILE_TOO_LARGE", f"{path.name} is larger than the {cap}-byte limit for it")
        data = data[:cap]
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def read_bytes(path: Path, cap: int) -> bytes:
    with open(path, "rb") as fileobj:
        data = fileobj.read(cap + 1)
    if len(data) > cap:
        raise FormatError("FILE_TOO_LARGE", f"{path.name} is larger than the {cap}-byte limit for it")
    return data
