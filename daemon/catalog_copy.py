"""`python -m studbook.daemon.catalog_copy --from SRC --to DST`: what `studbook catalog copy` runs, offline."""

from __future__ import annotations

import argparse
import sys

from studbook.daemon.app.catalog_copy import CopyReport, copy_catalog
from studbook.daemon.offline import run_offline


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studbook catalog copy",
                                description="Copy a whole registry between a data dir and PostgreSQL, and verify "
                                            "it; no daemon may serve a data dir named.")  # fmt: skip
    p.add_argument("--from", dest="source", required=True, metavar="SRC",
                   help="a data dir (its catalog.duckdb) or postgresql://user@host:port/dbname")  # fmt: skip
    p.add_argument("--to", dest="destination", required=True, metavar="DST",
                   help="a new or empty data dir, or an empty PostgreSQL database")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_offline(lambda say: copy_catalog(args.source, args.destination, say=say),
                       as_json=args.json, data=_data, text=_text)  # fmt: skip


def _data(report: CopyReport) -> dict[str, object]:
    return {"source": report.source, "destination": report.destination,
            "tables": {table: rows for table, rows in report.tables}, "rows": report.rows,
            "revision": report.revision, "chain_head": report.chain_head, "versions": report.versions,
            "blobs": report.blobs, "blob_bytes": report.blob_bytes, "copied_blobs": report.copied_blobs,
            "unavailable_blobs": report.unavailable_blobs, "next_steps": report.next_steps}  # fmt: skip


def _text(report: CopyReport) -> str:
    width = max((len(table) for table, _ in report.tables), default=0)
    lines = [f"copied revision {report.revision} ({report.versions} versions) from {report.source} "
             f"to {report.destination}"]  # fmt: skip
    lines += [f"  {table.ljust(width)}  {rows:>10,}" for table, rows in report.tables]
    lines.append(f"verified: {len(report.tables)} tables, {report.rows:,} rows counted on both sides; audit chain "
                 f"intact, {report.revision} records, head {report.chain_head or '(empty)'}")  # fmt: skip
    lines += report.next_steps
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
