"""A backup's manifest: what it holds, written last so that only a finished backup has one. No I/O.

A backup is a folder (or an S3 prefix) holding `manifest.json`, the catalog as of one
revision (`catalog-<revision>-<id>.duckdb`) and a content-addressed blob store under `blobs/`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from studbook.daemon.domain.errors import InvalidArgument

FORMAT = "studbook-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
BLOBS_FOLDER = "blobs"
_CATALOG_NAME = re.compile(r"catalog-[0-9]{1,19}-[0-9a-f]{8}\.duckdb")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def catalog_name(revision: int, unique: str) -> str:
    """The catalog's file name in a backup: a new name each time (`unique`: 8 hex digits), so a
    backup being written never overwrites the catalog that the manifest in place describes."""
    return f"catalog-{revision}-{unique}.duckdb"


def is_backup_entry(name: str) -> bool:
    """Whether a name at the top of a folder is one a backup writes (a finished or an interrupted one)."""
    return (name in (MANIFEST_NAME, BLOBS_FOLDER) or bool(_CATALOG_NAME.fullmatch(name))
            or (name.startswith(".") and name.endswith(".part")))  # fmt: skip


@dataclass(frozen=True)
class LostBlob:
    """A blob the backup could not copy because its stored bytes were already known bad:
    every version referring to it was marked corrupt before the backup."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    created: datetime
    # The studbook catalog schema version of the catalog file.
    schema_version: int
    # The catalog is as of this revision; its audit chain ends in `chain_head`.
    revision: int
    chain_head: str
    versions: int
    catalog: str
    catalog_size: int
    catalog_sha256: str
    blob_count: int
    blob_bytes: int
    # Where the blobs came from, for people.
    source_store: str = ""
    lost_blobs: tuple[LostBlob, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": self.created.isoformat(),
            "schema_version": self.schema_version,
            "revision": self.revision,
            "chain_head": self.chain_head,
            "versions": self.versions,
            "catalog": {"name": self.catalog, "size": self.catalog_size, "sha256": self.catalog_sha256},
            "blobs": {"count": self.blob_count, "bytes": self.blob_bytes},
            "lost_blobs": [{"sha256": b.sha256, "size": b.size} for b in self.lost_blobs],
            "source": {"artifact_store": self.source_store},
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def parse(cls, text: bytes, where: str) -> Manifest:
        """The manifest in `text`; InvalidArgument (BACKUP_INVALID) naming what is wrong."""
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise ValueError(f"it is not a {FORMAT} manifest")
            if document.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format_version {document.get('format_version')!r} is not {FORMAT_VERSION}")
            catalog, blobs = _table(document, "catalog"), _table(document, "blobs")
            manifest = cls(
                created=datetime.fromisoformat(_text(document, "created")),
                schema_version=_count(document, "schema_version"),
                revision=_count(document, "revision"),
                chain_head=_text(document, "chain_head"),
                versions=_count(document, "versions"),
                catalog=_text(catalog, "name"),
                catalog_size=_count(catalog, "size"),
                catalog_sha256=_text(catalog, "sha256"),
                blob_count=_count(blobs, "count"),
                blob_bytes=_count(blobs, "bytes"),
                source_store=str(_table(document, "source").get("artifact_store", "")),
                lost_blobs=tuple(LostBlob(_text(b, "sha256"), _count(b, "size")) for b in _list(document, "lost_blobs")),
            )  # fmt: skip
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidArgument(f"the manifest of the backup {where} cannot be read: {exc}",
                                  reason="BACKUP_INVALID", backup=where) from None  # fmt: skip
        if not _CATALOG_NAME.fullmatch(manifest.catalog) or not _SHA256.fullmatch(manifest.catalog_sha256):
            raise InvalidArgument(f"the manifest of the backup {where} names no valid catalog file",
                                  reason="BACKUP_INVALID", backup=where)  # fmt: skip
        if any(not _SHA256.fullmatch(b.sha256) for b in manifest.lost_blobs):
            raise InvalidArgument(f"the manifest of the backup {where} lists a lost blob that is no sha256",
                                  reason="BACKUP_INVALID", backup=where)  # fmt: skip
        return manifest


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object")
    return value


def _list(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"{key} must be a list of objects")
    return value


def _text(document: dict[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _count(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a whole number")
    return value
