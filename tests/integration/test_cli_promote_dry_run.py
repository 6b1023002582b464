"""`studbook promote --dry-run` checks the gates without a reason; a real promotion still needs one."""

from __future__ import annotations

from typing import Any

import pytest
from studbook.cli import commands as cli
from studbook.client.clients import Client
from support.cli import runner


def test_a_dry_run_needs_no_reason_and_changes_nothing(shared_daemon: Any, model_id: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    run = runner(shared_daemon.address, capsys)
    assert run("register", model_id, "--uri", "s3://bucket/m/1", "--metric", "auc=0.9", "--no-env").code == 0

    planned = run("promote", f"{model_id}@1", "production", "--dry-run")
    without_reason = run("promote", f"{model_id}@1", "production")

    assert planned.code == cli.EXIT_OK, planned.err
    assert "validated" in planned.out
    assert without_reason.code == cli.EXIT_USAGE and "--reason" in without_reason.err
    with Client(shared_daemon.address) as client:
        assert "production" not in client.get_model(model_id).stage_holders
    applied = run("promote", f"{model_id}@1", "production", "--reason", "first release")
    assert applied.code == cli.EXIT_OK, applied.err
