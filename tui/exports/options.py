"""What a user may ask of an export beyond the version, DEST and the format."""

from __future__ import annotations

from dataclasses import dataclass

LAYER_KINDS = ("raw", "tar")


@dataclass(frozen=True)
class ExportOptions:
    image: str | None = None
    """sagemaker/vertex: the serving container image (SageMaker Image, Vertex containerSpec.imageUri)."""
    upload_url: str | None = None
    """sagemaker/vertex: where DEST will be copied (s3://... or gs://...); the files are then written below DEST/model."""
    layers: str = "raw"
    """modelpack: `raw` (each layer is the file itself) or `tar` (one uncompressed tar per file)."""
