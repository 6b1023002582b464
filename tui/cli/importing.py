"""What every `studbook import SOURCE` of local files shares: upload the files, register them,
and report each outcome; a failure of one model does not stop the others. With --dry-run, only
say what would be imported (or is there already) and what is skipped, changing nothing."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studbook.client.errors import StudbookError

if TYPE_CHECKING:
    from studbook.cli.commands import Context
    from studbook.client.upload import LocalFile
    from studbook.v1 import registry_pb2

# A DVC file is a few KB of YAML; the daemon refuses more than this.
MAX_DVC_BYTES = 1 << 20


@dataclass
class Outcome:
    """One model brought in, found already there, or refused."""

    source: str
    version: registry_pb2.RegisterModelVersionResponse | None = None
    error: StudbookError | None = None


@dataclass
class Planned:
    """What a dry run found for one source: the model its files would go to, and the version
    that holds them already, if one does."""

    source: str
    model: str
    files: int
    size: int
    existing: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Set by a dry run, which fills it instead of `outcomes`.
    planned: list[Planned] | None = None

    def as_json(self) -> dict[str, Any]:
        from studbook.cli import output

        if self.planned is not None:
            return {
                "dry_run": True,
                "would_import": [{"source": p.source, "model": p.model, "files": p.files, "size": p.size}
                                 for p in self.planned if not p.existing],
                "unchanged": [{"source": p.source, "version": p.existing} for p in self.planned if p.existing],
                "skipped": [{"source": s, "why": why} for s, why in self.skipped],
            }  # fmt: skip

        def version(o: Outcome) -> dict[str, Any]:
            assert o.version is not None
            return {"source": o.source, "created": o.version.created,
                    "version": output.message_dict(o.version.version)}  # fmt: skip

        return {
            "imported": [version(o) for o in self.outcomes if o.version is not None and o.version.created],
            "unchanged": [version(o) for o in self.outcomes if o.version is not None and not o.version.created],
            "failed": [
                {"source": o.source, "reason": o.error.reason, "message": o.error.message}
                for o in self.outcomes
                if o.error is not None
            ],  # fmt: skip
            "skipped": [{"source": s, "why": why} for s, why in self.skipped],
        }

    def human(self) -> str:
        from studbook.client.names import short_version

        if self.planned is not None:
            return self._planned_text()
        lines = []
        for o in self.outcomes:
            if o.version is not None:
                verb = "imported" if o.version.created else "already imported as"
                v = o.version.version
                lines.append(f"{o.source}: {verb} {short_version(v.name)} ({v.semver}, {v.file_count} files)")
            elif o.error is not None:
                lines.append(f"{o.source}: not imported: {o.error.message} [{o.error.reason}]")
        lines += [f"{source}: skipped: {why}" for source, why in self.skipped]
        created = sum(1 for o in self.outcomes if o.version is not None and o.version.created)
        known = sum(1 for o in self.outcomes if o.version is not None and not o.version.created)
        failed = sum(1 for o in self.outcomes if o.error is not None)
        lines.append(f"{created} imported, {known} already there, {failed} failed, {len(self.skipped)} skipped")
        return "\n".join(lines)

    def _planned_text(self) -> str:
        from studbook.cli.output import format_size
        from studbook.client.names import short_version

        assert self.planned is not None
        lines = []
        for p in self.planned:
            if p.existing:
                lines.append(f"{p.source}: already imported as {short_version(p.existing)}")
            else:
                lines.append(f"{p.source}: would import into {p.model} ({p.files} files, {format_size(p.size)})")
        lines += [f"{source}: would skip: {why}" for source, why in self.skipped]
        new = sum(1 for p in self.planned if not p.existing)
        lines.append(f"dry run: {new} would be imported, {len(self.planned) - new} already there, "
                     f"{len(self.skipped)} skipped; nothing was changed")  # fmt: skip
        return "\n".join(lines)

    @property
    def first_error(self) -> StudbookError | None:
        return next((o.error for o in self.outcomes if o.error is not None), None)


def read_dvc_file(path: str | None) -> bytes:
    """The DVC file named with --dvc, read here: the daemon may be on another machine."""
    if path is None:
        return b""
    source = Path(path).expanduser()
    try:
        with open(source, "rb") as handle:
            content = handle.read(MAX_DVC_BYTES + 1)
    except OSError as error:
        raise StudbookError("INVALID_ARGUMENT", "PATH_NOT_FOUND", f"--dvc {path}: {error.strerror}") from None
    if len(content) > MAX_DVC_BYTES:
        raise StudbookError("INVALID_ARGUMENT", "FILE_TOO_LARGE",
                            f"--dvc {path} is larger than {MAX_DVC_BYTES} bytes: name a dvc.lock or .dvc file")  # fmt: skip
    return content


def register_files(
    ctx: Context,
    request: registry_pb2.RegisterModelVersionRequest,
    listed: list[LocalFile],
    label: str,
) -> registry_pb2.RegisterModelVersionResponse:
    """Uploads `listed` (what the artifact store holds already is skipped) and registers them."""
    from studbook.cli.output import ProgressLine
    from studbook.client import calls

    with ProgressLine(f"uploading {label}", sum(f.size for f in listed)) as progress:
        ctx.client.upload_files(listed, progress.advance)
    return ctx.client.register_version(calls.with_uploaded_files(request, [f.declared() for f in listed]))


def plan(ctx: Context, model: str, listed: list[LocalFile], source: str) -> Planned:
    """What importing `listed` into `model` would do, asking the daemon only to read: files whose
    content a version of the model holds already would come back as that version."""
    digest = content_digest(listed)
    page = ctx.client.list_versions(filter=f'model = "{model}" AND content_digest = "{digest}"', page_size=1,
                                    show_archived=True, summary_only=True)  # fmt: skip
    existing = page.versions[0].name if page.versions else ""
    return Planned(source, model, len(listed), sum(f.size for f in listed), existing)


def plan_each(report: Report, source: str, work: Callable[[], Planned]) -> None:
    """Adds one dry-run finding; a source that would be refused (a link leaving the folder, an
    unreadable file) is named with why, and the others are still looked at."""
    assert report.planned is not None
    try:
        report.planned.append(work())
    except StudbookError as error:
        if error.code in ("UNAVAILABLE", "UNAUTHENTICATED", "PERMISSION_DENIED"):
            raise
        report.skipped.append((source, f"would be refused: {error.message} [{error.reason}]"))


def content_digest(listed: list[LocalFile]) -> str:
    """The content digest the daemon gives a version of these files (daemon/artifacts.py's rule:
    sha256 over `path NUL sha256 LF` per file, NFC paths in code-point order)."""
    lines = {unicodedata.normalize("NFC", f.rel): f.sha256.lower() for f in listed}
    hasher = hashlib.sha256()
    for key in sorted(lines):
        hasher.update(f"{key}\0{lines[key]}\n".encode("utf-8", "surrogateescape"))
    return hasher.hexdigest()


def each(report: Report, source: str, work: Callable[[], registry_pb2.RegisterModelVersionResponse]) -> None:
    """Runs one import, recording its result or the daemon's refusal; an unreachable daemon stops all."""
    try:
        report.outcomes.append(Outcome(source, version=work()))
    except StudbookError as error:
        if error.code in ("UNAVAILABLE", "UNAUTHENTICATED", "PERMISSION_DENIED"):
            raise
        report.outcomes.append(Outcome(source, error=error))
