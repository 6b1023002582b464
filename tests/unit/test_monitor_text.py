"""How monitors read in a terminal: drift events in `studbook watch`, the status block, the
lines `observe` adds when its window starts or ends a breach."""

from __future__ import annotations

from studbook.cli import monitor_commands, views
from studbook.v1 import events_pb2, production_pb2


def breach() -> production_pb2.MonitorState:
    return production_pb2.MonitorState(
        model="models/fraud", stage="production", version="models/fraud/versions/12", breached=True,
        findings=[production_pb2.MonitorFinding(rule="psi > 0.2", subject="age", observed=0.31, threshold=0.2,
                                                breached=True, windows_in_breach=3),
                  production_pb2.MonitorFinding(rule="auc >= 0.9", subject="auc", observed=0.93, threshold=0.9)],
        candidate=production_pb2.RollbackCandidate(version="models/fraud/versions/7", summary="v7 held production"),
        auto_rollback="refused: rollback refused: metrics.auc 0.85 < 0.9",
    )  # fmt: skip


def test_a_drift_event_line_names_the_stage_the_holder_the_worst_finding_and_the_candidate():
    detected = events_pb2.Event(revision=40, type="drift.detected", subject="models/fraud/stages/production",
                                actor="monitors", monitor_state=breach())  # fmt: skip
    cleared = events_pb2.Event(revision=41, type="drift.cleared", subject="models/fraud/stages/production",
                               actor="monitors", monitor_state=production_pb2.MonitorState(
                                   version="models/fraud/versions/7"))  # fmt: skip

    assert views.event_line(detected).split() == ["#40", "drift.detected", "fraud@production", "v12:", "age", "0.31",
                                                  "(psi", ">", "0.2),", "3", "windows;", "candidate", "v7", "by",
                                                  "monitors"]  # fmt: skip
    assert views.event_line(cleared).split() == ["#41", "drift.cleared", "fraud@production", "v7", "by", "monitors"]


def test_the_status_block_shows_each_breach_with_its_candidate_and_what_auto_rollback_did():
    calm = production_pb2.MonitorState(model="models/churn", stage="production", version="models/churn/versions/2")

    text = monitor_commands.status_lines([breach(), calm], views.PLAIN)

    lines = text.splitlines()
    assert lines[0].startswith("fraud@production v12 in breach since ")
    assert lines[0].endswith(": age 0.31 (psi > 0.2), 3 windows")
    assert lines[1:] == ["  candidate v7: v7 held production",
                         "  auto_rollback: refused: rollback refused: metrics.auc 0.85 < 0.9"]  # fmt: skip
    assert monitor_commands.status_lines([calm, calm], views.PLAIN) == "2 stages watched, none in breach"


def test_observe_lines_say_detected_or_cleared():
    cleared = production_pb2.MonitorState(model="models/fraud", stage="production", version="models/fraud/versions/7")

    text = monitor_commands.changed_lines([breach(), cleared], views.PLAIN)

    assert text.splitlines() == [
        "drift detected on fraud@production v12: age 0.31 (psi > 0.2), 3 windows",
        "  v7 held production",
        "  auto_rollback: refused: rollback refused: metrics.auc 0.85 < 0.9",
        "drift cleared on fraud@production v7",
    ]
    assert monitor_commands.changed_lines([], views.PLAIN) == ""
