"""`studbook watch` prints a rename with both names and the reason, escaped like any user text."""

from __future__ import annotations

from studbook.cli import views
from studbook.v1 import events_pb2, resources_pb2


def renamed(reason: str) -> events_pb2.Event:
    return events_pb2.Event(revision=9, type="model.renamed", subject="models/churn", model="retention", actor="ana",
                            renamed=events_pb2.ModelRenamed(previous_name="models/churn", reason=reason,
                                                            model=resources_pb2.Model(name="models/retention")))  # fmt: skip


def test_a_rename_reads_old_arrow_new_and_why() -> None:
    assert views.event_line(renamed("naming scheme")).split() == [
        "#9", "model.renamed", "churn", "→", "retention", "(naming", "scheme)", "by", "ana"]  # fmt: skip
    assert "()" not in views.event_line(renamed(""))


def test_a_reason_with_escape_sequences_is_shown_escaped() -> None:
    line = views.event_line(renamed("oops\x1b[2J"))
    assert "\x1b" not in line and "\\x1b" in line
