"""Writing a studbook.json manifest as bytes, and the error a bad one is refused with."""

from __future__ import annotations

import json

import pytest
from studbook.daemon.watch.manifest import ManifestError, parse_manifest


def manifest(**fields: object) -> bytes:
    return json.dumps(fields, indent=2).encode()


def error_of(data: bytes) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    return caught.value
