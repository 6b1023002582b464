"""How tokens, callers and access events read in the CLI: tables, details and watch lines."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from studbook.cli import output, views
from studbook.v1 import access_pb2, events_pb2

COLOUR = output.Painter(True)
CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(moment)
    return result


def token(**fields: object) -> access_pb2.Token:
    base = access_pb2.Token(name="tokens/3f2a1b0c9d8e", display_name="ci-runner", role=access_pb2.ROLE_CONTRIBUTOR,
                            create_time=stamp(CREATED), creator="ana@lab")  # fmt: skip
    base.MergeFrom(access_pb2.Token(**fields))  # type: ignore[arg-type]
    return base


def test_roles_read_as_lowercase_words_and_unspecified_as_nothing() -> None:
    assert [views.role_label(r) for r in access_pb2.Role.values()] == [
        "", "viewer", "contributor", "maintainer", "approver", "admin"
    ]  # fmt: skip


def test_the_tokens_table_has_one_row_per_token_with_every_column() -> None:
    rows = [token(), token(name="tokens/aaaaaaaaaaaa", display_name="laptop", role=access_pb2.ROLE_ADMIN,
                           expire_time=stamp(EXPIRES))]  # fmt: skip

    header, first, second = views.tokens_table(rows).splitlines()

    assert header.split() == ["NAME", "ID", "ROLE", "CREATED", "CREATOR", "EXPIRES", "REVOKED"]
    assert first.split()[:3] == ["ci-runner", "3f2a1b0c9d8e", "contributor"]
    assert first.split()[-2:] == ["ana@lab", "never"]
    assert second.split()[:3] == ["laptop", "aaaaaaaaaaaa", "admin"]
    assert second.endswith(output.format_time(stamp(EXPIRES)))


def test_an_expiry_in_the_past_is_marked_only_when_now_is_given() -> None:
    expired = token(expire_time=stamp(EXPIRES))

    before = views.tokens_table([expired], now=CREATED)
    after = views.tokens_table([expired], now=EXPIRES)
    unknown = views.tokens_table([expired])

    assert "expired" not in before and "expired" not in unknown
    assert after.splitlines()[1].endswith("(expired)")


def test_a_revoked_token_says_when_and_by_whom_in_red_on_a_terminal() -> None:
    revoked = token(revoke_time=stamp(EXPIRES), revoker="ops@lab")

    plain = views.tokens_table([revoked]).splitlines()[1]
    coloured = views.tokens_table([revoked], paint=COLOUR)

    assert plain.endswith(f"{output.format_time(stamp(EXPIRES))} by ops@lab")
    assert "\x1b[31m" in coloured


def test_token_details_list_every_known_fact_and_leave_out_the_rest() -> None:
    details = views.token_details(token())

    keys = [line.split(":", 1)[0] for line in details.splitlines()]
    assert keys == ["token", "name", "role", "created", "creator", "expires"]
    assert "never" in details.splitlines()[-1]


def test_whoami_says_why_there_is_no_token_over_the_socket() -> None:
    owner = access_pb2.Caller(actor="ana@lab", role=access_pb2.ROLE_ADMIN, transport="unix")
    holder = access_pb2.Caller(actor="ci", role=access_pb2.ROLE_VIEWER, transport="tcp", token="tokens/3f2a1b0c9d8e")

    mine = views.caller_details(owner).splitlines()
    theirs = views.caller_details(holder).splitlines()

    assert [line.split(maxsplit=1) for line in mine] == [
        ["actor:", "ana@lab"], ["role:", "admin"], ["transport:", "unix"], ["token:", "none (the socket's owner)"]
    ]  # fmt: skip
    assert theirs[-1].split() == ["token:", "tokens/3f2a1b0c9d8e"]


# ---- watch lines --------------------------------------------------------------------


def test_a_token_event_names_the_token_holder_and_its_role() -> None:
    event = events_pb2.Event(revision=3, type="token.created", subject="tokens/3f2a1b0c9d8e", actor="ana@lab",
                             role=access_pb2.ROLE_ADMIN, token=token())  # fmt: skip

    line = views.event_line(event)

    assert line.split() == ["#3", "token.created", "tokens/3f2a1b0c9d8e", "ci-runner", "(contributor)", "by",
                            "ana@lab", "(admin)"]  # fmt: skip


def test_a_denial_names_the_method_code_and_reason_and_what_went_unrecorded() -> None:
    denial = access_pb2.AccessDenial(method="studbook.v1.StageService/ApprovePromotion", code="PERMISSION_DENIED",
                                     reason="ROLE_REQUIRED", suppressed=40)  # fmt: skip
    event = events_pb2.Event(revision=9, type="access.denied", subject=denial.method, actor="ci",
                             role=access_pb2.ROLE_VIEWER, denial=denial)  # fmt: skip

    line = views.event_line(event)
    alone = views.event_line(events_pb2.Event(revision=9, type="access.denied", subject=denial.method,
                                              denial=access_pb2.AccessDenial(code="UNAUTHENTICATED",
                                                                             reason="TOKEN_MISSING")))  # fmt: skip

    assert line.split()[:4] == ["#9", "access.denied", "StageService/ApprovePromotion", "PERMISSION_DENIED"]
    assert "ROLE_REQUIRED (+40 more not recorded one by one)" in line and line.endswith("by ci (viewer)")
    assert alone.split()[-2:] == ["UNAUTHENTICATED", "TOKEN_MISSING"]


def test_methods_of_other_packages_keep_their_full_name() -> None:
    method = "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    event = events_pb2.Event(revision=1, type="access.denied", subject=method,
                             denial=access_pb2.AccessDenial(method=method))  # fmt: skip

    assert method in views.event_line(event).split()
