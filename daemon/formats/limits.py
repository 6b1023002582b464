"""Limits: the bounds every format reader respects, so hostile input fails fast and small."""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what a reader may read, allocate or iterate.

    Defaults accept every real model we know of (the safetensors bound is the reference
    implementation's own) while keeping one inspection within a few hundred MB of memory
    and seconds of CPU.
    """

    # Bytes read to recognise a format.
    sniff_bytes: int = 4 * KIB
    # safetensors: the JSON header. Real headers are a few MB at most (about 100 bytes per
    # tensor); the reference reader's own bound is 100 MB, looser than needed.
    max_header_bytes: int = 16 * MIB
    # Tensors declared by one file (safetensors header, GGUF tensor infos).
    max_tensors: int = 1_000_000
    # Dimensions of one tensor.
    max_rank: int = 64
    # Entries listed in metadata (tensors, zip members, globals); the counts stay exact.
    max_listed: int = 256
    # GGUF: key/value pairs, one string, one array, and array elements read in total.
    max_kv_count: int = 16_384
    max_string_bytes: int = 64 * MIB
    max_array_length: int = 16_000_000
    max_array_items_total: int = 32_000_000
    # GGUF: bytes of header (key/values and tensor infos) before the tensor data. A 256k
    # vocabulary with scores, types and merges is about 10 MB.
    max_gguf_header_bytes: int = 64 * MIB
    # Zip archives (PyTorch, Keras): entries, central directory, per-entry ratio.
    max_zip_entries: int = 65_536
    max_zip_directory_bytes: int = 32 * MIB
    max_zip_ratio: float = 200.0
    # Entries smaller than this are not judged by ratio: small text compresses well.
    zip_ratio_min_bytes: int = 1 * MIB
    # Pickle: opcode bytes actually read, opcodes executed by the scan, and payload
    # bytes skipped unread (array data, large byte strings) after decompression.
    max_pickle_bytes: int = 64 * MIB
    max_pickle_ops: int = 2_000_000
    max_pickle_payload_bytes: int = 8 * GIB
    # Pickle arguments longer than this are skipped, not read into memory.
    max_pickle_argument_bytes: int = 1 * MIB
    # Pickle streams scanned back to back in one file (legacy torch.save writes five).
    max_pickle_streams: int = 8
    # Protobuf (ONNX, SavedModel): file size, fields visited, message nesting.
    max_protobuf_bytes: int = 2 * GIB
    max_protobuf_fields: int = 5_000_000
    max_depth: int = 64
    # HDF5: bytes scanned from the start for Keras's root attributes.
    max_hdf5_scan_bytes: int = 1 * MIB
    # JSON documents read whole (config.json, Keras config, MLflow signature).
    max_json_bytes: int = 16 * MIB
    # Text documents read whole (README.md, MLmodel, requirements.txt, *.yaml).
    max_text_bytes: int = 1 * MIB
    # Lines or items taken from one text document.
    max_text_items: int = 10_000


DEFAULT_LIMITS = Limits()
