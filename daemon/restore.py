"""`python -m studbook.daemon.restore SRC --data-dir DIR`: what `studbook restore` runs, offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studbook.daemon.app.restore import RestoreReport, restore
from studbook.daemon.offline import run_offline


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studbook restore",
                                description="Rebuild a data dir from a backup and check it; no daemon may serve it.")  # fmt: skip
    p.add_argument("src", metavar="SRC", help="the backup: a folder, or s3://bucket/prefix (AWS_* settings)")
    p.add_argument("--data-dir", type=Path, required=True, metavar="DIR", help="a new or empty folder")
    p.add_argument("--artifact-store", default="", metavar="URL",
                   help="where the stored files go instead of DIR/blobs: file:///path or s3://bucket/prefix")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_offline(lambda say: restore(args.src, args.data_dir, artifact_store=args.artifact_store, say=say),
                       as_json=args.json, data=_data, text=_text)  # fmt: skip


def _data(report: RestoreReport) -> dict[str, object]:
    manifest = report.manifest
    return {"source": report.source, "data_dir": str(report.data_dir), "artifact_store": report.artifact_store,
            "revision": manifest.revision, "chain_head": manifest.chain_head, "versions": manifest.versions,
            "audit_records_checked": report.chain_checked, "blobs": manifest.blob_count,
            "blob_bytes": manifest.blob_bytes, "copied_blobs": report.copied_blobs,
            "copied_bytes": report.copied_bytes, "present_blobs": report.present_blobs,
            "lost_blobs": [b.sha256 for b in manifest.lost_blobs], "backup_time": manifest.created.isoformat()}  # fmt: skip


def _text(report: RestoreReport) -> str:
    manifest = report.manifest
    store = (
        ""
        if report.artifact_store == (report.data_dir / "blobs").as_uri()
        else f" --artifact-store {report.artifact_store}"
    )
    lines = [
        f"restored revision {manifest.revision} ({manifest.versions} versions) from {report.source} into {report.data_dir}",
        f"audit chain intact: {report.chain_checked} records, head {manifest.chain_head}",
        f"stored files: {manifest.blob_count}, each checked by its sha256 ({report.copied_blobs} copied, "
        f"{report.present_blobs} already in {report.artifact_store})",
    ]
    if manifest.lost_blobs:
        lines.append(
            f"{len(manifest.lost_blobs)} stored file(s) were lost before the backup; their versions are corrupt"
        )
    lines.append(f"start it with: studbook serve --data-dir {report.data_dir}{store}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
