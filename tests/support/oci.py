"""Checking an OCI image layout the way a registry or runtime reading it would: every blob by digest and size."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def read_blob(layout: Path, descriptor: dict[str, Any]) -> bytes:
    """The blob a descriptor names, after checking its digest and size match the bytes."""
    digest = descriptor["digest"]
    assert DIGEST.match(digest), digest
    data = (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
    assert len(data) == descriptor["size"], f"{digest}: size {len(data)} != {descriptor['size']}"
    assert hashlib.sha256(data).hexdigest() == digest.removeprefix("sha256:"), f"{digest}: content differs"
    return data


def check_layout(layout: Path) -> list[dict[str, Any]]:
    """Walks oci-layout -> index.json -> each manifest -> config and layers; returns the manifests.

    Also checks that no blob lies about its name, and that nothing unreferenced is left over."""
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    referenced: set[str] = set()
    manifests = []
    for entry in index["manifests"]:
        assert entry["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        manifest = json.loads(read_blob(layout, entry))
        referenced.add(entry["digest"])
        assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == entry["mediaType"]
        read_blob(layout, manifest["config"])
        referenced.add(manifest["config"]["digest"])
        for layer in manifest["layers"]:
            read_blob(layout, layer)
            referenced.add(layer["digest"])
        manifests.append(manifest)
    stored = {f"sha256:{p.name}" for p in (layout / "blobs" / "sha256").iterdir()}
    assert stored == referenced, f"unreferenced blobs: {stored - referenced}"
    for blob in (layout / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    return manifests


def config_of(layout: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    return json.loads(read_blob(layout, manifest["config"]))
