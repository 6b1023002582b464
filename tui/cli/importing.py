"""What every `studbook import SOURCE` of local files shares: upload the files, register them,
and report each outcome; a failure of one model does not stop the others."""

from __future__ import annotations

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
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        from studbook.cli import output

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


def each(report: Report, source: str, work: Callable[[], registry_pb2.RegisterModelVersionResponse]) -> None:
    """Runs one import, recording its result or the daemon's refusal; an unreachable daemon stops all."""
    try:
        report.outcomes.append(Outcome(source, version=work()))
    except StudbookError as error:
        if error.code in ("UNAVAILABLE", "UNAUTHENTICATED", "PERMISSION_DENIED"):
            raise
        report.outcomes.append(Outcome(source, error=error))
