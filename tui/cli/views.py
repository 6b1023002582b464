"""What each CLI command shows a person: registry messages rendered with the `output` blocks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from studbook.cli import format_view, output
from studbook.cli.output import Painter, fields, format_number, format_size, format_time, section, table
from studbook.cli.promotion_text import waiting_line
from studbook.client.names import short_version
from studbook.client.safe_text import shows_user_text
from studbook.v1 import (
    access_pb2,
    drops_pb2,
    events_pb2,
    lineage_pb2,
    maintenance_pb2,
    registry_pb2,
    resources_pb2,
    retention_pb2,
    stages_pb2,
)

PLAIN = output.PLAIN
_STATUS_STYLE = {
    "ready": "green",
    "failed": "red",
    "quarantined": "red",
    "missing": "yellow",
    "modified": "yellow",
    "corrupt": "red",
}


def _number(version_name: str) -> str:
    """`models/fraud/versions/3` -> `3`."""
    return version_name.rsplit("/", 1)[-1]


def _model_id(name: str) -> str:
    return name.split("/", 2)[1] if name.startswith("models/") else name


def _holders(mapping: Mapping[str, str], order: Sequence[str] = ()) -> str:
    """`production=3 staging=4`, stages in the model's order, then aliases by name."""
    ranked = sorted(mapping, key=lambda k: (order.index(k) if k in order else len(order), k))
    return " ".join(f"{key}={_number(mapping[key])}" for key in ranked)


def _metric_label(metric: resources_pb2.Metric) -> str:
    return f"{metric.key}[{metric.split}]" if metric.split else metric.key


def _dataset(d: resources_pb2.Dataset) -> str:
    """name@version, and the size of the data where its source recorded one (DVC)."""
    text = f"{d.name}@{d.version}" if d.version else d.name
    return f"{text} ({format_size(d.size)})" if d.HasField("size") else text


def _relation(parent: resources_pb2.ParentVersion) -> str:
    """`fine tuned from`."""
    return output.enum_label(resources_pb2.ParentRelation, parent.relation).replace("_", " ")


@shows_user_text
def metrics_summary(metrics: Iterable[resources_pb2.Metric], limit: int = 3) -> str:
    items = [f"{_metric_label(m)}={format_number(m.value)}" for m in metrics]
    extra = f" +{len(items) - limit}" if len(items) > limit else ""
    return " ".join(items[:limit]) + extra


def keeping(version: resources_pb2.ModelVersion) -> str:
    """Whether the registry holds the version's bytes or only points at them."""
    return "kept by the registry" if version.kept else "referenced, not kept"


def status_label(version: resources_pb2.ModelVersion, paint: Painter = PLAIN) -> str:
    label = output.enum_label(resources_pb2.VersionStatus, version.status)
    return paint(label, _STATUS_STYLE[label]) if label in _STATUS_STYLE else label


# ---- maintenance ----------------------------------------------------------------------


@shows_user_text
def verify_summary(summary: maintenance_pb2.VerifySummary, paint: Painter = PLAIN) -> str:
    """What a re-hash found: what it read, what it skipped, which versions are corrupt or ready again."""
    lines = [f"checked {summary.versions_checked} kept version(s): {summary.blobs_checked} stored file(s), "
             f"{format_size(summary.bytes_checked)}, in {summary.store}"]  # fmt: skip
    if summary.skipped_count:
        named = ", ".join(short_version(name) for name in summary.skipped_versions)
        more = summary.skipped_count - len(summary.skipped_versions)
        lines.append(f"skipped {summary.skipped_count} referenced (not kept) version(s): {named}"
                     + (f" and {more} more" if more > 0 else ""))  # fmt: skip
    if summary.corrupt_count:
        lines.append(
            paint(f"{summary.corrupt_count} version(s) refer to bytes that changed or are gone:", "red", "bold")
        )
        rows = [(short_version(v.version), output.enum_label(resources_pb2.VersionStatus, v.status), v.reason)
                for v in summary.corrupt_versions]  # fmt: skip
        lines.append(table(("VERSION", "STATUS", "WHY"), rows, paint=paint, limit=200))
        if summary.corrupt_count > len(summary.corrupt_versions):
            lines.append(f"(the first {len(summary.corrupt_versions)} shown; `studbook versions - --filter "
                         "'status = CORRUPT'` lists them all)")  # fmt: skip
    else:
        lines.append(paint("every stored file matches its sha256", "green"))
    for repaired in summary.repaired_versions:
        lines.append(f"{short_version(repaired.version)} matches again: ready")
    return "\n".join(lines)


@shows_user_text
def backup_summary(summary: maintenance_pb2.BackupSummary, paint: Painter = PLAIN) -> str:
    """Where the backup is, what state it holds, what this run copied."""
    lines = [
        f"backed up revision {summary.revision} ({summary.versions} version(s)) to {summary.destination}",
        fields([
            ("catalog", f"{summary.catalog} ({format_size(summary.catalog_bytes)})"),
            ("stored files", f"{summary.blob_count} ({format_size(summary.blob_bytes)}); copied now: "
                             f"{summary.copied_blobs} ({format_size(summary.copied_bytes)})"),
            ("audit head", summary.chain_head),
            ("took", f"{summary.seconds:.1f} s (catalog snapshot {summary.snapshot_seconds:.2f} s, writes went on)"),
        ], paint=paint),
    ]  # fmt: skip
    if summary.lost_blobs:
        lines.append(paint(f"{len(summary.lost_blobs)} stored file(s) of corrupt versions were not copied: "
                           f"their bytes were already bad ({', '.join(s[:12] for s in summary.lost_blobs[:3])})",
                           "yellow"))  # fmt: skip
    return "\n".join(lines)


# ---- models and versions ------------------------------------------------------------


@shows_user_text
def models_table(models: Iterable[resources_pb2.Model], paint: Painter = PLAIN) -> str:
    rows = [
        (
            _model_id(m.name),
            m.version_count,
            m.latest_version or "",
            _holders(m.stage_holders, list(m.stages)),
            _holders(m.aliases),
            m.owner,
            format_time(m.update_time),
        )
        for m in models
    ]
    return table(("MODEL", "VERSIONS", "LATEST", "STAGES", "ALIASES", "OWNER", "UPDATED"), rows, paint=paint)


@shows_user_text
def versions_table(versions: Iterable[resources_pb2.ModelVersion], *, with_model: bool, paint: Painter = PLAIN) -> str:
    rows = [
        (
            short_version(v.name) if with_model else v.number,
            v.semver,
            status_label(v, paint),
            " ".join([*v.stages, *v.aliases]),
            metrics_summary(v.metrics),
            format_time(v.create_time),
            v.created_by,
        )
        for v in versions
    ]
    return table(("VERSION", "SEMVER", "STATUS", "STAGES", "METRICS", "CREATED", "BY"), rows, paint=paint)


@shows_user_text
def model_details(model: resources_pb2.Model, paint: Painter = PLAIN) -> str:
    head = fields(
        [
            ("model", _model_id(model.name)),
            ("state", output.enum_label(resources_pb2.ModelState, model.state)),
            ("description", model.description),
            ("owner", model.owner),
            ("tags", dict(model.tags)),
            ("versions", f"{model.version_count} (latest {model.latest_version})" if model.version_count else "0"),
            ("created", format_time(model.create_time)),
            ("updated", format_time(model.update_time)),
        ],
        paint=paint,
    )
    stages = table(
        ("STAGE", "VERSION"),
        [(stage, _number(model.stage_holders.get(stage, "-"))) for stage in model.stages],
        paint=paint,
    )
    blocks = [head, section("Stages", stages, paint=paint)]
    if model.aliases:
        aliases = table(("ALIAS", "VERSION"), sorted((k, _number(v)) for k, v in model.aliases.items()), paint=paint)
        blocks.append(section("Aliases", aliases, paint=paint))
    return _join(blocks)


@shows_user_text
def version_details(v: resources_pb2.ModelVersion, paint: Painter = PLAIN) -> str:
    training = v.training
    kind = output.enum_label(resources_pb2.ChangeKind, v.change_kind)
    head = fields(
        [
            ("version", short_version(v.name)),
            ("name", v.name),
            ("semver", f"{v.semver} ({kind})" if v.semver else ""),
            ("status", status_label(v, paint) + (f" - {v.status_reason}" if v.status_reason else "")),
            ("stages", " ".join(v.stages)),
            ("aliases", " ".join(v.aliases)),
            ("description", v.description),
            ("tags", dict(v.tags)),
            ("storage", v.storage_uri),
            ("files", keeping(v)),
            ("digest", v.content_digest),
            ("size", format_size(v.total_size) if v.files else ""),
            ("created", format_time(v.create_time)),
            ("created by", " from ".join(x for x in (v.created_by, v.created_from) if x)),
        ],
        paint=paint,
    )
    metrics = table(
        ("METRIC", "VALUE", "STEP"),
        [(_metric_label(m), format_number(m.value), m.step if m.HasField("step") else "") for m in v.metrics],
        paint=paint,
    )
    files = table(
        ("FILE", "FORMAT", "SIZE", "SHA256"),
        [(f.path, f.format, format_size(f.size), f.sha256[:12]) for f in v.files],
        paint=paint,
    )
    env = v.environment
    environment = fields(
        [("python", env.python_version), ("platform", env.platform), *sorted(env.packages.items())], paint=paint
    )
    commit = training.code_commit[:12] + (" (dirty)" if training.code_dirty else "") if training.code_commit else ""
    train = fields(
        [
            ("seed", training.seed if training.HasField("seed") else None),
            ("data", dict(training.data_versions)),
            ("commit", commit),
            ("entry point", training.entry_point),
            ("run", v.run.run_id),
        ],
        paint=paint,
    )
    lineage = fields(
        [
            *(("dataset", _dataset(d)) for d in v.datasets),
            *((_relation(p), short_version(p.version)) for p in v.parents),
        ],
        paint=paint,
    )
    return _join(
        [
            head,
            section("Metrics", metrics if v.metrics else "", paint=paint),
            section("Params", fields(sorted(v.params.items()), paint=paint), paint=paint),
            section("Files", files if v.files else "", paint=paint),
            section("Format", format_view.format_block(v.format_info, paint), paint=paint),
            section("Training", train, paint=paint),
            section("Lineage", lineage, paint=paint),
            section("Environment", environment, paint=paint),
            section("Model card", v.model_card.strip(), paint=paint),
        ]
    )


@shows_user_text
def registered(response: registry_pb2.RegisterModelVersionResponse, paint: Painter = PLAIN) -> str:
    v = response.version
    verb = "registered" if response.created else "already registered as"
    extra = f" ({v.semver}, {status_label(v, paint)})" if v.semver else f" ({status_label(v, paint)})"
    return f"{verb} {paint(short_version(v.name), 'bold')}{extra}"


# ---- stages -------------------------------------------------------------------------


@shows_user_text
def promotion(p: stages_pb2.Promotion, paint: Painter = PLAIN) -> str:
    state = output.enum_label(stages_pb2.PromotionState, p.state)
    colour = {"applied": "green", "failed": "red", "rejected": "red", "pending_approval": "yellow"}.get(state)
    what = "rolled back" if p.rollback else "promoted"
    line = f"{short_version(p.version)} -> {p.target}: {paint(state.replace('_', ' '), colour) if colour else state}"
    if p.previous_version and state == "applied":
        line += f" ({what}; was {short_version(p.previous_version)})"
    elif p.previous_version and state == "validated":
        line += f" (would replace {short_version(p.previous_version)})"
    gates = table(
        ("GATE", "RESULT", "DETAIL"),
        [(g.gate, paint("pass", "green") if g.passed else paint("FAIL", "red"), g.detail) for g in p.gate_results],
        paint=paint,
        limit=100,
    )
    waiting = waiting_line(p)
    approved = [(a.actor, format_time(a.time), a.comment) for a in p.approvals]
    approvals = table(("APPROVED BY", "WHEN", "COMMENT"), approved, paint=paint)
    return _join([
        line,
        paint(waiting, "yellow") if waiting else "",
        section("Gates", gates if p.gate_results else "", paint=paint),
        section("Approvals", approvals if p.approvals else "", paint=paint),
    ])  # fmt: skip


@shows_user_text
def history(response: stages_pb2.GetStageHistoryResponse, paint: Painter = PLAIN) -> str:
    rows = [
        (
            format_time(c.time),
            c.stage + (" (alias)" if c.is_alias else ""),
            _number(c.version) if c.version else "-",
            _number(c.previous_version) if c.previous_version else "-",
            c.actor,
            ("rollback: " if c.rollback else "") + c.reason,
        )
        for c in response.changes
    ]
    changes = table(("TIME", "STAGE", "VERSION", "PREVIOUS", "ACTOR", "REASON"), rows, paint=paint)
    blocks = [changes if rows else "no stage changes"]
    if response.holders_at:
        held = table(("STAGE", "VERSION"), sorted((k, _number(v)) for k, v in response.holders_at.items()), paint=paint)
        blocks.insert(0, section("Holders at that time", held, paint=paint))
    return _join(blocks)


# ---- diff and lineage ---------------------------------------------------------------

_MARK: dict[int, tuple[str, str]] = {
    registry_pb2.CHANGE_TYPE_ADDED: ("+", "green"),
    registry_pb2.CHANGE_TYPE_REMOVED: ("-", "red"),
    registry_pb2.CHANGE_TYPE_CHANGED: ("~", "yellow"),
    registry_pb2.CHANGE_TYPE_UNCHANGED: (" ", "dim"),
}


def _mark(change: int, paint: Painter) -> str:
    symbol, style = _MARK.get(change, ("?", "dim"))
    return paint(symbol, style)


def _value_changes(changes: Iterable[registry_pb2.ValueChange], paint: Painter) -> str:
    rows = [
        (_mark(c.change, paint), c.key, c.base, c.target)
        for c in changes
        if c.change != registry_pb2.CHANGE_TYPE_UNCHANGED
    ]
    return table(("", "KEY", "BASE", "TARGET"), rows, paint=paint) if rows else ""


def _opt(message: registry_pb2.MetricChange, field: str) -> str:
    return format_number(getattr(message, field)) if message.HasField(field) else ""


def _delta(m: registry_pb2.MetricChange, paint: Painter) -> str:
    """Signed delta, green when the daemon judges it an improvement, red for a regression."""
    if not m.HasField("delta"):
        return ""
    text = ("+" if m.delta > 0 else "") + format_number(m.delta)
    if m.HasField("relative_delta"):
        text += f" ({m.relative_delta:+.1%})"
    if not m.HasField("better"):
        return text
    return paint(text, "green" if m.better else "red")


def _tensor_changes(changes: Iterable[registry_pb2.TensorChange], paint: Painter) -> str:
    """Tensors added, removed, reshaped or retyped (unchanged ones are left out)."""
    rows = []
    for t in changes:
        if t.change == registry_pb2.CHANGE_TYPE_UNCHANGED:
            continue
        what = []
        if t.change == registry_pb2.CHANGE_TYPE_CHANGED:
            what = [w for w, differs in (("reshaped", list(t.base_shape) != list(t.target_shape)),
                                         ("retyped", t.base_dtype != t.target_dtype)) if differs]  # fmt: skip
        base = f"{t.base_dtype} {format_view.shape(t.base_shape)}" if t.base_dtype or t.base_shape else ""
        target = f"{t.target_dtype} {format_view.shape(t.target_shape)}" if t.target_dtype or t.target_shape else ""
        rows.append((_mark(t.change, paint), t.name, base, target, ", ".join(what)))
    return table(("", "TENSOR", "BASE", "TARGET", ""), rows, paint=paint) if rows else ""


@shows_user_text
def diff(d: registry_pb2.VersionDiff, paint: Painter = PLAIN) -> str:
    head = f"{short_version(d.base)} ({d.base_semver}) -> {short_version(d.target)} ({d.target_semver})"
    metrics = table(
        ("", "METRIC", "BASE", "TARGET", "DELTA"),
        [
            (
                _mark(m.change, paint),
                f"{m.key}[{m.split}]" if m.split else m.key,
                _opt(m, "base"),
                _opt(m, "target"),
                _delta(m, paint),
            )
            for m in d.metrics
        ],
        paint=paint,
    )
    files = [f for f in d.files if f.change != registry_pb2.CHANGE_TYPE_UNCHANGED or f.base_path]
    file_table = table(
        ("", "FILE", "BASE", "TARGET"),
        [
            (
                _mark(f.change, paint),
                f"{f.path} (moved from {f.base_path})" if f.base_path else f.path,
                format_size(f.base_size) if f.base_sha256 else "",
                format_size(f.target_size) if f.target_sha256 else "",
            )
            for f in files
        ],
        paint=paint,
        limit=100,
    )
    card = d.model_card_diff.rstrip()
    if card and d.model_card_truncated:
        card += "\n" + paint("(cut short; compare the versions' cards in full with `studbook show`)", "dim")
    signature = ""
    if d.HasField("signature"):
        verdict = paint("compatible", "green") if d.signature.compatible else paint("BREAKING", "red")
        signature = "\n".join([verdict, *(f"- {reason}" for reason in d.signature.reasons)])
    return _join(
        [
            paint(head, "bold"),
            section("Metrics", metrics if d.metrics else "", paint=paint),
            section("Params", _value_changes(d.params, paint), paint=paint),
            section("Tags", _value_changes(d.tags, paint), paint=paint),
            section("Signature", signature, paint=paint),
            section("Environment", _value_changes(d.environment, paint), paint=paint),
            section("Files", file_table if files else "", paint=paint),
            section("Format", _value_changes(d.format, paint), paint=paint),
            section("Tensors", _tensor_changes(d.tensors, paint), paint=paint),
            section("Model card", card, paint=paint),
        ]
    )


@shows_user_text
def lineage(response: lineage_pb2.GetLineageResponse, paint: Painter = PLAIN) -> str:
    nodes = table(
        ("DEPTH", "KIND", "NODE", "LABEL"),
        [
            (
                f"{n.depth:+d}" if n.depth else "0",
                output.enum_label(lineage_pb2.NodeKind, n.kind).replace("_", " "),
                paint(n.name, "bold") if n.name == response.root else n.name,
                n.label,
            )
            for n in sorted(response.nodes, key=lambda n: (n.depth, n.name))
        ],
        paint=paint,
        limit=80,
    )
    # Read as a sentence: the downstream node, how it relates, the upstream one
    # ("distil/1 --distilled_from--> bert/6", "fraud/2 --trained_on--> datasets/census").
    edges = "\n".join(f"{e.target} --{e.kind}--> {e.source}" for e in response.edges)
    more = paint("(more beyond this depth; raise --depth)", "dim") if response.truncated else ""
    return _join([nodes, section("Edges", edges, paint=paint), more])


# ---- drop-ins -----------------------------------------------------------------------

_DROP_STYLE = {"registered": "green", "quarantined": "red", "pending": "yellow", "modified": "yellow",
               "missing": "yellow"}  # fmt: skip
# Paths are what `drops retry` takes and messages say what to fix: neither is cut short
# (the message is the last column, so its length never pushes others out of line).
_DROP_CELL = 4096


_ACTION_STYLE = {"purge": "red", "archive": "yellow", "wait": "dim", "keep": "green"}


@shows_user_text
def garbage_collection(report: retention_pb2.GarbageCollection, paint: Painter = PLAIN) -> str:
    """What `gc` did (or, with --dry-run, would do): each version beyond keep_last, then the blobs."""
    would = "would be " if report.dry_run else ""
    heading = (
        "dry run, nothing changed" if report.dry_run else "garbage collected"
    ) + f" at {format_time(report.time)}"
    counts = (f"versions beyond keep_last: {report.purged} {would}purged, {report.archived} {would}archived, "
              f"{report.waiting} waiting for their purge, {report.kept} kept")  # fmt: skip
    rows = [
        (paint(action, _ACTION_STYLE.get(action, "")), short_version(d.version), format_size(d.size_bytes), d.reason)
        for d in report.decisions
        for action in [output.enum_label(retention_pb2.RetentionAction, d.action)]
    ]
    listing = table(("ACTION", "VERSION", "SIZE", "WHY"), rows, paint=paint) if rows else ""
    if report.decisions_not_listed:
        listing += f"\n... and {report.decisions_not_listed} more (the counts above cover them all)"
    return _join([heading, counts, listing, _blob_lines(report)])


def _blob_lines(report: retention_pb2.GarbageCollection) -> str:
    b = report.blobs
    verb = "would delete" if report.dry_run else "deleted"
    lines = [
        f"blobs in {report.artifact_store}: {verb} {b.deleted}, freeing {format_size(b.deleted_bytes)} "
        f"({b.freed_by_purge} only purged versions used, {b.orphans} no version used)"
    ]
    if b.other_catalogs:
        lines.append(f"deleted none of the {b.shared} files ({format_size(b.shared_bytes)}) this registry does not use: "
                     f"{b.other_catalogs} other catalog(s) keep files in {report.artifact_store} too "
                     "(each is recorded under catalogs/ there; remove the record of one that is gone)")  # fmt: skip
    if b.recent or b.claimed:
        lines.append(f"kept though no version uses them: {b.recent} too recent "
                     f"({format_size(b.recent_bytes)}), {b.claimed} a registration in flight relies on "
                     f"({format_size(b.claimed_bytes)})")  # fmt: skip
    return "\n".join(lines)


def drop_state(drop: drops_pb2.Drop, paint: Painter = PLAIN) -> str:
    label = output.enum_label(drops_pb2.DropState, drop.state)
    return paint(label, _DROP_STYLE[label]) if label in _DROP_STYLE else label


@shows_user_text
def drops_table(drops: Iterable[drops_pb2.Drop], *, with_state: bool, paint: Painter = PLAIN) -> str:
    """PATH MODEL VERSION [STATE] REASON SINCE MESSAGE, one drop a line."""
    headers = ("PATH", "MODEL", "VERSION", *(("STATE",) if with_state else ()), "REASON", "SINCE", "MESSAGE")
    rows = [
        (
            d.path,
            _model_id(d.model),
            _number(d.version) if d.version else "-",
            *((drop_state(d, paint),) if with_state else ()),
            paint(d.reason, "red") if d.state == drops_pb2.DROP_STATE_QUARANTINED else d.reason,
            format_time(d.update_time),
            d.message,
        )
        for d in drops
    ]
    return table(headers, rows, paint=paint, limit=_DROP_CELL)


@shows_user_text
def drop_details(drop: drops_pb2.Drop, paint: Painter = PLAIN) -> str:
    """One drop in full: what `drops retry` answers."""
    return fields(
        [
            ("drop", drop.path),
            ("name", drop.name),
            ("model", _model_id(drop.model)),
            ("version", short_version(drop.version) if drop.version else ""),
            ("state", drop_state(drop, paint)),
            ("reason", drop.reason),
            ("message", drop.message),
            *sorted(drop.details.items()),
            ("since", format_time(drop.update_time)),
        ],
        paint=paint,
    )


@shows_user_text
def watch_status(status: drops_pb2.WatchStatus, paint: Painter = PLAIN) -> str:
    """The watched roots with their observers, and whether (and why) watching is degraded."""
    roots = table(
        ("ROOT", "OBSERVER", "FILES", "PROBLEM"),
        [
            (
                r.path,
                r.observer or paint("not watched", "red"),
                "referenced in place" if r.keep_in_place else "kept",
                _incident(r.problem) if r.HasField("problem") else "",
            )
            for r in status.roots
        ],  # fmt: skip
        paint=paint,
        limit=_DROP_CELL,
    )
    degraded = paint("no", "green")
    if status.degraded:
        reasons = sorted({i.reason for i in status.problems})
        degraded = paint("yes", "red") + (f" ({', '.join(reasons)})" if reasons else "")
    # A root's own problem is on its row already; the rest (lost events ...) get a line each.
    on_rows = {(r.path, r.problem.reason) for r in status.roots if r.HasField("problem")}
    head = fields(
        [
            ("degraded", degraded),
            *(("problem", _incident(i)) for i in status.problems if (i.root, i.reason) not in on_rows),
            ("pending drops", status.pending_drops),
            ("quarantined drops", f"{status.quarantined_drops} (see `studbook drops`)" if status.quarantined_drops
             else "0"),
            ("sources changed or gone", f"{status.kept_sources_changed} (their versions are kept, unharmed)"
             if status.kept_sources_changed else "0"),
            ("queue", status.queue_depth),
            ("last reconcile", format_time(status.last_reconcile_time)),
        ],
        paint=paint,
    )  # fmt: skip
    return _join([roots, head])


def catalog_status(status: maintenance_pb2.CatalogStatus, paint: Painter = PLAIN) -> str:
    """The catalog's backend and location and, when other daemons share it, whether this one follows them."""
    rows: list[tuple[str, object]] = [("backend", status.backend + (", shared by several daemons" if status.shared
                                                                       else " (embedded file)"))]  # fmt: skip
    if status.location:
        rows.append(("location", status.location))
    rows.append(("revision", status.revision))
    if status.shared:
        since = format_time(status.since) if status.HasField("since") else ""
        if status.following:
            rows.append(("following", paint("yes", "green") + (f", since {since}" if since else "")))
        else:
            rows.append(("following", paint("no", "red") + (f", since {since}" if since else "")
                         + f": {status.problem or 'not connected'}; reads may miss other daemons' changes "
                         "until it reconnects (it retries by itself)"))  # fmt: skip
        rows.append(("caught up", format_time(status.caught_up_time) if status.HasField("caught_up_time") else "never"))
    return fields(rows, paint=paint)


def _incident(incident: drops_pb2.WatchIncident) -> str:
    return f"{incident.message} [{incident.reason}]" if incident.message else incident.reason


# ---- access -------------------------------------------------------------------------


def role_label(role: int) -> str:
    """`ROLE_APPROVER` -> `approver`; "" when unspecified (events older than roles, anonymous callers)."""
    return "" if role == access_pb2.ROLE_UNSPECIFIED else output.enum_label(access_pb2.Role, role)


def _token_id(name: str) -> str:
    """`tokens/3f2a1b0c9d8e` -> `3f2a1b0c9d8e`."""
    return name.removeprefix("tokens/")


def _expires(token: access_pb2.Token, now: datetime | None, paint: Painter) -> str:
    if not token.HasField("expire_time"):
        return "never"
    when = format_time(token.expire_time)
    if now is not None and token.expire_time.ToDatetime(tzinfo=UTC) <= now:
        return paint(f"{when} (expired)", "red")
    return when


def _revoked(token: access_pb2.Token, paint: Painter) -> str:
    if not token.HasField("revoke_time"):
        return ""
    by = f" by {token.revoker}" if token.revoker else ""
    return paint(f"{format_time(token.revoke_time)}{by}", "red")


@shows_user_text
def tokens_table(tokens: Iterable[access_pb2.Token], *, now: datetime | None = None, paint: Painter = PLAIN) -> str:
    """NAME ID ROLE CREATED CREATOR EXPIRES REVOKED, one token a line; never a secret (none is kept).

    With `now` (aware), expiries already past are marked.
    """
    rows = [
        (
            t.display_name,
            _token_id(t.name),
            role_label(t.role),
            format_time(t.create_time),
            t.creator,
            _expires(t, now, paint),
            _revoked(t, paint),
        )
        for t in tokens
    ]
    return table(("NAME", "ID", "ROLE", "CREATED", "CREATOR", "EXPIRES", "REVOKED"), rows, paint=paint)


@shows_user_text
def token_details(token: access_pb2.Token, *, now: datetime | None = None, paint: Painter = PLAIN) -> str:
    """One token in full: what `token create` and `token revoke` report."""
    return fields(
        [
            ("token", token.display_name),
            ("name", token.name),
            ("role", role_label(token.role)),
            ("created", format_time(token.create_time)),
            ("creator", token.creator),
            ("expires", _expires(token, now, paint)),
            ("revoked", _revoked(token, paint)),
        ],
        paint=paint,
    )


@shows_user_text
def caller_details(caller: access_pb2.Caller, paint: Painter = PLAIN) -> str:
    """What `whoami` shows: who the daemon takes the caller for, and why."""
    # Without a token only the unix socket admits a caller: its owner, as an admin.
    token = caller.token or ("none (the socket's owner)" if caller.transport == "unix" else "none")
    return fields(
        [("actor", caller.actor), ("role", role_label(caller.role)), ("transport", caller.transport), ("token", token)],
        paint=paint,
    )


# ---- events -------------------------------------------------------------------------


# Event lines stream one at a time, so columns are fixed widths rather than measured.
_TYPE_WIDTH = len("version.status_changed")
# Refused calls name the full gRPC method; the project's own package goes without saying.
_OWN_PACKAGE = "studbook.v1."


def _subject(event: events_pb2.Event) -> str:
    if event.type == "access.denied":
        return event.subject.removeprefix(_OWN_PACKAGE)
    model, stages, stage = event.subject.removeprefix("models/").partition("/stages/")
    if stages:  # models/fraud/stages/production -> fraud@production
        return f"{model}@{stage}"
    return short_version(event.subject)


def _event_detail(event: events_pb2.Event, paint: Painter) -> str:
    """What the subject alone does not say: whose token it is, why a call was refused."""
    payload = event.WhichOneof("payload")
    if payload == "token":
        token = event.token
        role = role_label(token.role)
        return f"{token.display_name} ({role})" if role else token.display_name
    if payload == "denial":
        denial = event.denial
        text = f"{denial.code} {denial.reason}".strip()
        if denial.suppressed:
            text += f" (+{denial.suppressed} more not recorded one by one)"
        return paint(text, "red")
    if payload == "hook":  # where it points, or why the daemon paused it
        return paint(event.hook.pause_reason, "red") if event.type == "hook.paused" else event.hook.url
    if payload == "renamed":  # the subject is the old name
        reason = event.renamed.reason
        return f"→ {event.model}" + (paint(f" ({reason})", "dim") if reason else "")
    if payload == "production_metrics":  # how many points went to which holders
        logged = event.production_metrics
        held = ", ".join(short_version(v) for v in logged.versions)
        return f"{logged.count} point{'s' if logged.count != 1 else ''} ({', '.join(logged.keys)}) to {held}"
    if payload == "inputs_logged":  # the window's version and how far its inputs drifted
        window = event.inputs_logged
        worst = f", worst {window.worst_feature}" if window.worst_feature else ""
        return (f"{window.features} features to {short_version(window.version)}: max psi {window.max_psi:.3f}, "
                f"max ks {window.max_ks:.3f}{worst}")  # fmt: skip
    if payload == "monitor_state":  # the holder, and on a breach the worst finding and the candidate
        from studbook.cli.monitor_commands import event_detail

        return event_detail(event.monitor_state, paint)
    if payload == "version" and event.type == "version.status_changed":
        version = event.version
        return status_label(version, paint) + (f": {version.status_reason}" if version.status_reason else "")
    return ""


@shows_user_text
def event_line(event: events_pb2.Event, paint: Painter = PLAIN) -> str:
    parts = [
        paint(f"#{event.revision:<6}", "dim"),
        format_time(event.time),
        paint(event.type.ljust(_TYPE_WIDTH), "cyan"),
        _subject(event),
        _event_detail(event, paint),
    ]
    if event.actor:
        role = role_label(event.role)
        parts.append(paint(f"by {event.actor} ({role})" if role else f"by {event.actor}", "dim"))
    return "  ".join(part for part in parts if part).rstrip()


def _join(blocks: Iterable[str]) -> str:
    return "\n\n".join(block for block in blocks if block)
