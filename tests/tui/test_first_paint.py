"""The models screen paints before anything it does not need is loaded: grpc, the generated
client, the other screens (charts, markdown, diff, dialogs) come after the first frame."""

from __future__ import annotations

import json
import subprocess
import sys

# What `studbook` imports before its first frame: the command line, the app and its first screen.
FIRST_FRAME = """
import json, sys
import studbook.cli.commands
from studbook.tui.app import StudbookApp
import studbook.tui.screens.models
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_before_first_frame() -> set[str]:
    # A fresh interpreter: this test process has long imported everything.
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_no_grpc_and_no_generated_client_before_the_first_frame() -> None:
    loaded = _loaded_before_first_frame()
    assert {m for m in loaded if m == "grpc" or m.startswith(("grpc.", "grpc_"))} == set()
    assert "studbook.client.clients" not in loaded
    assert "studbook.client.environment" not in loaded  # package metadata: only for registering


def test_only_the_models_screen_is_loaded_before_the_first_frame() -> None:
    screens = {m for m in _loaded_before_first_frame() if m.startswith("studbook.tui.screens.")}
    assert screens == {"studbook.tui.screens.base", "studbook.tui.screens.models"}
