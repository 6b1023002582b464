"""The `studbook` command line: name resolution, argument parsing, exit codes and a light start-up."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.cli import commands as cli
from studbook.cli import launcher
from studbook.client import names
from studbook.client.errors import StudbookError
from studbook.v1 import drops_pb2, registry_pb2, resources_pb2

model_ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True).filter(lambda m: m != "models")
version_refs = st.one_of(
    st.integers(min_value=1, max_value=10**6).map(str),
    st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True),
)


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


# ---- name resolution ----------------------------------------------------------------


@given(model_ids, version_refs)
def test_every_spelling_of_a_version_resolves_to_the_same_name(model: str, ref: str) -> None:
    canonical = f"models/{model}/versions/{ref}"
    spellings = [f"{model}@{ref}", f"{model}/{ref}", canonical, f"models/{model}@{ref}"]

    resolved = {names.parse_ref(text).name for text in spellings}
    pair = names.version_name(model, ref)

    assert resolved == {canonical}
    assert pair == canonical


@given(model_ids)
def test_a_bare_model_is_a_model_and_means_latest_where_a_version_is_needed(model: str) -> None:
    ref = names.parse_ref(model)

    assert (ref.is_version, ref.name) == (False, f"models/{model}")
    assert names.parse_ref(f"models/{model}") == ref
    assert names.version_name(model) == f"models/{model}/versions/latest"


def test_version_name_takes_a_number_and_a_full_model_name() -> None:
    assert names.version_name("models/fraud", 3) == "models/fraud/versions/3"


@pytest.mark.parametrize(
    "text",
    ["", "fraud@", "@3", "fraud/", "fraud/3/4", "fraud@3@4", "models/fraud/stages/3", "models/fraud/versions", "a/b@c"],
)
def test_malformed_names_are_refused_with_the_accepted_spellings(text: str) -> None:
    with pytest.raises(names.InvalidName, match="MODEL@VERSION"):
        names.parse_ref(text)


def test_a_version_is_refused_where_a_model_is_expected() -> None:
    with pytest.raises(names.InvalidName):
        names.model_name("fraud@3")


def test_a_version_name_with_a_second_version_is_refused() -> None:
    with pytest.raises(names.InvalidName):
        names.version_name("fraud@3", "production")


def test_every_model_is_spelled_dash() -> None:
    assert names.model_name("-") == "models/-"


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("datasets/census@2026-01", "datasets/census@2026-01"),
        ("runs/abc123", "runs/abc123"),
        ("fraud@3", "models/fraud/versions/3"),
        ("fraud", "models/fraud/versions/latest"),
    ],
)
def test_lineage_starts_from_datasets_and_runs_as_given_and_versions_resolved(text: str, node: str) -> None:
    assert names.lineage_node(text) == node


def test_short_version_shortens_only_version_names() -> None:
    assert names.short_version("models/fraud/versions/3") == "fraud@3"
    assert names.short_version("runs/abc") == "runs/abc"


# ---- parsing ------------------------------------------------------------------------


def test_show_accepts_a_model_or_any_spelling_of_a_version() -> None:
    assert parse("show", "fraud").name == names.Ref("fraud")
    assert parse("show", "fraud@production").name == names.Ref("fraud", "production")
    assert parse("show", "models/fraud/versions/3").name == names.Ref("fraud", "3")
    assert parse("show", "fraud/3").name == names.Ref("fraud", "3")


def test_versions_has_list_defaults_and_takes_filter_order_and_limit() -> None:
    defaults = parse("versions", "fraud")
    given_ = parse(
        "versions", "fraud", "--filter", "metrics.auc > 0.9", "--order-by", "metrics.auc desc", "--limit", "5"
    )

    assert (defaults.model, defaults.filter, defaults.order_by, defaults.limit) == ("fraud", "", "", 50)
    assert (given_.filter, given_.order_by, given_.limit) == ("metrics.auc > 0.9", "metrics.auc desc", 5)


def test_register_collects_metrics_params_and_tags() -> None:
    args = parse(
        "register", "fraud", "out/model.onnx",
        "--metric", "auc=0.93", "--metric", "f1=0.8",
        "--param", "lr=0.01", "--param", "note=a=b",
        "--tag", "team=risk",
    )  # fmt: skip

    assert (args.model, args.path, args.uri) == ("fraud", "out/model.onnx", None)
    assert dict(args.metric) == {"auc": 0.93, "f1": 0.8}
    assert dict(args.param) == {"lr": "0.01", "note": "a=b"}
    assert dict(args.tag) == {"team": "risk"}


def test_promote_takes_a_version_a_stage_and_a_reason() -> None:
    args = parse("promote", "fraud@3", "production", "--reason", "beats v2")

    assert (args.version, args.stage, args.reason, args.dry_run) == (
        "models/fraud/versions/3",
        "production",
        "beats v2",
        False,
    )


def test_history_takes_an_iso_time_or_a_span_back_from_now() -> None:
    # Kept as typed: the command reads it once it knows whether --utc was given.
    assert parse("history", "fraud", "--at", "2026-01-31T09:30:00Z").at == "2026-01-31T09:30:00Z"
    assert parse("history", "fraud", "--at", "1h").at == "1h"
    assert parse("history", "fraud", "--at", "3d ago").at == "3d ago"


def test_history_refuses_a_time_it_cannot_read_saying_which_forms_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["history", "fraud", "--at", "last tuesday"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "1h" in err and "ago" in err and "2026-01-31" in err


def test_lineage_direction_defaults_to_both_ways() -> None:
    assert parse("lineage", "fraud@3").direction is None
    assert parse("lineage", "fraud@3", "--up").direction == "upstream"
    assert parse("lineage", "fraud@3", "--down", "--depth", "5").direction == "downstream"


def test_watch_starts_live_unless_told_where() -> None:
    assert parse("watch").start == -1
    assert parse("watch", "--from", "0").start == 0


def test_drops_lists_the_quarantined_ones_unless_asked_for_all() -> None:
    plain = parse("drops")
    everything = parse("drops", "--all", "--model", "fraud", "--limit", "0")

    assert (plain.handler, plain.all, plain.model, plain.limit) == (cli.cmd_drops, False, "", 50)
    assert (everything.all, everything.model, everything.limit) == (True, "fraud", 0)


def test_drops_retry_takes_a_path_waits_by_default_and_accepts_the_global_options() -> None:
    waiting = parse("drops", "retry", "fraud/3")
    at_once = parse("drops", "retry", "/srv/drops/fraud/3", "--wait", "0", "--json")

    assert (waiting.handler, waiting.drop, waiting.wait) == (cli.cmd_drops_retry, "fraud/3", cli.DROP_WAIT_SECONDS)
    assert (at_once.drop, at_once.wait, at_once.json) == ("/srv/drops/fraud/3", 0.0, True)


def test_global_options_are_accepted_before_and_after_the_command() -> None:
    before = parse("--json", "--address", "unix:///tmp/a.sock", "models")
    after = parse("models", "--json", "--address", "unix:///tmp/a.sock")

    assert (before.json, before.address) == (True, "unix:///tmp/a.sock")
    assert (after.json, after.address) == (True, "unix:///tmp/a.sock")


@pytest.mark.parametrize(
    "argv",
    [
        ["nonsense"],
        ["register", "fraud", "model.onnx", "--metric", "auc=high"],
        ["register", "fraud", "model.onnx", "--tag", "no-equals-sign"],
        ["promote", "fraud@3", "production"],  # no --reason
        ["promote", "fraud", "production", "--reason", "x"],  # which version?
        ["rollback", "fraud", "production"],  # no --reason
        ["lineage", "fraud@3", "--up", "--down"],
        ["history", "fraud", "--at", "last tuesday"],
        ["show", "fraud@3@4"],
        ["versions", "fraud@3"],
        ["models", "--no-such-option"],
        ["register", "fraud", "model.onnx", "--uri", "s3://bucket/m"],  # both a path and a URI
        ["register", "fraud"],  # neither
        ["drops", "retry"],  # which drop?
        ["drops", "retry", "fraud/3", "--wait", "soon"],
        ["drops", "--limit", "many"],
    ],
)
def test_usage_errors_exit_2_without_a_traceback(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(argv)

    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "error:" in err and "Traceback" not in err


def test_help_exits_0_and_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--help"])

    out = capsys.readouterr().out
    assert code == 0
    assert "exit codes:" in out and "5  unavailable" in out
    assert "`drops retry PATH`" in " ".join(out.split())  # however the help is wrapped


def test_drops_help_explains_drops_and_shows_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["drops", "--help"])

    out = capsys.readouterr().out
    assert code == 0
    flowing = " ".join(out.split())
    assert "studbook serve --watch ROOT" in flowing and "studbook drops retry" in flowing and "--all" in flowing


def test_help_does_not_import_grpc() -> None:
    code = (
        "import sys\n"
        "from studbook.cli.commands import main\n"
        "main(['--help']); main(['versions', '--help'])\n"
        "print(sorted(m for m in sys.modules if m == 'grpc' or m.startswith('grpc.')))\n"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_client_side_never_loads_the_daemon_or_its_storage() -> None:
    code = (
        "import pkgutil, importlib, sys, studbook.client, studbook.cli\n"
        "for package in (studbook.client, studbook.cli):\n"
        "    for module in pkgutil.iter_modules(package.__path__):\n"
        "        importlib.import_module(package.__name__ + '.' + module.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('duckdb', 'watchdog', 'textual')\n"
        "             or m.startswith(('studbook.daemon', 'studbook.tui'))))\n"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip().splitlines()[-1] == "[]"


# ---- serve --------------------------------------------------------------------------


@pytest.fixture
def exec_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(launcher, "exec_daemon", lambda argv: calls.append(list(argv)))
    monkeypatch.delenv("STUDBOOK_ADDRESS", raising=False)
    return calls


def test_serve_runs_the_daemon_module_with_the_flags_passed_through(exec_calls: list[list[str]]) -> None:
    cli.main(["serve", "--data-dir", "/d", "--socket", "/s.sock", "--listen", "127.0.0.1:7000", "--watch", "/m"])

    assert exec_calls == [
        [sys.executable, "-m", "studbook.daemon", "--data-dir", "/d", "--socket", "/s.sock",
         "--listen", "127.0.0.1:7000", "--watch", "/m"]
    ]  # fmt: skip


def test_serve_listens_on_the_socket_of_an_explicit_address(exec_calls: list[list[str]]) -> None:
    cli.main(["--address", "unix:///run/x/studbook.sock", "serve"])

    assert exec_calls == [[sys.executable, "-m", "studbook.daemon", "--socket", "/run/x/studbook.sock"]]


def test_serve_leaves_the_socket_to_the_daemon_by_default(exec_calls: list[list[str]]) -> None:
    cli.main(["serve"])

    assert exec_calls == [[sys.executable, "-m", "studbook.daemon"]]


# ---- exit codes and output with a stand-in client -----------------------------------


class StandInClient:
    """Answers like a daemon would, without one; `error` makes every call fail."""

    def __init__(self, error: StudbookError | None = None) -> None:
        self.error = error
        self.requests: list[Any] = []

    def close(self) -> None:
        pass

    def iter_models(self, **options: Any) -> Iterator[resources_pb2.Model]:
        if self.error:
            raise self.error
        yield from (resources_pb2.Model(name=f"models/m{i}", version_count=i) for i in range(1, 4))

    # Three quarantined drops, served one page of `page_size` at a time.
    drops = [drops_pb2.Drop(name=f"drops/{i}", path=f"/srv/drops/m{i}/1", model=f"models/m{i}", reason="INVALID_NAME",
                            state=drops_pb2.DROP_STATE_QUARANTINED) for i in range(3)]  # fmt: skip
    # What `wait_for_drop` answers: the drop judged again in this state (None: no new verdict).
    verdict: int | None = drops_pb2.DROP_STATE_REGISTERED

    def list_quarantined_drops(
        self, *, model: str, page_size: int, page_token: str
    ) -> drops_pb2.ListQuarantinedDropsResponse:
        start = int(page_token or 0)
        end = start + page_size
        token = str(end) if end < len(self.drops) else ""
        return drops_pb2.ListQuarantinedDropsResponse(drops=self.drops[start:end], next_page_token=token,
                                                      total_size=len(self.drops))  # fmt: skip

    def retry_drop(self, name: str = "", *, path: str | None = None, allow_unsafe: bool = False) -> drops_pb2.Drop:
        self.requests.append(("retry", name, path, "allow-unsafe") if allow_unsafe else ("retry", name, path))
        return drops_pb2.Drop(name=name or "drops/7", path=path or "/srv/drops/m7/1",
                              state=drops_pb2.DROP_STATE_QUARANTINED, reason="PARENT_NOT_FOUND")  # fmt: skip

    def wait_for_drop(self, drop: drops_pb2.Drop, timeout: float) -> drops_pb2.Drop:
        self.requests.append(("wait", timeout))
        if self.verdict is None:
            return drop
        judged = drops_pb2.Drop()
        judged.CopyFrom(drop)
        judged.state = self.verdict
        judged.update_time.seconds = 1  # newer than the verdict retried
        return judged

    def register_version(self, request: registry_pb2.RegisterModelVersionRequest, *, upload: bool | None = None,
                         progress: object = None) -> registry_pb2.RegisterModelVersionResponse:  # fmt: skip
        self.requests.append(request)
        version = resources_pb2.ModelVersion(name=f"{request.parent}/versions/1", number=1, model="fraud")
        return registry_pb2.RegisterModelVersionResponse(version=version, created=True)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> StandInClient:
    client = StandInClient()
    monkeypatch.setattr(cli.Context, "client", property(lambda self: client))
    return client


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        ("NOT_FOUND", 3),
        ("FAILED_PRECONDITION", 4),
        ("UNAVAILABLE", 5),
        ("ALREADY_EXISTS", 6),
        ("ABORTED", 6),
        ("INVALID_ARGUMENT", 7),
        ("INTERNAL", 1),
    ],
)
def test_daemon_errors_map_to_documented_exit_codes_and_one_line(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str], code: str, exit_code: int
) -> None:
    stand_in.error = StudbookError(code, "SOME_REASON", "what went wrong")

    result = cli.main(["models"])

    err = capsys.readouterr().err
    assert result == exit_code
    assert err == "error: what went wrong [SOME_REASON]\n"


def test_a_message_over_several_lines_is_printed_as_one(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in.error = StudbookError("INTERNAL", "STORE_FAILED", "read failed:\n  disk full")

    cli.main(["models"])

    assert capsys.readouterr().err == "error: read failed: disk full [STORE_FAILED]\n"


def test_an_unexpected_failure_is_one_line_and_exit_1(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STUDBOOK_DEBUG", raising=False)
    monkeypatch.setattr(stand_in, "iter_models", lambda **_: iter([object()]))

    result = cli.main(["models"])

    err = capsys.readouterr().err
    assert result == 1
    assert err.startswith("error: unexpected ") and err.count("\n") == 1


def test_models_json_is_a_parseable_listing(stand_in: StandInClient, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli.main(["models", "--json", "--limit", "2"])

    data = json.loads(capsys.readouterr().out)
    assert result == 0
    assert [m["name"] for m in data["models"]] == ["models/m1", "models/m2"]
    assert data["models"][0]["version_count"] == 1  # a number, though proto3 JSON quotes int64


def test_models_table_has_aligned_columns_and_no_colour_off_a_terminal(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["models"])

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "VERSIONS", "LATEST"]
    assert {line.index(" ") for line in lines[1:]} == {2}  # m1, m2, m3 then padding
    assert {line.index(str(i + 1), 2) for i, line in enumerate(lines[1:])} == {lines[0].index("VERSIONS")}
    assert "\x1b[" not in "".join(lines)


def test_register_sends_an_absolute_path_and_marks_the_cli_as_source(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = cli.main(["register", "fraud", "out/model.onnx", "--metric", "auc=0.93", "--seed", "7", "--no-env"])

    (request,) = stand_in.requests
    assert result == 0
    assert request.source_path == str(tmp_path / "out" / "model.onnx")
    assert request.parent == "models/fraud"
    assert [(m.key, m.value) for m in request.version.metrics] == [("auc", 0.93)]
    assert request.version.training.seed == 7
    assert request.version.created_from == "cli"
    assert not request.version.HasField("environment") and request.version.training.code_commit == ""
    assert "registered fraud@1" in capsys.readouterr().out


def test_drops_follows_pages_up_to_the_limit_and_says_how_many_more_there_are(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["drops", "--limit", "2"])
    table = capsys.readouterr().out.splitlines()
    cli.main(["drops", "--limit", "0", "--json"])
    data = json.loads(capsys.readouterr().out)

    assert code == 0
    assert [line.split()[0] for line in table[1:3]] == ["/srv/drops/m0/1", "/srv/drops/m1/1"]
    assert table[-1] == "(2 of 3 shown; --limit 0 shows all)"
    assert [d["name"] for d in data["drops"]] == ["drops/0", "drops/1", "drops/2"] and data["total_size"] == 3


@pytest.mark.parametrize(
    ("verdict", "exit_code"),
    [
        (drops_pb2.DROP_STATE_REGISTERED, cli.EXIT_OK),
        (drops_pb2.DROP_STATE_QUARANTINED, cli.EXIT_PRECONDITION),  # judged again, refused again
        (None, cli.EXIT_PRECONDITION),  # no new verdict in time
    ],
)
def test_drops_retry_exits_by_the_new_verdict(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str], verdict: int | None, exit_code: int
) -> None:
    stand_in.verdict = verdict

    code = cli.main(["drops", "retry", "/srv/drops/m7/1", "--wait", "5"])

    out = capsys.readouterr().out
    assert code == exit_code
    assert stand_in.requests == [("retry", "", "/srv/drops/m7/1"), ("wait", 5.0)]
    assert ("no new verdict within 5 s" in out) is (verdict is None)


def test_drops_retry_without_waiting_exits_0_with_the_standing_verdict(
    stand_in: StandInClient, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["drops", "retry", "/srv/drops/m7/1", "--wait", "0", "--json"])

    assert code == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out)["state"] == "quarantined"
    assert [r[0] for r in stand_in.requests] == ["retry"]


def test_drops_retry_takes_a_drop_name_unless_a_path_of_that_name_exists(
    stand_in: StandInClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cli.main(["drops", "retry", "drops/0a1b", "--wait", "0"])
    (tmp_path / "drops" / "fraud").mkdir(parents=True)
    cli.main(["drops", "retry", "drops/fraud", "--wait", "0"])

    assert stand_in.requests == [("retry", "drops/0a1b", None), ("retry", "", "drops/fraud")]


def test_drops_retry_allow_unsafe_asks_for_it_by_name_or_path(stand_in: StandInClient) -> None:
    cli.main(["drops", "retry", "drops/0a1b", "--allow-unsafe", "--wait", "0"])
    cli.main(["drops", "retry", "/srv/drops/m7/1", "--allow-unsafe", "--wait", "0"])

    assert stand_in.requests == [("retry", "drops/0a1b", None, "allow-unsafe"),
                                 ("retry", "", "/srv/drops/m7/1", "allow-unsafe")]  # fmt: skip


def test_since_and_until_join_the_filter_as_utc_comparisons_and_keep_an_or_together() -> None:
    args = parse("versions", "fraud", "--filter", 'stage = "a" OR stage = "b"', "--since", "2026-01-31T10:00+01:00",
                 "--until", "2026-02-01T00:00Z")  # fmt: skip

    assert cli._with_times(args, "create_time") == (
        '(stage = "a" OR stage = "b") AND create_time >= "2026-01-31T09:00:00Z" '
        'AND create_time <= "2026-02-01T00:00:00Z"'
    )
    assert cli._with_times(parse("models"), "update_time") == ""


def test_version_prints_the_package_version_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    # Looked up only when asked (see _VersionAction); still the installed package's version.
    assert cli.main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("studbook ") and out.strip() != "studbook unknown"
    assert err == ""


# The UI's own command line is read without building every command's parser: it must come
# out exactly as the full parser reads it, and anything else must still reach the full parser.
# (A value that starts with "-" reads as an option to both parsers; the usage-error test covers those.)
ui_values = st.from_regex(r"[a-z0-9:/._][a-z0-9:/._-]{0,11}", fullmatch=True)
ui_options = st.lists(st.one_of(
    st.tuples(st.sampled_from(["--address", "--token", "--tls-ca"]), ui_values),
    st.tuples(st.just("--timeout"), st.floats(0.1, 100, allow_nan=False).map(str)),
    st.sampled_from([("--json",), ("--utc",), ("--readonly",)]),
), max_size=5).map(lambda pairs: [word for pair in pairs for word in pair])  # fmt: skip


def _arguments_given_to_the_ui(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> dict[str, Any] | None:
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(cli, "cmd_tui", lambda args, ctx: seen.append(args) or 0)
    monkeypatch.setattr(cli, "cmd_status", lambda args, ctx: 0)
    cli.main(argv)
    return {k: v for k, v in vars(seen[0]).items() if k not in ("handler", "extra")} if seen else None


@given(ui_options)
def test_the_ui_command_line_reads_as_the_full_parser_reads_it(argv: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        given_to_ui = _arguments_given_to_the_ui(monkeypatch, argv)
    full = {k: v for k, v in vars(parse(*argv)).items() if k != "handler"}

    assert given_to_ui == full


@pytest.mark.parametrize("argv", [["status"], ["--address", "unix:///s", "status"], ["status", "--readonly"]])
def test_a_command_line_that_names_a_command_never_opens_the_ui(monkeypatch: pytest.MonkeyPatch,
                                                                argv: list[str]) -> None:  # fmt: skip
    assert _arguments_given_to_the_ui(monkeypatch, argv) is None


@pytest.mark.parametrize(
    "argv", [["--help"], ["-h"], ["--bogus"], ["--address"], ["--address", "-x"], ["--timeout", "soon"]]
)
def test_help_and_usage_errors_of_the_ui_command_line_come_from_the_full_parser(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = cli.main(argv)
    out, err = capsys.readouterr()

    assert code in (0, 2)
    # The full parser's usage names the commands; a reduced one would not.
    assert "COMMAND" in out + err
