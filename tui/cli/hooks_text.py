"""How webhooks read in a terminal: the hook list, one hook, its deliveries, status lines."""

from __future__ import annotations

from collections.abc import Sequence

from studbook.cli.output import Painter, fields, format_number, format_time, table
from studbook.client.safe_text import safe
from studbook.v1 import hooks_pb2


def state(hook: hooks_pb2.Hook, paint: Painter) -> str:
    if hook.paused:
        return paint("paused", "red")
    if hook.failures:
        return paint(f"retrying ({hook.failures} failed)", "yellow")
    return paint("active", "green")


def hooks_table(hooks: Sequence[hooks_pb2.Hook], paint: Painter) -> str:
    rows = [(safe(h.name), safe(h.url), ",".join(safe(e) for e in h.events), safe(h.model_pattern) or "*",
             h.delivered_revision, state(h, paint)) for h in hooks]  # fmt: skip
    return table(("NAME", "URL", "EVENTS", "MODELS", "DELIVERED", "STATE"), rows, paint=paint)


def hook_details(hook: hooks_pb2.Hook, paint: Painter) -> str:
    return fields([
        ("name", safe(hook.name)), ("url", safe(hook.url)), ("events", ", ".join(safe(e) for e in hook.events)),
        ("models", safe(hook.model_pattern) or "every model"), ("created", format_time(hook.create_time)),
        ("creator", safe(hook.creator)), ("delivered", f"up to revision {hook.delivered_revision}"),
        ("state", state(hook, paint)), ("paused because", safe(hook.pause_reason)),
    ], paint=paint)  # fmt: skip


def outcome(delivery: hooks_pb2.HookDelivery, paint: Painter) -> str:
    if 200 <= delivery.status_code < 300:
        return paint(str(delivery.status_code), "green")
    return paint(safe(delivery.error) or str(delivery.status_code), "red")


def deliveries_table(deliveries: Sequence[hooks_pb2.HookDelivery], paint: Painter) -> str:
    rows = [(format_time(d.time), d.revision or "-", safe(d.event_type), d.attempt,
             f"{format_number(round(d.latency_ms, 1))} ms", outcome(d, paint)) for d in deliveries]  # fmt: skip
    return table(("TIME", "REVISION", "EVENT", "ATTEMPT", "LATENCY", "ANSWER"), rows, paint=paint)


def test_line(delivery: hooks_pb2.HookDelivery, paint: Painter) -> str:
    took = f"{format_number(round(delivery.latency_ms, 1))} ms"
    if 200 <= delivery.status_code < 300:
        return f"{safe(delivery.hook)} answered {outcome(delivery, paint)} in {took}"
    return f"{safe(delivery.hook)} did not accept the test event ({outcome(delivery, paint)}, after {took})"


def status_lines(status: hooks_pb2.HookStatus, paint: Painter) -> str:
    """The `studbook status` block: how many hooks, and each paused one with how to resume it."""
    head = f"{status.hooks} hook{'s' if status.hooks != 1 else ''}"
    if status.hooks and not status.delivering:
        head += " (delivered by another daemon on this catalog, or delivery is off here)"
    if not status.paused:
        return f"{head}, none paused"
    lines = [f"{head}, {paint(f'{len(status.paused)} paused', 'red')}:"]
    for paused in status.paused:
        lines.append(f"{safe(paused.name)}: {safe(paused.reason)}")
        lines.append(f"  resume with `studbook hooks replay {safe(paused.name)} --from {paused.next_revision}`")
    return "\n".join(lines)
