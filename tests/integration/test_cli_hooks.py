"""`studbook hooks ...` and the Webhooks block of `studbook status`, against a real daemon and a
receiver on loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from support.cli import runner
from support.receiver import Receiver
from support.rpc import register, stubs

SECRET = "a-secret-of-at-least-16-chars"


@pytest.fixture
def run(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(daemon.address, capsys)


def test_a_hook_is_added_from_a_secret_file_listed_tested_and_removed(run: Any, receiver: Receiver,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")

    added = run("hooks", "add", receiver.url, "--events", "version.registered,promotion.*", "--model", "fraud-*",
                "--secret-from-file", str(secret_file), "--name", "ci")  # fmt: skip
    listed = run("hooks", "list")
    as_json = run("hooks", "list", "--json").json()
    tested = run("hooks", "test", "ci")
    deliveries = run("hooks", "deliveries", "ci", "--json").json()
    removed = run("hooks", "remove", "ci")
    after = run("hooks", "list")

    assert added.code == cli.EXIT_OK, added.err
    assert SECRET not in added.out + listed.out + str(as_json)
    assert listed.out.split("\n")[1].split()[:5] == ["ci", receiver.url, "version.registered,promotion.*", "fraud-*",
                                                     as_json["hooks"][0]["delivered_revision"].__str__()]  # fmt: skip
    assert "active" in listed.out
    assert tested.code == cli.EXIT_OK and "ci answered 200" in tested.out
    assert [(d["event_type"], d["status_code"]) for d in deliveries["deliveries"]] == [("hook.test", 200)]
    assert receiver.accepted()[0].headers["X-Studbook-Hook"] == "ci"
    assert removed.code == cli.EXIT_OK and after.out.strip() == "no hooks"


def test_a_made_secret_goes_alone_to_stdout_once(run: Any, receiver: Receiver) -> None:
    added = run("hooks", "add", receiver.url, "--events", "*")
    listed = run("hooks", "list", "--json").json()
    assert added.code == cli.EXIT_OK and added.out.strip().startswith("whsec_")
    assert "shown only this once" in added.err
    assert [h["name"] for h in listed["hooks"]] == ["127.0.0.1"]
    assert added.out.strip() not in str(listed)


def test_a_test_the_receiver_refuses_exits_non_zero(run: Any, receiver: Receiver) -> None:
    run("hooks", "add", receiver.url, "--events", "*", "--name", "ci")
    receiver.status = 503
    tested = run("hooks", "test", "ci")
    assert tested.code == 1 and "did not accept" in tested.out and "503" in tested.out


def test_bad_input_is_refused_with_what_to_do(run: Any, tmp_path: Path) -> None:
    bad_url = run("hooks", "add", "file:///etc/passwd", "--events", "*")
    missing = run("hooks", "add", "http://127.0.0.1:9/x", "--events", "*", "--secret-from-file",
                  str(tmp_path / "nope"))  # fmt: skip
    unknown = run("hooks", "test", "nope")
    assert bad_url.code == cli.EXIT_INVALID and "http:// or https://" in bad_url.err
    assert missing.code == cli.EXIT_INVALID and "cannot read the secret file" in missing.err
    assert unknown.code == cli.EXIT_NOT_FOUND and "hooks list" in unknown.err


def test_status_says_a_hook_is_paused_and_how_to_resume_it(daemon_factory: Any, capsys: pytest.CaptureFixture[str],
                                                           receiver: Receiver) -> None:  # fmt: skip
    daemon = daemon_factory("--hook-backoff", "0.01", "--hook-max-failures", "2")
    run = runner(daemon.address, capsys)
    receiver.status = 500
    run("hooks", "add", receiver.url, "--events", "*", "--name", "ci")
    with daemon.channel() as channel:
        register(stubs(channel), "fraud")
    deadline = time.monotonic() + 30
    while not run("status", "--json").json()["hooks"]["paused"]:
        assert time.monotonic() < deadline, "the hook was not paused"
        time.sleep(0.05)

    shown = run("status")
    listed = run("hooks", "list")

    assert "Webhooks" in shown.out and "1 hook, 1 paused:" in shown.out
    assert "ci: 2 failed attempts in a row" in shown.out and "studbook hooks replay ci --from " in shown.out
    assert "paused" in listed.out
