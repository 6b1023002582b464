"""Where studbook keeps its socket, data and settings: XDG directories with their fallbacks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from studbook import locations


def test_the_socket_lives_in_the_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")

    assert locations.default_socket_path() == Path("/run/user/1000/studbook/studbook.sock")


@pytest.mark.parametrize("value", [None, "", "relative/dir"])
def test_without_a_usable_runtime_dir_the_socket_is_per_user_in_tmp(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    else:
        monkeypatch.setenv("XDG_RUNTIME_DIR", value)

    assert locations.runtime_dir() == Path(f"/tmp/studbook-{os.getuid()}")


def test_data_and_config_follow_xdg_and_default_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/etc/xdg-user")

    assert locations.data_dir() == tmp_path / ".local" / "share" / "studbook"
    assert locations.config_dir() == Path("/etc/xdg-user/studbook")


def test_the_address_comes_from_the_environment_or_the_default_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    monkeypatch.delenv("STUDBOOK_ADDRESS", raising=False)
    default = locations.default_address()
    monkeypatch.setenv("STUDBOOK_ADDRESS", "localhost:7070")

    assert default == "unix:///run/user/1000/studbook/studbook.sock"
    assert locations.default_address() == "localhost:7070"
