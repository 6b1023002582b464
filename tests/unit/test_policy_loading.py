"""Where the policy comes from (flag, config, default file) and how a changed file is reloaded."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from studbook.daemon import config
from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.domain.errors import InvalidArgument

GATED = '[[models]]\npattern = "*"\n[models.gates.production]\napprovals = {n}\n'


def write(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    stamp = 1_700_000_000_000_000_000 + bump * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_the_flag_wins_over_the_config_file_and_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "studbook").mkdir()
    (tmp_path / "studbook" / "policy.toml").write_text("")
    (tmp_path / "studbook" / "config.toml").write_text('[daemon]\npolicy = "/etc/configured.toml"\n')

    flagged = config.load(["--policy", "/tmp/flag.toml"])
    configured = config.load([])
    (tmp_path / "studbook" / "config.toml").unlink()
    defaulted = config.load([])

    assert flagged.policy_path == Path("/tmp/flag.toml")
    assert configured.policy_path == Path("/etc/configured.toml")
    assert defaulted.policy_path == tmp_path / "studbook" / "policy.toml"


def test_without_a_policy_file_the_default_location_is_watched_and_there_is_no_policy(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    settings = config.load([])
    store = PolicyStore(settings.policy_path, default_location=settings.policy_default_location)

    assert settings.policy_path == tmp_path / "studbook" / "policy.toml" and settings.policy_default_location
    assert not config.load(["--policy", "/tmp/flag.toml"]).policy_default_location
    assert store.current().for_model("m").gates_for("production").approvals == 0
    state = store.state()
    assert (state.in_force, state.error, state.load_time) == (False, "", None)


def test_a_file_created_at_the_default_location_later_is_loaded(tmp_path):
    path = tmp_path / "policy.toml"
    store = PolicyStore(path, default_location=True)

    before = store.current().for_model("m").gates_for("production").approvals
    write(path, GATED.format(n=2), bump=0)
    after = store.current().for_model("m").gates_for("production").approvals
    state = store.state()

    assert (before, after) == (0, 2)
    assert state.in_force and state.load_time is not None and state.error == ""
    assert (state.model_rules, state.stage_gates) == (1, 1)
    assert state.sha256 == hashlib.sha256(GATED.format(n=2).encode()).hexdigest()


def test_the_state_says_why_a_file_is_not_in_force_and_that_the_last_good_one_is(tmp_path):
    path = tmp_path / "policy.toml"
    write(path, GATED.format(n=1), bump=0)
    store = PolicyStore(path)
    good = store.state()

    write(path, "[[models]]\n", bump=1)
    broken = store.state()
    write(path, GATED.format(n=4), bump=2)
    mended = store.state()

    assert broken.in_force and broken.sha256 == good.sha256 and "models[0].pattern" in broken.error
    assert broken.error_time is not None
    assert mended.error == "" and mended.sha256 != good.sha256


def test_a_broken_first_file_at_the_default_location_is_reported_not_in_force(tmp_path):
    path = tmp_path / "policy.toml"
    store = PolicyStore(path, default_location=True)
    write(path, "not = [valid", bump=0)

    state = store.state()

    assert not state.in_force and "TOML" in state.error
    assert store.current().for_model("m").gates_for("production").approvals == 0


def test_a_changed_file_is_reloaded_and_a_broken_one_keeps_the_last_good(tmp_path):
    path = tmp_path / "policy.toml"
    write(path, GATED.format(n=1), bump=0)
    store = PolicyStore(path)

    write(path, GATED.format(n=3), bump=1)
    reloaded = store.current().for_model("m").gates_for("production").approvals
    write(path, GATED.format(n=-3), bump=2)
    kept = store.current().for_model("m").gates_for("production").approvals
    path.unlink()
    vanished = store.current().for_model("m").gates_for("production").approvals

    assert (reloaded, kept, vanished) == (3, 3, 3)


def test_a_broken_policy_at_start_up_is_an_error(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[[models]]\n")

    with pytest.raises(InvalidArgument) as raised:
        PolicyStore(path)

    assert raised.value.metadata["key"] == "models[0].pattern"
