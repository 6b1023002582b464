"""The policy in force, over a real daemon: a file created after start-up is picked up, and
`studbook status` says which file is in force, since when, and why a newer one is not."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from studbook import locations
from studbook.cli import commands as cli
from support.cli import runner

GATED = """
[[models]]
pattern = "late-*"
[models.gates.production]
metrics = ["auc >= 0.95"]
"""


def write(path: Path, text: str, bump: int) -> None:
    """Writes with a distinct mtime, as edits seconds apart would have."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = 1_700_000_000_000_000_000 + bump * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def run(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(daemon.address, capsys)


def test_a_policy_file_created_after_start_up_gates_the_next_promotion(run: Any) -> None:
    path = locations.config_dir() / "policy.toml"
    assert not path.exists()
    assert run("register", "late-a", "--uri", "s3://b/late-a/1", "--metric", "auc=0.9", "--no-env").code == 0
    assert run("register", "late-b", "--uri", "s3://b/late-b/1", "--metric", "auc=0.9", "--no-env").code == 0
    before = run("promote", "late-a@1", "production", "--reason", "no policy yet")

    write(path, GATED, bump=0)
    after = run("promote", "late-b@1", "production", "--reason", "the policy came since")

    assert before.code == cli.EXIT_OK, before.err
    assert after.code == cli.EXIT_PRECONDITION
    assert "GATE_NOT_MET" in after.err and "0.95" in after.err


def test_status_says_no_policy_then_which_file_is_in_force(run: Any) -> None:
    path = locations.config_dir() / "policy.toml"

    none = run("status")
    none_json = run("status", "--json").json()["policy"]
    write(path, GATED, bump=0)
    loaded = run("status")
    loaded_json = run("status", "--json").json()["policy"]

    assert none.code == 0 and "Promotion policy" in none.out and str(path) in none.out
    assert "none" in none.out and "default location" in none.out
    assert none_json["in_force"] is False and none_json["path"] == str(path) and none_json["default_location"]
    assert "in force since" in loaded.out and "1 model rule, 1 stage gate, 0 monitors" in loaded.out
    assert loaded_json["in_force"] is True and loaded_json["error"] == "" and loaded_json["monitors"] == 0
    assert loaded_json["sha256"] == hashlib.sha256(GATED.encode()).hexdigest()
    assert loaded_json["sha256"] in loaded.out


def test_status_shows_a_load_error_and_that_the_last_good_policy_stays(run: Any) -> None:
    path = locations.config_dir() / "policy.toml"
    write(path, GATED, bump=0)
    assert run("status").code == 0
    write(path, GATED.replace("auc >= 0.95", "auc >> 0.95"), bump=1)

    broken = run("status")
    broken_json = run("status", "--json").json()["policy"]
    assert run("register", "late-c", "--uri", "s3://b/late-c/1", "--metric", "auc=0.9", "--no-env").code == 0
    still_gated = run("promote", "late-c@1", "production", "--reason", "the broken edit must not open the gate")

    assert broken.code == 0
    assert "not loaded" in broken.out and "the policy above stays in force" in broken.out
    assert "auc >> 0.95" in broken_json["error"] and broken_json["in_force"] is True
    assert broken_json["sha256"] == hashlib.sha256(GATED.encode()).hexdigest()
    assert still_gated.code == cli.EXIT_PRECONDITION


def test_a_policy_named_at_start_up_is_not_the_default_location(daemon_factory: Any, short_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    named = short_dir / "named.toml"
    write(named, GATED, bump=0)
    daemon = daemon_factory("--policy", str(named))

    status = runner(daemon.address, capsys)("status", "--json").json()["policy"]

    assert status["path"] == str(named) and status["default_location"] is False and status["in_force"] is True
