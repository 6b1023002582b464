"""The committed generated code matches the .proto files (run `make proto` when this fails)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    protos = sorted((PROTO_DIR / "studbook" / "v1").glob("*.proto"))
    subprocess.run(
        # The installed packages hold google/rpc/status.proto, as in the Makefile.
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}", f"-I{sysconfig.get_paths()['purelib']}",
         f"--python_out={tmp_path}",
         f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}", *map(str, protos)],
        check=True,
    )  # fmt: skip

    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.py*"))
    stale = [str(p) for p in generated if (PROTO_DIR / p).read_bytes() != (tmp_path / p).read_bytes()]
    committed = sorted(p.relative_to(PROTO_DIR) for p in (PROTO_DIR / "studbook" / "v1").glob("*_pb2*.py*"))

    assert generated, "protoc produced nothing"
    assert not stale, f"stale generated code, run `make proto`: {stale}"
    assert committed == generated, "generated files without a .proto (or the reverse)"
    shutil.rmtree(tmp_path)
