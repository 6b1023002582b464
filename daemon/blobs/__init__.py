"""The artifact store: every registered file's bytes, kept once per sha256, never modified."""

from studbook.daemon.blobs.store import BlobMissing, BlobStore, blob_key, blob_matches, open_store

__all__ = ["BlobMissing", "BlobStore", "blob_key", "blob_matches", "open_store"]
