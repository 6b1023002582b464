"""`studbook token` and `studbook whoami` against a real daemon: secrets shown once, roles enforced, exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from datetime import datetime
from typing import Any

import pytest
from studbook.cli import commands as cli
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.v1 import access_pb2
from support.cli import runner

TOKEN_FIELDS = {"name", "display_name", "role", "create_time", "creator", "expire_time", "revoke_time", "revoker"}
# Timestamps are left out of the JSON while unset: never expires, not revoked.
UNSET_WHEN_ABSENT = {"expire_time", "revoke_time"}


@pytest.fixture
def run(shared_daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(shared_daemon.address, capsys)


def unique(prefix: str) -> str:
    # Token names are never reused, so every test names its own.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(run: Any, name: str, role: str, *more: str) -> str:
    """Creates a token as the socket's owner (an admin) and returns its secret."""
    created = run("token", "create", "--name", name, "--role", role, *more)
    assert created.code == cli.EXIT_OK, created.err
    return str(created.out.strip())


def listed(run: Any, name: str) -> dict[str, Any]:
    return next(t for t in run("token", "list", "--all", "--json").json()["tokens"] if t["display_name"] == name)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---- create and whoami --------------------------------------------------------------


def test_create_prints_only_the_secret_on_stdout_and_how_to_use_it_on_stderr(run: Any) -> None:
    name = unique("ci")

    created = run("token", "create", "--name", name, "--role", "contributor")

    secret = created.out.strip()
    assert created.code == cli.EXIT_OK
    assert created.out == f"{secret}\n" and secret.startswith("sbk_")
    assert "export STUDBOOK_TOKEN=" in created.err and "only this once" in created.err
    assert name in created.err and "contributor" in created.err
    assert secret not in created.err


def test_the_printed_secret_works_and_whoami_names_its_holder_and_role(run: Any) -> None:
    name = unique("reader")
    secret = create(run, name, "viewer")

    shown = run("--token", secret, "whoami")
    as_json = run("--token", secret, "whoami", "--json")

    assert shown.code == cli.EXIT_OK
    assert shown.out.split() == ["actor:", name, "role:", "viewer", "transport:", "unix", "token:",
                                 as_json.json()["token"]]  # fmt: skip
    data = as_json.json()
    assert (data["actor"], data["role"], data["transport"]) == (name, "viewer", "unix")
    assert data["token"] == listed(run, name)["name"]


def test_whoami_without_a_token_is_the_socket_owner_as_an_admin(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDBOOK_ACTOR", "ana@lab")

    shown = run("whoami", "--json")

    assert shown.code == cli.EXIT_OK
    assert shown.json() == {"actor": "ana@lab", "role": "admin", "transport": "unix", "token": ""}


def test_create_as_json_carries_the_token_and_its_secret(run: Any) -> None:
    name = unique("bot")

    created = run("token", "create", "--name", name, "--role", "approver", "--json")

    data = created.json()
    assert created.code == cli.EXIT_OK
    assert set(data) == {"token", "secret"} and data["secret"].startswith("sbk_")
    assert set(data["token"]) == TOKEN_FIELDS - UNSET_WHEN_ABSENT
    assert (data["token"]["display_name"], data["token"]["role"]) == (name, "approver")
    assert "expire_time" not in data["token"]  # never expires


def test_expires_sets_the_lifetime_from_the_creation_time(run: Any) -> None:
    name = unique("short")

    create(run, name, "viewer", "--expires", "90d")

    token = listed(run, name)
    assert (moment(token["expire_time"]) - moment(token["create_time"])).total_seconds() == 90 * 86400


def test_a_bad_expiry_is_a_usage_error_and_creates_nothing(run: Any) -> None:
    name = unique("never")

    refused = run("token", "create", "--name", name, "--role", "viewer", "--expires", "3 weeks")

    assert refused.code == cli.EXIT_USAGE
    assert "90d" in refused.err and "'3 weeks'" in refused.err
    assert all(t["display_name"] != name for t in run("token", "list", "--all", "--json").json()["tokens"])


def test_a_taken_name_is_a_conflict(run: Any) -> None:
    name = unique("twice")
    create(run, name, "viewer")

    again = run("token", "create", "--name", name, "--role", "admin")

    assert again.code == cli.EXIT_CONFLICT
    assert "TOKEN_NAME_TAKEN" in again.err and again.out == ""


# ---- list and revoke ----------------------------------------------------------------


def test_list_shows_every_column_but_never_a_secret(run: Any) -> None:
    name = unique("listed")
    secret = create(run, name, "maintainer", "--expires", "12h")

    table = run("token", "list")
    as_json = run("token", "list", "--json")

    header, *rows = table.out.splitlines()
    assert header.split() == ["NAME", "ID", "ROLE", "CREATED", "CREATOR", "EXPIRES", "REVOKED"]
    row = next(r for r in rows if r.startswith(name))
    assert row.split()[1] in secret and "maintainer" in row.split()
    tokens = as_json.json()["tokens"]
    assert all(TOKEN_FIELDS - UNSET_WHEN_ABSENT <= set(t) <= TOKEN_FIELDS for t in tokens)
    assert set(next(t for t in tokens if t["display_name"] == name)) == TOKEN_FIELDS - {"revoke_time"}
    # Neither the secret nor its random part shows anywhere.
    # sbk_<id>_<random>: the id is hex, the random part may itself hold underscores.
    random_part = secret.split("_", 2)[2]
    assert random_part not in table.out and random_part not in as_json.out


def test_revoke_makes_the_next_command_unauthenticated_naming_the_reason(run: Any) -> None:
    name = unique("leaked")
    secret = create(run, name, "contributor")
    assert run("--token", secret, "whoami").code == cli.EXIT_OK

    revoked = run("token", "revoke", name)
    after = run("--token", secret, "models")

    assert revoked.code == cli.EXIT_OK
    assert revoked.out.startswith(f"revoked token {name}")
    assert after.code == cli.EXIT_UNAUTHENTICATED
    assert "TOKEN_REVOKED" in after.err and "studbook token create" in after.err
    assert secret not in after.err


def test_revoke_by_id_as_json_and_list_hides_revoked_tokens_unless_all(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDBOOK_ACTOR", "ops@lab")
    name = unique("old")
    create(run, name, "viewer")
    token_name = listed(run, name)["name"]

    revoked = run("token", "revoke", token_name, "--json")
    active = run("token", "list", "--json").json()["tokens"]
    every = run("token", "list", "--all")

    assert revoked.code == cli.EXIT_OK
    assert set(revoked.json()) == TOKEN_FIELDS - {"expire_time"}
    assert (revoked.json()["name"], revoked.json()["revoker"]) == (token_name, "ops@lab")
    assert all(t["name"] != token_name for t in active)
    row = next(r for r in every.out.splitlines() if r.startswith(name))
    assert row.endswith("by ops@lab")


def test_revoking_an_unknown_token_is_not_found(run: Any) -> None:
    missing = run("token", "revoke", unique("nobody"))

    assert missing.code == cli.EXIT_NOT_FOUND
    assert "TOKEN_NOT_FOUND" in missing.err


# ---- roles --------------------------------------------------------------------------


def test_a_viewer_refused_to_register_is_told_the_role_needed(run: Any) -> None:
    secret = create(run, unique("viewer"), "viewer")

    refused = run("--token", secret, "register", unique("fraud"), "--uri", "s3://bucket/m", "--no-env")

    assert refused.code == cli.EXIT_PERMISSION_DENIED
    assert "contributor" in refused.err and "ROLE_REQUIRED" in refused.err
    assert refused.err.count("\n") == 1 and refused.out == ""


def test_only_an_admin_manages_tokens(run: Any) -> None:
    secret = create(run, unique("approver"), "approver")

    refused = run("--token", secret, "token", "list")

    assert refused.code == cli.EXIT_PERMISSION_DENIED
    assert "admin" in refused.err


def test_a_malformed_token_is_unauthenticated_with_advice(run: Any) -> None:
    refused = run("--token", "not-a-token", "whoami")

    assert refused.code == cli.EXIT_UNAUTHENTICATED
    assert "TOKEN_MALFORMED" in refused.err and "$STUDBOOK_TOKEN" in refused.err
    assert "not-a-token" not in refused.err


# ---- the Python client --------------------------------------------------------------


def test_the_client_creates_lists_revokes_and_tells_who_calls(shared_daemon: Any) -> None:
    name = unique("py")

    with Client(shared_daemon.address) as admin:
        created = admin.create_token(name, access_pb2.ROLE_MAINTAINER, ttl_seconds=600)
        with Client(shared_daemon.address, token=created.secret) as holder:
            caller = holder.get_caller()
        revoked = admin.revoke_token(name)
        active = [t.display_name for t in admin.list_tokens()]
        every = [t.display_name for t in admin.list_tokens(show_revoked=True)]
        with Client(shared_daemon.address, token=created.secret) as holder, pytest.raises(StudbookError) as raised:
            holder.get_caller()

    assert (caller.actor, caller.role, caller.token) == (name, access_pb2.ROLE_MAINTAINER, created.token.name)
    assert revoked.HasField("revoke_time")
    assert name not in active and name in every
    assert (raised.value.code, raised.value.reason) == ("UNAUTHENTICATED", "TOKEN_REVOKED")


# ---- watch --------------------------------------------------------------------------


def test_watch_shows_whose_token_changed_and_why_a_call_was_refused(
    daemon: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run = runner(daemon.address, capsys)
    secret = create(run, "watched", "viewer")
    run("token", "revoke", "watched")
    run("--token", secret, "models")
    command = [sys.executable, "-m", "studbook.cli.commands", "--address", daemon.address, "watch", "--from", "0"]
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        lines = [watcher.stdout.readline() for _ in range(3)]
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=10)

    # Each line: revision, date, time, zone offset, then the event.
    created, revoked, denied = (line.split()[1:] for line in lines)
    assert created[2].startswith(("+", "-"))
    assert created[3:5] == ["token.created", created[4]] and created[4].startswith("tokens/")
    assert created[5:8] == ["watched", "(viewer)", "by"] and created[-1] == "(admin)"
    assert revoked[3] == "token.revoked" and revoked[4] == created[4]
    assert denied[3:7] == ["access.denied", "ModelService/ListModels", "UNAUTHENTICATED", "TOKEN_REVOKED"]
