"""`studbook rename OLD NEW` and the Python client's `rename_model`, against a real daemon."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from studbook.cli import commands as cli
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from support.cli import runner


@pytest.fixture
def run(shared_daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(shared_daemon.address, capsys)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_rename_moves_the_model_and_says_so(run: Any) -> None:
    old, new = unique("fraud"), unique("fraud")
    assert run("register", old, "--uri", "s3://b/1", "--no-env").code == 0
    assert run("promote", f"{old}@1", "production", "--reason", "first").code == 0

    renamed = run("rename", old, new, "--reason", "naming scheme")

    assert renamed.code == 0, renamed.err
    assert renamed.out.startswith(f"renamed {old} to {new}\n") and f"model:    {new}\n" in renamed.out
    assert run("show", f"{new}@production", "--json").json()["name"] == f"models/{new}/versions/1"
    assert run("show", old).code == cli.EXIT_NOT_FOUND
    history = run("history", new, "--json").json()["changes"]
    assert [c["reason"] for c in history] == ["first"]


def test_rename_refusals_exit_with_their_codes_and_reasons(run: Any) -> None:
    old, taken = unique("churn"), unique("churn")
    for model in (old, taken):
        assert run("register", model, "--uri", "s3://b/1", "--no-env").code == 0

    exists = run("rename", old, taken)
    stale = run("rename", old, unique("churn"), "--etag", "999999999")  # no revision the model had
    invalid = run("rename", old, "Bad_Name!")

    assert exists.code == cli.EXIT_CONFLICT and "MODEL_EXISTS" in exists.err
    assert stale.code == cli.EXIT_CONFLICT and "STALE_ETAG" in stale.err
    assert invalid.code == cli.EXIT_INVALID and "INVALID_NAME" in invalid.err
    assert run("show", old, "--json").json()["name"] == f"models/{old}"


def test_the_client_renames_and_reports_a_stale_etag(shared_daemon: Any) -> None:
    old, new = unique("scorer"), unique("scorer")
    with Client(shared_daemon.address) as client:
        created = client.create_model(old)
        with pytest.raises(StudbookError) as raised:
            client.rename_model(old, new, expected_etag=str(int(created.etag) - 1))
        renamed = client.rename_model(old, new, expected_etag=created.etag, reason="clearer")

    assert raised.value.reason == "STALE_ETAG"
    assert renamed.name == f"models/{new}" and renamed.etag != created.etag
