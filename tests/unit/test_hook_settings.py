"""Webhook delivery settings: defaults, the config file's [daemon] table, flags over both."""

from __future__ import annotations

import pytest
from studbook import locations
from studbook.daemon import config
from studbook.daemon.domain.hooks import HookSettings


def write_config(text: str) -> None:
    path = locations.config_dir() / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_defaults_retry_for_about_an_hour_before_pausing() -> None:
    assert config.load([]).hooks == HookSettings(10.0, 1.0, 300.0, 20, deliver=True)


def test_a_daemon_can_leave_deliveries_to_another_by_flag_or_config() -> None:
    assert config.load(["--no-hook-delivery"]).hooks.deliver is False
    write_config("[daemon]\nhook_delivery = false\n")
    assert config.load([]).hooks.deliver is False


def test_the_config_file_sets_them_and_flags_win() -> None:
    write_config("[daemon]\nhook_timeout_seconds = 3\nhook_backoff_seconds = 0.5\nhook_backoff_max_seconds = 60\n"
                 "hook_max_failures = 5\n")  # fmt: skip
    assert config.load([]).hooks == HookSettings(3.0, 0.5, 60.0, 5)
    assert config.load(["--hook-max-failures", "2", "--hook-backoff", "0.1"]).hooks == HookSettings(3.0, 0.1, 60.0, 2)


@pytest.mark.parametrize("argv", [["--hook-max-failures", "0"], ["--hook-backoff", "-1"], ["--hook-timeout", "0"]])
def test_nonsense_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        config.load(argv)


@pytest.mark.parametrize("line", ["hook_max_failures = 0", "hook_backoff_seconds = -1", 'hook_timeout_seconds = "x"'])
def test_nonsense_in_the_config_file_is_refused(line: str) -> None:
    write_config(f"[daemon]\n{line}\n")
    with pytest.raises(SystemExit):
        config.load([])
