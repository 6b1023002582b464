"""Where the policy comes from (flag, config, default file) and how a changed file is reloaded."""

from __future__ import annotations

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


def test_without_a_policy_file_there_is_no_policy(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    assert config.load([]).policy_path is None


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
