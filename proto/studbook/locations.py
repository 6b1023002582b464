"""Where studbook keeps its socket, data and settings (XDG base directories), for daemon and clients."""

from __future__ import annotations

import os
from pathlib import Path

ADDRESS_ENV = "STUDBOOK_ADDRESS"


def _xdg(variable: str, default: Path) -> Path:
    # The XDG spec says relative values are invalid and must be ignored.
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else default


def runtime_dir() -> Path:
    """`$XDG_RUNTIME_DIR/studbook`, or `/tmp/studbook-$UID` where there is no runtime dir."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(base):
        return Path(base) / "studbook"
    return Path("/tmp") / f"studbook-{os.getuid()}"


def default_socket_path() -> Path:
    return runtime_dir() / "studbook.sock"


def data_dir() -> Path:
    """`$XDG_DATA_HOME/studbook`, by default `~/.local/share/studbook`: the catalog lives here."""
    return _xdg("XDG_DATA_HOME", Path.home() / ".local" / "share") / "studbook"


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/studbook`, by default `~/.config/studbook`."""
    return _xdg("XDG_CONFIG_HOME", Path.home() / ".config") / "studbook"


def default_address() -> str:
    """The gRPC target clients use: `$STUDBOOK_ADDRESS`, else the default unix socket."""
    return os.environ.get(ADDRESS_ENV) or f"unix://{default_socket_path()}"
