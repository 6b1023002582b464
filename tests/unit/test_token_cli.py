"""Token commands without a daemon: durations, roles, the calls they send, exit codes and advice."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.cli import commands as cli
from studbook.client import calls
from studbook.client.errors import StudbookError
from studbook.v1 import access_pb2

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# ---- --expires ----------------------------------------------------------------------


@given(st.sampled_from(sorted(UNITS)), st.integers(min_value=1, max_value=3650))
def test_a_duration_is_a_whole_number_of_seconds_minutes_hours_or_days(unit: str, days_or_less: int) -> None:
    seconds = cli.duration(f"{days_or_less}{unit}")

    assert seconds == days_or_less * UNITS[unit]


@given(st.text(max_size=12).filter(lambda t: cli._DURATION.fullmatch(t.strip()) is None))
def test_anything_else_is_refused_with_the_accepted_shapes(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="90d, 12h, 30m or 3600s"):
        cli.duration(text)


@pytest.mark.parametrize("text", ["1.5h", "-3d", "3 d", "10D", "3w", "d", "٣d", "1d12h"])
def test_near_misses_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.duration(text)


@pytest.mark.parametrize("text", ["0s", "0d", "3651d", "999999999d"])
def test_no_lifetime_and_more_than_ten_years_are_refused_saying_how_to_never_expire(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="leave --expires out"):
        cli.duration(text)


def test_surrounding_blanks_are_ignored() -> None:
    assert cli.duration(" 90d ") == 90 * 86400


# ---- the command line ---------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def test_token_create_takes_a_name_a_role_and_an_optional_lifetime() -> None:
    never = parse("token", "create", "--name", "ci", "--role", "viewer")
    soon = parse("token", "create", "--name", "ci", "--role", "admin", "--expires", "12h", "--json")

    assert (never.handler, never.name, never.role, never.expires) == (cli.cmd_token_create, "ci", "viewer", 0)
    assert (soon.role, soon.expires, soon.json) == ("admin", 12 * 3600, True)


def test_token_list_revoke_and_whoami_parse() -> None:
    assert (parse("token", "list").handler, parse("token", "list").all) == (cli.cmd_token_list, False)
    assert parse("token", "list", "--all").all is True
    assert (parse("token", "revoke", "tokens/3f2a1b0c9d8e").name) == "tokens/3f2a1b0c9d8e"
    assert parse("--token", "sbk_x", "whoami").handler is cli.cmd_whoami


def test_the_roles_offered_are_the_contract_roles_in_order() -> None:
    granted = [name.removeprefix("ROLE_").lower() for name in access_pb2.Role.keys() if name != "ROLE_UNSPECIFIED"]

    assert list(cli.ROLES) == granted


@pytest.mark.parametrize(
    "argv",
    [
        ["token"],  # which token command?
        ["token", "create", "--role", "viewer"],  # no name
        ["token", "create", "--name", "ci"],  # no role
        ["token", "create", "--name", "ci", "--role", "owner"],
        ["token", "create", "--name", "ci", "--role", "viewer", "--expires", "soon"],
        ["token", "revoke"],
        ["whoami", "extra"],
    ],
)
def test_token_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(argv)

    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "error:" in err and "Traceback" not in err


def test_help_documents_the_access_exit_codes_and_token_help_the_roles(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["--help"])
    top = " ".join(capsys.readouterr().out.split())
    cli.main(["token", "--help"])
    token = " ".join(capsys.readouterr().out.split())

    assert "8 unauthenticated" in top and "9 permission denied" in top
    assert all(role in token for role in cli.ROLES) and "--expires 90d" in token


def test_token_help_does_not_import_grpc() -> None:
    code = (
        "import sys\n"
        "from studbook.cli.commands import main\n"
        "main(['token', '--help']); main(['token', 'create', '--help']); main(['whoami', '--help'])\n"
        "print(sorted(m for m in sys.modules if m == 'grpc' or m.startswith('grpc.')))\n"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip().splitlines()[-1] == "[]"


class Refusing:
    """A client whose every call is refused with `error`."""

    def __init__(self, error: StudbookError) -> None:
        self.error = error

    def get_caller(self) -> access_pb2.Caller:
        raise self.error

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("code", "reason", "exit_code", "advice"),
    [
        ("UNAUTHENTICATED", "TOKEN_MISSING", 8, "pass --token TOKEN or set $STUDBOOK_TOKEN"),
        ("UNAUTHENTICATED", "TOKEN_REVOKED", 8, "studbook token create"),
        ("UNAUTHENTICATED", "TOKEN_EXPIRED", 8, "studbook token create"),
        ("UNAUTHENTICATED", "TOKEN_UNKNOWN", 8, "$STUDBOOK_TOKEN"),
        ("UNAUTHENTICATED", "TOKEN_MALFORMED", 8, "$STUDBOOK_TOKEN"),
        ("PERMISSION_DENIED", "ROLE_REQUIRED", 9, ""),
    ],
)
def test_refused_credentials_exit_by_kind_with_a_next_step(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: str, reason: str, exit_code: int,
    advice: str,
) -> None:  # fmt: skip
    refusing = Refusing(StudbookError(code, reason, "refused"))
    monkeypatch.setattr(cli.Context, "client", property(lambda self: refusing))

    result = cli.main(["whoami"])

    err = capsys.readouterr().err
    assert result == exit_code
    assert err.startswith("error: refused") and err.endswith(f" [{reason}]\n") and err.count("\n") == 1
    assert advice in err if advice else err == f"error: refused [{reason}]\n"


# ---- the calls ----------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["maintainer", "MAINTAINER", "ROLE_MAINTAINER", " maintainer ",
                                      access_pb2.ROLE_MAINTAINER])  # fmt: skip
def test_a_role_is_taken_by_name_or_enum(spelling: str | int) -> None:
    call = calls.create_token("ci", spelling)

    assert call.request == access_pb2.CreateTokenRequest(display_name="ci", role=access_pb2.ROLE_MAINTAINER)


def test_an_unknown_role_lists_the_roles() -> None:
    with pytest.raises(ValueError, match="viewer, contributor, maintainer, approver, admin"):
        calls.create_token("ci", "owner")


def test_creating_a_token_is_never_resent_while_the_other_access_calls_may_be() -> None:
    create = calls.create_token("ci", "viewer", ttl_seconds=60)

    assert (create.service, create.method, create.idempotent) == ("AccessService", "CreateToken", False)
    assert create.request.ttl_seconds == 60  # type: ignore[attr-defined]
    assert calls.list_tokens(show_revoked=True).idempotent
    assert calls.revoke_token("ci").idempotent
    assert calls.get_caller().idempotent
