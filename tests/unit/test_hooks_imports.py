"""Webhooks cost nothing at start-up: aiohttp is loaded only once a hook exists."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_only_the_delivery_module_of_the_use_cases_imports_aiohttp() -> None:
    users = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "daemon" / "app").rglob("*.py")
                   if any(name.split(".")[0] == "aiohttp" for name in imports_of(p)))  # fmt: skip
    assert users == ["daemon/app/delivery.py"]


def test_a_registry_without_hooks_never_loads_aiohttp(tmp_path: Path) -> None:
    probe = (
        "import asyncio, sys; from pathlib import Path; import studbook.daemon.server; "
        "from studbook.daemon.app.registry import Registry; "
        "from studbook.daemon.service.convert import encode_payload\n"
        "async def main():\n"
        f"    registry = Registry(Path({str(tmp_path / 'catalog.duckdb')!r}), encode_payload)\n"
        "    registry.start(); await registry.hooks.stop(); registry.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'aiohttp'))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
