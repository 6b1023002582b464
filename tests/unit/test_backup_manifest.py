"""A backup's manifest: written in full, read back the same, and refused with the reason when wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from studbook.daemon.domain.backup import LostBlob, Manifest, catalog_name, is_backup_entry
from studbook.daemon.domain.errors import InvalidArgument

MANIFEST = Manifest(
    created=datetime(2026, 3, 1, 12, tzinfo=UTC), schema_version=5, revision=42, chain_head="c" * 64,
    versions=7, catalog=catalog_name(42, "0123abcd"), catalog_size=1000, catalog_sha256="a" * 64, blob_count=3,
    blob_bytes=300, source_store="file:///data/blobs", lost_blobs=(LostBlob("b" * 64, 10),),
)  # fmt: skip


def test_a_manifest_reads_back_as_written() -> None:
    assert Manifest.parse(MANIFEST.to_json().encode(), "bk") == MANIFEST


@pytest.mark.parametrize(
    "change",
    [
        {"format": "something-else"},
        {"format_version": 2},
        {"revision": -1},
        {"catalog": {"name": "../../etc/passwd", "size": 1, "sha256": "a" * 64}},
        {"lost_blobs": [{"sha256": "not-a-hash", "size": 1}]},
    ],
)
def test_a_manifest_that_is_not_ours_or_is_damaged_is_refused(change: dict[str, object]) -> None:
    document = {**json.loads(MANIFEST.to_json()), **change}

    with pytest.raises(InvalidArgument) as refused:
        Manifest.parse(json.dumps(document).encode(), "bk")

    assert refused.value.reason == "BACKUP_INVALID"


def test_only_what_a_backup_writes_counts_as_part_of_one() -> None:
    assert all(
        map(is_backup_entry, ["manifest.json", "blobs", "catalog-42-0123abcd.duckdb", ".manifest.json.ab12.part"])
    )
    assert not any(map(is_backup_entry, ["thesis.tex", "catalog.duckdb", "blobs.bak"]))
