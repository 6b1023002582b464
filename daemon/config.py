"""Daemon settings: command-line flags over the config file over defaults."""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from studbook import locations

# Generous but bounded: a registration with a big model card and thousands of metrics fits.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass
class Settings:
    data_dir: Path = field(default_factory=locations.data_dir)
    socket: Path = field(default_factory=locations.default_socket_path)
    # host:port for TCP; empty keeps the daemon on the unix socket only.
    listen: str = ""
    # Version records kept in memory for fast reads.
    cache_versions: int = 200_000
    # Source paths RegisterModelVersion may read; empty allows any path the daemon can read.
    allowed_roots: list[Path] = field(default_factory=list)
    log_level: str = "INFO"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.duckdb"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studbook serve", description="Run the studbook daemon.")
    p.add_argument("--data-dir", type=Path, help="where the catalog lives (default: $XDG_DATA_HOME/studbook)")
    p.add_argument("--socket", type=Path, help="unix socket path (default: $XDG_RUNTIME_DIR/studbook/studbook.sock)")
    p.add_argument("--listen", help="also listen on TCP host:port")
    p.add_argument("--config", type=Path, help="TOML config file (default: $XDG_CONFIG_HOME/studbook/config.toml)")
    p.add_argument("--allow-root", type=Path, action="append", default=None,
                   help="a folder RegisterModelVersion may read from (repeatable)")  # fmt: skip
    p.add_argument("--log-level", default=None, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def load(argv: list[str] | None = None) -> Settings:
    args = parser().parse_args(argv)
    config_path = args.config or locations.config_dir() / "config.toml"
    settings = Settings()
    if config_path.exists():
        with config_path.open("rb") as handle:
            daemon = tomllib.load(handle).get("daemon", {})
        for key in ("data_dir", "socket"):
            if key in daemon:
                setattr(settings, key, Path(daemon[key]).expanduser())
        settings.listen = daemon.get("listen", settings.listen)
        settings.cache_versions = int(daemon.get("cache_versions", settings.cache_versions))
        settings.allowed_roots = [Path(p).expanduser() for p in daemon.get("allowed_roots", [])]
        settings.log_level = daemon.get("log_level", settings.log_level)
    if args.data_dir:
        settings.data_dir = args.data_dir
    if args.socket:
        settings.socket = args.socket
    if args.listen:
        settings.listen = args.listen
    if args.allow_root:
        settings.allowed_roots = args.allow_root
    if args.log_level:
        settings.log_level = args.log_level
    return settings
