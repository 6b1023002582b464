"""What the drops screen says about a drop: its verdict in a sentence, and every fact for the detail pane."""

from __future__ import annotations

from studbook.cli.output import enum_label
from studbook.client.names import short_version
from studbook.tui.cells import ThemeText
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.detail_pane import Field
from studbook.v1 import drops_pb2


def verdict_text(drop: drops_pb2.Drop) -> str:
    """`registered as fraud@13`, `still quarantined: REASON message`, ...: the watcher's last word on it."""
    if drop.state == drops_pb2.DROP_STATE_REGISTERED:
        return f"registered as {short_version(drop.version)}" if drop.version else "registered"
    if drop.state == drops_pb2.DROP_STATE_QUARANTINED:
        return f"still quarantined: {drop.reason} {drop.message}".rstrip()
    if drop.state == drops_pb2.DROP_STATE_UNSPECIFIED:
        return "gone: no watched folder holds it any more"
    if drop.state == drops_pb2.DROP_STATE_PENDING:
        return "still being looked at" + (f": {drop.message}" if drop.message else "")
    state = enum_label(drops_pb2.DropState, drop.state)
    registered = f" ({short_version(drop.version)})" if drop.version else ""
    return f"{state}{registered}" + (f": {drop.message}" if drop.message else "")


def verdict_headline(drop: drops_pb2.Drop) -> str:
    """The verdict without the long message: what fits a status line or a notification."""
    if drop.state == drops_pb2.DROP_STATE_QUARANTINED:
        return f"still quarantined: {drop.reason}"
    return verdict_text(drop).split(": ", 1)[0]


def within_root(drop: drops_pb2.Drop) -> str:
    """`fraud/13`: the path below its watched root (the detail pane gives it whole)."""
    root = drop.root.rstrip("/") + "/"
    return drop.path[len(root) :] if drop.root and drop.path.startswith(root) else drop.path


def drop_fields(drop: drops_pb2.Drop, times: TimeFormat, paint: ThemeText) -> list[Field]:
    """Every fact the list cuts short, each on its own line(s); what to do about it first, as a
    short terminal shows only the top of the pane without scrolling."""
    fields: list[Field] = []
    if drop.state != drops_pb2.DROP_STATE_QUARANTINED:
        fields.append(("state", paint(verdict_text(drop), "good" if drop.version else None)))
    if drop.reason:
        fields.append(("reason", paint(drop.reason, "bad")))
    if drop.message:
        fields.append(("what to fix", paint(drop.message)))
    fields.append(("path", paint(drop.path, "accent")))
    fields.append(("model", paint(drop.model.removeprefix("models/") or "(none: not in a model folder)")))
    if drop.details:
        facts = "  ".join(f"{key}={value}" for key, value in sorted(drop.details.items()))
        fields.append(("details", paint(facts, "muted")))
    if drop.version and drop.state == drops_pb2.DROP_STATE_QUARANTINED:
        fields.append(("version", paint(short_version(drop.version))))
    fields.append(("seen", paint(times.both(drop.update_time), "muted")))
    return fields
