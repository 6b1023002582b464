"""Format detection by content: the first bytes (and the last one) of a file, never its name.

The name is only a claim to check: a `.gguf` whose bytes are not GGUF is refused, and a
`.safetensors` that is really a pickle is flagged.
"""

from __future__ import annotations

from pathlib import Path

from studbook.daemon.formats import gguf, onnx, pickle_scan, safetensors, savedmodel, zipsafe
from studbook.daemon.formats.pickle_stream import compression_of

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"

# What a file's extension claims, and the detected formats that honour the claim.
CLAIMS: dict[str, frozenset[str]] = {
    ".safetensors": frozenset({"safetensors"}),
    ".gguf": frozenset({"gguf"}),
    ".onnx": frozenset({"onnx"}),
    ".keras": frozenset({"keras"}),
    ".pt": frozenset({"pytorch", "pickle"}),
    ".pth": frozenset({"pytorch", "pickle"}),
    ".ckpt": frozenset({"pytorch", "pickle"}),
    ".pkl": frozenset({"pickle", "joblib", "pytorch"}),
    ".pickle": frozenset({"pickle", "joblib", "pytorch"}),
    ".joblib": frozenset({"joblib", "pickle"}),
    # Keras 2 saved whole models as HDF5; those are read as keras (container hdf5).
    ".h5": frozenset({"hdf5", "keras"}),
    ".hdf5": frozenset({"hdf5", "keras"}),
    ".npy": frozenset({"npy"}),
    ".npz": frozenset({"npz", "zip"}),
}

# Extensions that name model weights: such a file must not be empty. Beyond CLAIMS these
# are names many formats share, so their content is not checked against them.
MODEL_EXTENSIONS = frozenset(CLAIMS) | {".bin", ".pb", ".tflite", ".msgpack", ".mlmodel"}

# Git LFS leaves this text in place of the file when its content was never fetched.
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


def read_head(path: Path, sniff_bytes: int) -> tuple[bytes, bytes, int]:
    """(first `sniff_bytes` bytes, last byte, size) of a file."""
    with open(path, "rb") as fileobj:
        head = fileobj.read(sniff_bytes)
        size = fileobj.seek(0, 2)
        last = b""
        if size:
            fileobj.seek(size - 1)
            last = fileobj.read(1)
    return head, last, size


def sniff(head: bytes, last: bytes = b"") -> str:
    """The container kind: safetensors, gguf, zip, hdf5, npy, pickle, compressed, onnx,
    savedmodel or unknown. `last` is the file's final byte (a pickle ends with STOP)."""
    if gguf.looks_like(head):
        return "gguf"
    if zipsafe.looks_like(head):
        return "zip"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if safetensors.looks_like(head):
        return "safetensors"
    if pickle_scan.looks_like(head) and (head[:1] == b"\x80" or last == b"."):
        return "pickle"
    if onnx.looks_like(head):
        return "onnx"
    if savedmodel.looks_like(head):
        return "savedmodel"
    if compression_of(head) is not None:
        # Possibly a compressed joblib pickle: the scanner decompresses its start to tell.
        return "compressed"
    return "unknown"
