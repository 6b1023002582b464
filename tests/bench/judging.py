"""Judging a drop: reading a big model's headers (inspect_file / inspect_folder) next to
sha256 of the same bytes, how many bytes judging reads, and the whole drop-in registration.

The files are built byte by byte (no model libraries): a 1,000-tensor safetensors model of
a few hundred MB in a Hugging Face folder, and a 2 GiB GGUF with a 32,000-token vocabulary.
Their data regions hold real bytes, so hashing reads what a real model would make it read.
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from studbook.daemon.formats import inspect_file, inspect_folder
from studbook.v1 import registry_pb2_grpc

from tests.bench.hashing import _hashlib_digest
from tests.bench.timing import percentiles, timed, until_visible
from tests.conftest import start_daemon, stop_daemon

MiB = 1 << 20
MODEL = "judgebench"
SAFETENSORS_TENSORS = 1_000
SAFETENSORS_SHAPE = (384, 384)  # F16: 288 KiB a tensor, 281 MiB in all
GGUF_BLOCKS = 120  # Q8_0 [4096, 4096] tensors of 17 MiB: 2.0 GiB in all
GGUF_SHAPE = (4096, 4096)
GGUF_VOCABULARY = 32_000
Q8_0, F32 = 8, 0
GGUF_STRING, GGUF_UINT32, GGUF_ARRAY = 8, 4, 9


def bench_judging(tmpdir: Path, *, samples: int = 20, drops: int = 3) -> dict[str, dict[str, float]]:
    """For each model: p50 ms of inspect_file and inspect_folder (`samples` calls, page cache
    warm), best ms of a plain sha256 of the same file, bytes each read (from /proc/self/io
    rchar), and p50 ms from the rename of the version folder into a watched root until
    GetModelVersion finds it (`drops` drops of fresh bytes; 1 for the GGUF).
    """
    work = tmpdir / "judging-bench"
    root, staging = work / "root", work / "staging"
    (root / MODEL).mkdir(parents=True)
    staging.mkdir()
    daemon = start_daemon(work / "data", work / "judging.sock", "--watch", str(root), "--log-level", "WARNING")
    figures: dict[str, dict[str, float]] = {}
    number = 0
    try:
        with daemon.channel() as channel:
            versions = registry_pb2_grpc.VersionServiceStub(channel)
            for label, build, count in (("safetensors", _safetensors_folder, drops), ("gguf", _gguf_folder, 1)):
                registrations: list[float] = []
                for drop in range(count):
                    number += 1
                    folder = staging / str(number)
                    model = build(folder, salt=number)
                    if drop == 0:
                        figures[label] = _judge(folder, model, samples)
                    started = time.perf_counter()
                    os.rename(folder, root / MODEL / str(number))
                    registrations.append(
                        until_visible(versions, f"models/{MODEL}/versions/{number}", 300.0, pause=0.005) - started
                    )
                figures[label]["register_p50_ms"] = percentiles(registrations)[0]
                figures[label]["drops"] = float(count)
    finally:
        stop_daemon(daemon)
    return figures


def _judge(folder: Path, model: Path, samples: int) -> dict[str, float]:
    files = [p.relative_to(folder) for p in folder.iterdir()]
    hashed = _bytes_read(lambda: _hashlib_digest(model))  # also warms the page cache
    file_read = _bytes_read(lambda: inspect_file(model))
    folder_read = _bytes_read(lambda: inspect_folder(folder, files))
    info = inspect_file(model)
    best_hash = min(timed(lambda: _hashlib_digest(model), 3))
    return {
        "file_bytes": float(model.stat().st_size),
        "tensors": float(info.metadata["tensor_count"]),
        "parameters": float(info.parameter_count or 0),
        "inspect_file_p50_ms": percentiles(timed(lambda: inspect_file(model), samples))[0],
        "inspect_folder_p50_ms": percentiles(timed(lambda: inspect_folder(folder, files), samples))[0],
        "sha256_ms": best_hash * 1000,
        "inspect_file_read_bytes": float(file_read),
        "inspect_folder_read_bytes": float(folder_read),
        "sha256_read_bytes": float(hashed),
    }


def _bytes_read(call: Callable[[], object]) -> int:
    """Bytes this process read through read(2) and friends during `call` (rchar delta)."""
    before = _rchar()
    call()
    return _rchar() - before


def _rchar() -> int:
    with open("/proc/self/io", encoding="ascii") as io:
        for line in io:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no rchar")


# --- byte builders -------------------------------------------------------------------------


def _write(path: Path, header: bytes, data_bytes: int, salt: int) -> None:
    """`header` then `data_bytes` of random bytes, the first 8 of them the salt, so every
    drop is new content (nothing deduplicated away)."""
    block = bytearray(os.urandom(MiB))
    block[:8] = salt.to_bytes(8, "little")
    with open(path, "wb") as out:
        out.write(header)
        remaining = data_bytes
        while remaining > 0:
            chunk = memoryview(block)[: min(MiB, remaining)]
            out.write(chunk)
            remaining -= len(chunk)


def _safetensors_folder(folder: Path, *, salt: int) -> Path:
    """A Hugging Face folder: config.json and a 1,000-tensor F16 model.safetensors."""
    folder.mkdir(parents=True)
    rows, cols = SAFETENSORS_SHAPE
    size = rows * cols * 2
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    for index in range(SAFETENSORS_TENSORS):
        header[f"model.layers.{index // 10}.mlp.proj_{index % 10}.weight"] = {
            "dtype": "F16", "shape": [rows, cols], "data_offsets": [index * size, (index + 1) * size],
        }  # fmt: skip
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the safetensors writer pads the header to 8 bytes
    path = folder / "model.safetensors"
    _write(path, struct.pack("<Q", len(raw)) + raw, SAFETENSORS_TENSORS * size, salt)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "float16",
              "transformers_version": "4.46.0", "num_hidden_layers": SAFETENSORS_TENSORS // 10}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    return path


def _gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _gguf_kv() -> Iterator[bytes]:
    yield _gguf_string("general.architecture") + struct.pack("<I", GGUF_STRING) + _gguf_string("llama")
    yield _gguf_string("general.name") + struct.pack("<I", GGUF_STRING) + _gguf_string("bench-2g")
    yield _gguf_string("llama.context_length") + struct.pack("<II", GGUF_UINT32, 8192)
    yield _gguf_string("general.file_type") + struct.pack("<II", GGUF_UINT32, 7)  # MOSTLY_Q8_0
    tokens = b"".join(_gguf_string(f"tok{i}") for i in range(GGUF_VOCABULARY))
    yield (_gguf_string("tokenizer.ggml.tokens") + struct.pack("<I", GGUF_ARRAY)
           + struct.pack("<IQ", GGUF_STRING, GGUF_VOCABULARY) + tokens)  # fmt: skip


def _gguf_folder(folder: Path, *, salt: int) -> Path:
    """A folder holding one GGUF v3 of about 2 GiB: Q8_0 weight matrices and an F32 norm."""
    folder.mkdir(parents=True)
    rows, cols = GGUF_SHAPE
    q8_bytes = rows * cols // 32 * 34  # a Q8_0 block: 32 weights in 34 bytes
    tensors: list[tuple[str, list[int], int, int]] = []
    offset = 0
    for index in range(GGUF_BLOCKS):
        tensors.append((f"blk.{index}.ffn.weight", [cols, rows], Q8_0, offset))
        offset += q8_bytes
    tensors.append(("output_norm.weight", [cols], F32, offset))
    offset += cols * 4
    kv = list(_gguf_kv())
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv)
    for name, dims, ggml_type, start in tensors:
        header += _gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        header += struct.pack("<IQ", ggml_type, start)
    header += b"\0" * (-len(header) % 32)
    path = folder / "model.gguf"
    _write(path, header, offset, salt)
    return path


# --- printing ------------------------------------------------------------------------------


def print_judging(figures: dict[str, dict[str, float]]) -> None:
    for label, f in figures.items():
        size = f["file_bytes"]
        print(f"\njudging a {label} drop: {size / 2**20:,.0f} MiB, {f['tensors']:,.0f} tensors, "
              f"{f['parameters']:,.0f} parameters")  # fmt: skip
        print(f"  {'sha256 of the same bytes (floor)':<44} {f['sha256_ms']:9.1f} ms   "
              f"read {f['sha256_read_bytes'] / 2**20:9.1f} MiB")  # fmt: skip
        for name, key in (("inspect_file", "inspect_file"), ("inspect_folder", "inspect_folder")):
            ms, read = f[f"{key}_p50_ms"], f[f"{key}_read_bytes"]
            print(f"  {name + ' (p50)':<44} {ms:9.3f} ms   read {read / 2**10:9.1f} KiB "
                  f"({read / size:.5%} of the file; {ms / f['sha256_ms']:.4f}x sha256)")  # fmt: skip
        print(f"  {'drop -> GetModelVersion finds it (p50)':<44} {f['register_p50_ms']:9.1f} ms   "
              f"({f['register_p50_ms'] / f['sha256_ms']:.2f}x sha256; {f['drops']:.0f} drops: "
              "settle, hash, keep a copy, judge, commit)")  # fmt: skip


if __name__ == "__main__":
    import shutil
    import sys
    import tempfile

    place = Path(tempfile.mkdtemp(prefix="sb-judging-"))
    try:
        print_judging(bench_judging(place))
    finally:
        shutil.rmtree(place, ignore_errors=True)
    sys.exit(0)
