"""The S3 artifact store next to obstore's own put and get of the same bytes on the same server.

The server is moto (tests/support/s3.py) on loopback, so the figures weigh the store's own
work (conditional put, HEAD before a multipart upload, windowed reads in 1 MiB chunks) against
the plainest obstore calls; neither is a figure for AWS. `python -m tests.bench.blobs` runs it alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.timing import percentiles, timed

MiB = 1 << 20
# (label, size, repetitions): few repetitions, the 64 MiB ones cost about a second each on moto.
SIZES = (("1 KiB", 1024, 40), ("64 MiB", 64 * MiB, 4))


def bench_blobs(workdir: Path) -> dict[str, Any]:
    """p50 milliseconds of S3BlobStore.put/read and of obstore.put/get (the floor) per size, measured
    alternately on one moto server; the staged file of each put is written before its clock starts.
    The floor's get streams in the chunk size the store reads with, so the ratio is the store's own cost."""
    import obstore
    from obstore.store import S3Store
    from studbook.daemon.blobs.s3 import S3BlobStore
    from studbook.daemon.blobs.store import READ_CHUNK

    from tests.support.s3 import start_moto, stop_moto

    folder = Path(workdir) / "blobs-bench"
    server = start_moto(folder / "moto")
    try:
        bucket = server.create_bucket()
        store = S3BlobStore(bucket.url("bench"), staging=folder / "staging", environ=bucket.env)
        store.check()
        raw = S3Store(bucket.name, prefix="floor", config={"endpoint": server.endpoint, "region": "us-east-1",
                      "access_key_id": "bench", "secret_access_key": "bench"}, client_options={"allow_http": True})  # fmt: skip
        floor_file = folder / "floor.bin"
        figures: dict[str, Any] = {"server": f"moto on {server.endpoint}"}
        for label, size, repetitions in SIZES:
            samples: dict[str, list[float]] = {"put": [], "put_floor": [], "get": [], "get_floor": []}
            base = bytearray(os.urandom(size))
            for rep in range(repetitions):
                base[:8] = rep.to_bytes(8, "big")  # new bytes each time: a put of known bytes does nothing
                data = bytes(base)
                digest = hashlib.sha256(data).hexdigest()
                staged = store.staging / "bench.part"
                staged.write_bytes(data)
                floor_file.write_bytes(data)
                samples["put"] += timed(lambda: store.put(digest, staged), 1)
                samples["put_floor"] += timed(lambda: obstore.put(raw, f"{rep}", floor_file), 1)
                samples["get"] += timed(lambda: _drain(store.read(digest)), 1)
                samples["get_floor"] += timed(lambda: _drain(obstore.get(raw, f"{rep}").stream(READ_CHUNK // 2)), 1)
                store.delete(digest)  # moto keeps objects in memory
                obstore.delete(raw, f"{rep}")
            figures[label] = {"bytes": size, "repetitions": repetitions,
                              **{name: percentiles(values)[0] for name, values in samples.items()}}  # fmt: skip
        return figures
    finally:
        stop_moto(server)
        shutil.rmtree(folder, ignore_errors=True)


def print_blobs(figures: dict[str, Any]) -> None:
    """Prints p50s, the ratio to obstore's own call and, for big blobs, the throughput."""
    print(f"artifact store on S3 ({figures['server']}), S3BlobStore next to obstore's own call (floor)")
    for label, _, _ in SIZES:
        size = figures[label]
        for op, what in (("put", "put"), ("get", "read")):
            ours, floor = size[op], size[f"{op}_floor"]
            rate = f"   {size['bytes'] / ours / 1e3:5.0f} MB/s" if size["bytes"] >= MiB else ""
            print(f"  {f'obstore.{op} {label} (floor)':<44} p50 {floor:7.2f} ms")
            print(f"  {f'S3BlobStore.{what} {label}':<44} p50 {ours:7.2f} ms   ({ours / floor:4.2f}x floor){rate}")
    runs = ", ".join(f"{label}: {figures[label]['repetitions']} runs" for label, _, _ in SIZES)
    print(f"  ({runs})")


def _drain(chunks: Any) -> None:
    for _ in chunks:
        pass


if __name__ == "__main__":
    root = Path(tempfile.mkdtemp(prefix="sb-bench-blobs-"))
    try:
        print_blobs(bench_blobs(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(0)
