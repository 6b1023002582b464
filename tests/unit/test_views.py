"""What the CLI shows a person: table layout, value formatting and the views of each resource."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.cli import output, views
from studbook.v1 import drops_pb2, events_pb2, lineage_pb2, registry_pb2, resources_pb2, stages_pb2

COLOUR = output.Painter(True)


# ---- building blocks ----------------------------------------------------------------


@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=12)), min_size=1, max_size=6))
def test_table_columns_line_up_whatever_the_cells(rows: list[tuple[str, str]]) -> None:
    rendered = output.table(("NAME", "VALUE"), rows).splitlines()

    starts = {output.width(line[: line.index("VALUE")]) for line in rendered[:1]}
    cells = [output.clip(name) for name, _ in rows]
    widest = max(output.width(c) for c in [*cells, "NAME"])
    assert starts == {widest + 2}
    assert all(line == line.rstrip() for line in rendered)


def test_wide_characters_count_twice_in_alignment() -> None:
    rendered = output.table(("A", "B"), [("模型", "x"), ("ab", "y")]).splitlines()

    assert [output.width(line) for line in rendered[1:]] == [7, 7]  # 4 + 2 + 1


def test_long_cells_are_cut_with_an_ellipsis_and_newlines_flattened() -> None:
    assert output.clip("a" * 100, 10) == "a" * 9 + "…"
    assert output.clip("two\nlines") == "two lines"


def test_fields_leave_out_empty_values_and_align_the_rest() -> None:
    text = output.fields([("name", "fraud"), ("owner", ""), ("description", "flags fraud")])

    assert text.splitlines() == ["name:        fraud", "description: flags fraud"]


def test_colour_only_when_asked() -> None:
    assert output.PLAIN("ready", "green") == "ready"
    assert COLOUR("ready", "green") == "\x1b[32mready\x1b[0m"


@pytest.mark.parametrize(("size", "text"), [(0, "0 B"), (512, "512 B"), (1536, "1.5 KiB"), (3 * 1024**3, "3.0 GiB")])
def test_sizes_use_binary_units(size: int, text: str) -> None:
    assert output.format_size(size) == text


def test_enum_labels_drop_the_prefix() -> None:
    assert output.enum_label(resources_pb2.VersionStatus, resources_pb2.VERSION_STATUS_READY) == "ready"
    assert (
        output.enum_label(stages_pb2.PromotionState, stages_pb2.PROMOTION_STATE_PENDING_APPROVAL) == "pending_approval"
    )


def test_json_keeps_proto_field_names_and_default_values() -> None:
    response = registry_pb2.RegisterModelVersionResponse(version=resources_pb2.ModelVersion(number=3), created=False)

    data = json.loads(output.json_text(response))

    assert data["created"] is False
    assert data["version"]["number"] == 3 and "storage_uri" in data["version"]


# ---- resource views -----------------------------------------------------------------


def test_version_details_show_metrics_params_training_and_lineage() -> None:
    version = resources_pb2.ModelVersion(
        name="models/fraud/versions/3",
        model="fraud",
        number=3,
        semver="1.2.0",
        change_kind=resources_pb2.CHANGE_KIND_DATA,
        status=resources_pb2.VERSION_STATUS_READY,
        metrics=[resources_pb2.Metric(key="auc", value=0.931234, split="test")],
        params={"lr": "0.01"},
        training=resources_pb2.TrainingConfig(seed=42, code_commit="0123456789abcdef", code_dirty=True),
        datasets=[resources_pb2.Dataset(name="census", version="2026-01")],
        parents=[
            resources_pb2.ParentVersion(
                version="models/base/versions/7", relation=resources_pb2.PARENT_RELATION_FINE_TUNED_FROM
            )
        ],
    )

    text = views.version_details(version)

    assert "fraud@3" in text and "1.2.0 (data)" in text
    assert "auc[test]" in text and "0.9312" in text
    assert "lr:" in text and "0123456789ab (dirty)" in text and "seed:" in text
    assert "census@2026-01" in text and "fine tuned from: base@7" in text


def test_promotion_shows_each_gate_and_its_outcome() -> None:
    promotion = stages_pb2.Promotion(
        version="models/fraud/versions/4",
        target="production",
        state=stages_pb2.PROMOTION_STATE_FAILED,
        gate_results=[
            stages_pb2.GateResult(gate="metric_threshold", passed=False, detail="metrics.auc 0.87 < 0.90"),
            stages_pb2.GateResult(gate="signature_compatible", passed=True),
        ],
    )

    text = views.promotion(promotion)

    assert text.splitlines()[0] == "fraud@4 -> production: failed"
    assert re.search(r"metric_threshold +FAIL +metrics.auc 0.87 < 0.90", text)
    assert re.search(r"signature_compatible +pass", text)


def test_diff_signs_deltas_and_colours_them_by_the_daemons_verdict() -> None:
    diff = registry_pb2.VersionDiff(
        base="models/fraud/versions/1",
        target="models/fraud/versions/2",
        metrics=[
            registry_pb2.MetricChange(key="auc", change=registry_pb2.CHANGE_TYPE_CHANGED, base=0.9, target=0.95,
                                      delta=0.05, relative_delta=0.0556, better=True),
            registry_pb2.MetricChange(key="loss", change=registry_pb2.CHANGE_TYPE_CHANGED, base=0.2, target=0.3,
                                      delta=0.1, better=False),
        ],
        params=[registry_pb2.ValueChange(key="lr", change=registry_pb2.CHANGE_TYPE_CHANGED, base="0.1", target="0.01"),
                registry_pb2.ValueChange(key="seed", change=registry_pb2.CHANGE_TYPE_UNCHANGED, base="1", target="1")],
        files=[registry_pb2.FileChange(path="w.bin", base_path="old.bin", change=registry_pb2.CHANGE_TYPE_UNCHANGED)],
    )  # fmt: skip

    plain = views.diff(diff)
    coloured = views.diff(diff, COLOUR)

    assert "+0.05 (+5.6%)" in plain
    assert "\x1b[32m+0.05 (+5.6%)\x1b[0m" in coloured and "\x1b[31m+0.1\x1b[0m" in coloured
    assert "lr" in plain and "seed" not in plain
    assert "w.bin (moved from old.bin)" in plain


def test_history_shows_the_holders_at_a_time_first() -> None:
    response = stages_pb2.GetStageHistoryResponse(
        changes=[stages_pb2.StageChange(stage="production", version="models/fraud/versions/2",
                                        previous_version="models/fraud/versions/1", actor="ana", reason="better auc")],
        holders_at={"production": "models/fraud/versions/1"},
    )  # fmt: skip

    text = views.history(response)

    assert text.splitlines()[0] == "Holders at that time"
    assert re.search(r"^  production +1$", text, re.MULTILINE)
    assert re.search(r"production +2 +1 +ana +better auc$", text, re.MULTILINE)


def test_lineage_lists_nodes_by_depth_and_says_when_it_was_cut() -> None:
    response = lineage_pb2.GetLineageResponse(
        root="models/fraud/versions/2",
        nodes=[
            lineage_pb2.LineageNode(name="models/fraud/versions/2", kind=lineage_pb2.NODE_KIND_MODEL_VERSION, depth=0),
            lineage_pb2.LineageNode(name="datasets/census@2026-01", kind=lineage_pb2.NODE_KIND_DATASET, depth=-1),
        ],
        edges=[
            lineage_pb2.LineageEdge(
                source="datasets/census@2026-01", target="models/fraud/versions/2", kind="trained_on"
            )
        ],
        truncated=True,
    )

    lines = views.lineage(response).splitlines()

    assert lines[1].split()[:3] == ["-1", "dataset", "datasets/census@2026-01"]
    assert "  models/fraud/versions/2 --trained_on--> datasets/census@2026-01" in lines
    assert "raise --depth" in lines[-1]


def test_an_event_is_one_line_with_revision_type_and_subject() -> None:
    event = events_pb2.Event(revision=42, type="stage.changed", subject="models/fraud/versions/2", actor="ana")

    line = views.event_line(event)

    assert line.split() == ["#42", "stage.changed", "fraud@2", "by", "ana"]
    assert line.index("fraud@2") == views.event_line(
        events_pb2.Event(revision=7, type="model.created", subject="models/fraud/versions/2")
    ).index("fraud@2")


# ---- drop-ins -----------------------------------------------------------------------

LONG_PATH = "/srv/models/" + "deep/" * 20 + "fraud/3"
LONG_MESSAGE = "studbook.json line 3, column 12: metrics.auc must be a number, got a string; " * 2


def _drops() -> list[drops_pb2.Drop]:
    return [
        drops_pb2.Drop(path=LONG_PATH, model="models/fraud", state=drops_pb2.DROP_STATE_QUARANTINED,
                       reason="INVALID_MANIFEST", message=LONG_MESSAGE),
        drops_pb2.Drop(path="/srv/models/fraud/2", model="models/fraud", version="models/fraud/versions/2",
                       state=drops_pb2.DROP_STATE_REGISTERED),
    ]  # fmt: skip


def test_the_drops_table_keeps_paths_and_messages_whole() -> None:
    lines = views.drops_table(_drops(), with_state=False).splitlines()

    assert lines[0].split() == ["PATH", "MODEL", "VERSION", "REASON", "SINCE", "MESSAGE"]
    assert lines[1].startswith(LONG_PATH + "  ") and lines[1].endswith(" ".join(LONG_MESSAGE.split()))
    assert lines[2].split()[:3] == ["/srv/models/fraud/2", "fraud", "2"]
    assert lines[1].split()[2] == "-"  # no version


def test_the_drops_table_adds_the_state_column_and_colours_the_refused() -> None:
    plain = views.drops_table(_drops(), with_state=True)
    coloured = views.drops_table(_drops(), with_state=True, paint=COLOUR)

    assert plain.splitlines()[0].split()[3] == "STATE"
    assert [line.split()[3] for line in plain.splitlines()[1:]] == ["quarantined", "registered"]
    assert "\x1b[31mquarantined\x1b[0m" in coloured and "\x1b[31mINVALID_MANIFEST\x1b[0m" in coloured
    assert "\x1b[32mregistered\x1b[0m" in coloured


def test_drop_details_name_the_version_and_the_facts_behind_the_reason() -> None:
    drop = drops_pb2.Drop(path="/srv/models/fraud/3", name="drops/abc", model="models/fraud",
                          version="models/fraud/versions/3", state=drops_pb2.DROP_STATE_QUARANTINED,
                          reason="VERSION_EXISTS", message="version 3 exists with other files",
                          details={"version": "3"})  # fmt: skip

    text = views.drop_details(drop)

    assert re.search(r"^version: +fraud@3$", text, re.MULTILINE)
    assert re.search(r"^state: +quarantined$", text, re.MULTILINE)
    assert re.search(r"^reason: +VERSION_EXISTS$", text, re.MULTILINE)


def test_watch_status_names_each_root_and_why_watching_is_degraded_once() -> None:
    missing = drops_pb2.WatchIncident(reason="ROOT_MISSING", message="/srv/b does not exist", root="/srv/b")
    overflow = drops_pb2.WatchIncident(reason="QUEUE_OVERFLOW", message="events were dropped")
    status = drops_pb2.WatchStatus(
        roots=[drops_pb2.WatchedRoot(path="/srv/a", observer="inotify"),
               drops_pb2.WatchedRoot(path="/srv/b", problem=missing)],
        degraded=True, problems=[missing, overflow], quarantined_drops=2,
    )  # fmt: skip

    text = views.watch_status(status)

    assert re.search(r"^/srv/a +inotify +kept$", text, re.MULTILINE)
    assert re.search(r"^/srv/b +not watched +kept +/srv/b does not exist \[ROOT_MISSING\]$", text, re.MULTILINE)
    assert re.search(r"^degraded: +yes \(QUEUE_OVERFLOW, ROOT_MISSING\)$", text, re.MULTILINE)
    assert text.count("[ROOT_MISSING]") == 1 and "events were dropped [QUEUE_OVERFLOW]" in text
    assert "2 (see `studbook drops`)" in text


def test_healthy_watching_says_not_degraded() -> None:
    status = drops_pb2.WatchStatus(roots=[drops_pb2.WatchedRoot(path="/srv/a", observer="inotify")])

    assert re.search(r"^degraded: +no$", views.watch_status(status), re.MULTILINE)


# --- format records ---------------------------------------------------------------------

from studbook.cli import format_view  # noqa: E402
from studbook.v1 import formats_pb2  # noqa: E402


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, ""),
        (999, "999"),
        (1_500, "1.5K (1500)"),
        (7_241_732_096, "7.24B (7241732096)"),
        (2 * 10**12, "2T (2000000000000)"),
    ],
)
def test_parameter_counts_read_at_a_glance_with_the_exact_count(count: int, text: str) -> None:
    assert format_view.parameters(count) == text


def test_a_format_block_names_the_family_facts_and_the_largest_tensors() -> None:
    info = formats_pb2.FormatInfo(
        format="gguf", architecture="llama", parameters=2048, dtypes=["Q4_K", "F32"],
        gguf=formats_pb2.GgufInfo(quantization="Q4_K_M", context_length=4096, kv={"general.name": "tiny"}),
        tensors=[formats_pb2.TensorInfo(name="tok.weight", dtype="Q4_K", shape=[32, -1])],
    )  # fmt: skip

    block = format_view.format_block(info)
    lines = format_view.compact_lines(info)

    assert "gguf.quantization:" in block and "Q4_K_M" in block and "general.name=tiny" in block
    assert "tok.weight  Q4_K   [32, ?]" in block
    assert lines[0] == "gguf · llama · 2.05K params · Q4_K, F32"
    assert "quantization Q4_K_M" in lines[1] and "context_length 4096" in lines[1]
    assert lines[2] == "tok.weight  Q4_K [32, ?]"


def test_an_empty_or_unread_record_adds_nothing() -> None:
    assert format_view.format_block(formats_pb2.FormatInfo()) == ""
    assert format_view.compact_lines(formats_pb2.FormatInfo(format="unknown")) == []
