"""The layers stay apart: checked statically over every import, function-level ones included."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# folder -> module prefixes its code must never import, and why.
RULES = {
    "daemon/domain": (("grpc", "duckdb", "watchdog", "studbook.v1", "studbook.daemon.store",
                       "studbook.daemon.app", "studbook.daemon.service"), "the domain is plain rules, no I/O"),
    "daemon/store": (("grpc", "studbook.v1", "studbook.daemon.app", "studbook.daemon.service"),
                     "the store knows DuckDB, not the API"),
    "daemon/app": (("grpc", "studbook.v1", "duckdb", "studbook.daemon.service"),
                   "use cases never see gRPC, and SQL stays in the store"),
    "daemon/service": (("duckdb",), "servicers translate; SQL stays in the store"),
    "daemon/formats": (("grpc", "duckdb", "studbook.v1", "pickle", "torch", "joblib", "keras", "tensorflow"),
                       "readers never load a model or talk to the store"),
    "daemon/blobs": (("grpc", "duckdb", "studbook.v1", "studbook.daemon.store", "studbook.daemon.app",
                      "studbook.daemon.service"), "the artifact store keeps bytes; it knows neither API nor catalog"),
    "daemon/watch": (("grpc", "duckdb", "studbook.v1", "studbook.daemon.store", "studbook.daemon.service"),
                     "the watcher is one more client of the use cases"),
    "daemon/mlflow": (("grpc", "duckdb", "studbook.v1", "studbook.daemon.store", "studbook.daemon.service"),
                      "the MLflow endpoint translates HTTP to the use cases, as the servicers translate gRPC"),
    "tui": (("duckdb", "watchdog", "studbook.daemon"), "the UI and clients are gRPC clients only"),
    "tui/client": (("textual", "rich", "studbook.cli", "studbook.tui"),
                   "training scripts import the client; it never pulls in the CLI or the UI"),
    "tui/cli": (("textual",), "the command line starts without Textual; it opens the UI only by a deferred import"),
    "tui/exports": (("textual", "rich", "studbook.cli", "studbook.tui"),
                    "exporters are clients of the daemon; the CLI calls them, never the other way round"),
}  # fmt: skip


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def violations(folder: str) -> list[str]:
    forbidden, _ = RULES[folder]
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in imports_of(path):
            if any(name == prefix or name.startswith(prefix + ".") for prefix in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


@pytest.mark.parametrize("folder", sorted(RULES))
def test_layer_imports_only_what_it_may(folder: str) -> None:
    assert (ROOT / folder).is_dir()
    assert violations(folder) == [], RULES[folder][1]


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from studbook.daemon.store import catalog\n    import grpc.aio\n")

    assert imports_of(module) == ["studbook.daemon.store", "studbook.daemon.store.catalog", "grpc.aio"]


def test_only_the_store_writes_sql() -> None:
    """DuckDB connections are opened in the store alone."""
    users = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "daemon").rglob("*.py")
        if "duckdb" in imports_of(p) and "daemon/store" not in str(p)
    )
    assert users == []


def test_only_the_s3_store_imports_obstore() -> None:
    """The daemon pays obstore's import only when an s3:// store is configured."""
    users = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "daemon").rglob("*.py")
                   if any(name == "obstore" or name.startswith("obstore.") for name in imports_of(p)))  # fmt: skip
    assert users == ["daemon/blobs/s3.py"]


def test_a_daemon_with_a_local_store_never_loads_obstore(tmp_path: Path) -> None:
    probe = (
        "import sys; from pathlib import Path; import studbook.daemon.server; "
        "from studbook.daemon.blobs import open_store; "
        f"open_store('', Path({str(tmp_path)!r})); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'obstore'))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"


def test_only_the_postgresql_store_imports_psycopg() -> None:
    """The daemon pays psycopg's import only when a postgresql:// catalog is configured."""
    users = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "daemon").rglob("*.py")
                   if any(name.split(".")[0] in ("psycopg", "psycopg_pool") for name in imports_of(p)))  # fmt: skip
    assert users and all(user.startswith("daemon/store/postgres/") for user in users)


def test_a_daemon_on_a_duckdb_catalog_never_loads_psycopg(tmp_path: Path) -> None:
    probe = (
        "import sys; from pathlib import Path; import studbook.daemon.server; "
        "from studbook.daemon.store.catalog import Catalog; "
        f"Catalog(Path({str(tmp_path / 'c.duckdb')!r})).close(); "
        "print(sorted(name for name in sys.modules if name.split('.')[0].startswith('psycopg')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"


def test_only_the_mlflow_endpoint_and_webhook_delivery_import_aiohttp() -> None:
    """The daemon pays aiohttp's import only when --mlflow-listen asks for the endpoint or a hook
    exists (its delivery imports it on first use: see the webhook tests)."""
    users = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "daemon").rglob("*.py")
                   if any(name.split(".")[0] == "aiohttp" for name in imports_of(p)))  # fmt: skip
    assert users and all(user.startswith("daemon/mlflow/") or user == "daemon/app/delivery.py" for user in users)


def test_a_daemon_without_the_mlflow_endpoint_never_loads_aiohttp() -> None:
    probe = (
        "import sys; import studbook.daemon.__main__, studbook.daemon.server; "
        "studbook.daemon.server.mlflow_listen_plan(studbook.daemon.config.load([])); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'aiohttp'))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"
