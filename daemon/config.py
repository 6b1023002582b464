"""Daemon settings: command-line flags over the config file over defaults."""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from studbook import locations
from studbook.daemon.artifacts import ScanLimits
from studbook.daemon.domain.hooks import HookSettings
from studbook.daemon.formats import DEFAULT_LIMITS, Limits

# Over the unix socket (its owner only), and every answer: generous but bounded, a registration
# with a big model card and thousands of metrics fits.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Over TCP, the most the daemon reads of one message. Callers without a token reach the open
# health methods, whose requests are read before anything is known of them: this bounds what
# they can make the daemon hold. Large payloads travel as streams of small messages (uploads
# send 1 MiB chunks); a registration naming thousands of uploaded files, or a 1 MiB model
# card, still fits. grpc's own default, so other gRPC clients meet a limit they know.
MAX_REMOTE_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass
class Settings:
    data_dir: Path = field(default_factory=locations.data_dir)
    # A PostgreSQL catalog (postgresql://user@host:port/db); empty: the DuckDB file in data_dir.
    catalog: str = ""
    socket: Path = field(default_factory=locations.default_socket_path)
    # host:port for TCP; empty keeps the daemon on the unix socket only.
    listen: str = ""
    # PEM certificate and unencrypted key of the TCP port; listening needs both.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # host:port of the MLflow-compatible REST endpoint; empty serves none. Beyond loopback it
    # needs tls_cert and tls_key, as `listen` does.
    mlflow_listen: str = ""
    # Version records kept in memory for fast reads. A record takes ~8 KiB (metrics, params,
    # tags and files as Python objects), so this bounds the read cache near 80 MiB; a read
    # that misses costs a point select of ~1 ms.
    cache_versions: int = 10_000
    # Model records kept in memory for fast reads, and as many by the writer: every model's
    # name is held too, so that a catalog of any width answers which exist without a read.
    cache_models: int = 10_000
    # metric_summary is re-clustered by key from this many rows on (see store/cluster.py).
    cluster_min_rows: int = 100_000
    # Seconds after start-up before the first check for an unsorted tail, and between checks
    # that commits wake, at least.
    cluster_check_seconds: float = 5.0
    # Source paths RegisterModelVersion may read; empty allows any path the daemon can read.
    allowed_roots: list[Path] = field(default_factory=list)
    # Drop-in folders to watch (`--watch`, repeatable); see daemon/watch.
    watch_roots: list[Path] = field(default_factory=list)
    # Those of them whose drops stay where they are, referenced but not kept.
    in_place_roots: list[Path] = field(default_factory=list)
    # Where registered files are kept: file:///path or s3://bucket/prefix; empty is <data_dir>/blobs.
    artifact_store: str = ""
    # Poll the roots instead of using the platform's notifications (network file systems).
    watch_poll: bool = False
    # A drop without rename or manifest is complete after this long without changes.
    quiet_seconds: float = 2.0
    # Every root is re-read this often; events are only hints.
    reconcile_seconds: float = 60.0
    # Largest single artifact file a registration or a drop may hold.
    max_file_bytes: int = ScanLimits().max_file_bytes
    # Largest header a format reader accepts (safetensors JSON header); the GGUF header bound
    # keeps its ratio to it. Reference readers allow far more than real models need.
    max_header_bytes: int = DEFAULT_LIMITS.max_header_bytes
    log_level: str = "INFO"
    # The promotion policy (TOML, see daemon/domain/policy.py); None means no policy gates.
    policy_path: Path | None = None
    # policy_path is the default location, not a file the operator named: no file there is
    # no policy, and one created there while the daemon runs is loaded then.
    policy_default_location: bool = False
    # Garbage collection leaves a blob no version refers to alone until it is this old: a
    # registration in flight on another daemon sharing the store may not have committed yet.
    gc_grace_seconds: float = 3600.0
    # For demos and tests only (see daemon/app/clock.py): the first `simulated_writes` writes
    # of an empty catalog are spread over the last `simulated_days` days. 0: the real clock.
    simulated_days: float = 0.0
    simulated_writes: int = 0
    # How webhook deliveries are timed out, retried and paused (see domain/hooks.py).
    hooks: HookSettings = field(default_factory=HookSettings)

    @property
    def scan_limits(self) -> ScanLimits:
        return ScanLimits(max_file_bytes=self.max_file_bytes)

    @property
    def format_limits(self) -> Limits:
        scale = self.max_header_bytes / DEFAULT_LIMITS.max_header_bytes
        return replace(DEFAULT_LIMITS, max_header_bytes=self.max_header_bytes,
                       max_gguf_header_bytes=int(DEFAULT_LIMITS.max_gguf_header_bytes * scale))  # fmt: skip

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.duckdb"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studbook serve", description="Run the studbook daemon.")
    p.add_argument("--data-dir", type=Path, help="where the catalog lives (default: $XDG_DATA_HOME/studbook)")
    p.add_argument("--catalog", type=_catalog_url, metavar="URL",
                   help="keep the catalog in PostgreSQL: postgresql://user@host:port/dbname "
                        "(default: a DuckDB file in --data-dir)")  # fmt: skip
    p.add_argument("--socket", type=Path, help="unix socket path (default: $XDG_RUNTIME_DIR/studbook/studbook.sock)")
    p.add_argument("--listen", help="also listen on TCP host:port (needs --tls-cert and --tls-key)")
    p.add_argument("--tls-cert", type=Path, metavar="FILE", help="PEM certificate (chain) served on --listen")
    p.add_argument("--tls-key", type=Path, metavar="FILE", help="PEM private key of --tls-cert, mode 0600")
    p.add_argument("--mlflow-listen", metavar="HOST:PORT",
                   help="also serve MLflow's Model Registry REST API on HOST:PORT (beyond loopback it needs "
                        "--tls-cert and --tls-key)")  # fmt: skip
    p.add_argument("--config", type=Path, help="TOML config file (default: $XDG_CONFIG_HOME/studbook/config.toml)")
    p.add_argument("--allow-root", type=Path, action="append", default=None,
                   help="a folder RegisterModelVersion may read from (repeatable)")  # fmt: skip
    p.add_argument(
        "--watch",
        type=Path,
        action="append",
        default=None,
        metavar="ROOT",
        help="register model versions dropped into this folder (repeatable)",
    )
    p.add_argument(
        "--watch-in-place",
        type=Path,
        action="append",
        default=None,
        metavar="ROOT",
        help="like --watch, but leave the files where they are instead of keeping a copy",
    )
    p.add_argument("--artifact-store", metavar="URL",
                   help="where registered files are kept: file:///path or s3://bucket/prefix (default: DATA_DIR/blobs)")  # fmt: skip
    p.add_argument("--poll", action="store_true", default=None, help="poll watched folders (network file systems)")
    p.add_argument("--quiet-seconds", type=_positive, help="quiet interval that completes a drop (default 2)")
    p.add_argument("--reconcile-seconds", type=_positive, help="how often watched folders are re-read (default 60)")
    p.add_argument(
        "--max-file-bytes", type=_size, help="largest artifact file accepted (default 256 GiB; K/M/G/T suffixes)"
    )
    p.add_argument(
        "--max-header-bytes",
        type=_size,
        help="largest model header read, e.g. a safetensors JSON header (default 16M; HEADER_TOO_LARGE above)",
    )
    p.add_argument(
        "--policy",
        type=Path,
        help="promotion policy TOML (default: $XDG_CONFIG_HOME/studbook/policy.toml, also once created later)",
    )
    p.add_argument("--gc-grace", type=_not_negative, metavar="SECONDS",
                   help="gc deletes no unreferenced blob younger than this (default 3600)")  # fmt: skip
    p.add_argument("--hook-timeout", type=_positive, metavar="SECONDS",
                   help="time a webhook receiver has to answer one delivery (default 10)")  # fmt: skip
    p.add_argument("--hook-backoff", type=_positive, metavar="SECONDS",
                   help="first webhook retry waits up to this, doubling each time (default 1)")  # fmt: skip
    p.add_argument("--hook-backoff-max", type=_positive, metavar="SECONDS",
                   help="longest wait between webhook retries (default 300)")  # fmt: skip
    p.add_argument("--hook-max-failures", type=_count, metavar="N",
                   help="failed attempts in a row that pause a webhook (default 20)")  # fmt: skip
    p.add_argument("--no-hook-delivery", action="store_true", default=None,
                   help="send no webhook deliveries from this daemon (the others of a shared catalog do)")  # fmt: skip
    p.add_argument("--log-level", default=None, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    # Hidden: a demo's history, never a real registry's (refused for a catalog with changes).
    p.add_argument("--simulated-days", type=_positive, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--simulated-writes", type=int, default=0, help=argparse.SUPPRESS)
    return p


def load(argv: list[str] | None = None) -> Settings:
    args = parser().parse_args(argv)
    config_path = args.config or locations.config_dir() / "config.toml"
    settings = Settings()
    if config_path.exists():
        with config_path.open("rb") as handle:
            daemon = tomllib.load(handle).get("daemon", {})
        for key in ("data_dir", "socket", "tls_cert", "tls_key"):
            if key in daemon:
                setattr(settings, key, Path(daemon[key]).expanduser())
        settings.listen = daemon.get("listen", settings.listen)
        settings.mlflow_listen = str(daemon.get("mlflow_listen", settings.mlflow_listen))
        if "catalog" in daemon:
            try:
                settings.catalog = _catalog_url(str(daemon["catalog"]))
            except argparse.ArgumentTypeError as exc:
                parser().error(f"catalog in {config_path}: {exc}")
        settings.cache_versions = int(daemon.get("cache_versions", settings.cache_versions))
        settings.cache_models = int(daemon.get("cache_models", settings.cache_models))
        settings.cluster_min_rows = int(daemon.get("cluster_min_rows", settings.cluster_min_rows))
        settings.cluster_check_seconds = float(daemon.get("cluster_check_seconds", settings.cluster_check_seconds))
        settings.allowed_roots = [Path(p).expanduser() for p in daemon.get("allowed_roots", [])]
        settings.log_level = daemon.get("log_level", settings.log_level)
        settings.watch_roots, settings.in_place_roots = _watch_roots(daemon.get("watch_roots", []))
        settings.artifact_store = str(daemon.get("artifact_store", settings.artifact_store))
        settings.watch_poll = bool(daemon.get("watch_poll", settings.watch_poll))
        settings.quiet_seconds = float(daemon.get("quiet_seconds", settings.quiet_seconds))
        settings.reconcile_seconds = float(daemon.get("reconcile_seconds", settings.reconcile_seconds))
        if "max_file_bytes" in daemon:
            settings.max_file_bytes = _size(str(daemon["max_file_bytes"]))
        if "max_header_bytes" in daemon:
            settings.max_header_bytes = _size(str(daemon["max_header_bytes"]))
        if "policy" in daemon:
            settings.policy_path = Path(daemon["policy"]).expanduser()
        settings.gc_grace_seconds = float(daemon.get("gc_grace_seconds", settings.gc_grace_seconds))
        settings.hooks = _hook_settings(settings.hooks, daemon)
    settings.hooks = _hook_settings(settings.hooks, {
        key: value for key, value in (("hook_timeout_seconds", args.hook_timeout),
                                      ("hook_backoff_seconds", args.hook_backoff),
                                      ("hook_backoff_max_seconds", args.hook_backoff_max),
                                      ("hook_max_failures", args.hook_max_failures),
                                      ("hook_delivery", False if args.no_hook_delivery else None)) if value is not None
    })  # fmt: skip
    if args.data_dir:
        settings.data_dir = args.data_dir
    if args.catalog:
        settings.catalog = args.catalog
    if args.socket:
        settings.socket = args.socket
    if args.listen:
        settings.listen = args.listen
    if args.mlflow_listen:
        settings.mlflow_listen = args.mlflow_listen
    if args.tls_cert:
        settings.tls_cert = args.tls_cert
    if args.tls_key:
        settings.tls_key = args.tls_key
    if args.allow_root:
        settings.allowed_roots = args.allow_root
    if args.log_level:
        settings.log_level = args.log_level
    if args.watch or args.watch_in_place:
        settings.watch_roots = [*(args.watch or []), *(args.watch_in_place or [])]
        settings.in_place_roots = list(args.watch_in_place or [])
    if args.artifact_store:
        settings.artifact_store = args.artifact_store
    if args.poll:
        settings.watch_poll = True
    if args.quiet_seconds is not None:
        settings.quiet_seconds = args.quiet_seconds
    if args.reconcile_seconds is not None:
        settings.reconcile_seconds = args.reconcile_seconds
    if args.max_file_bytes is not None:
        settings.max_file_bytes = args.max_file_bytes
    if args.max_header_bytes is not None:
        settings.max_header_bytes = args.max_header_bytes
    if args.policy:
        settings.policy_path = args.policy
    if args.gc_grace is not None:
        settings.gc_grace_seconds = args.gc_grace
    if bool(args.simulated_days) != bool(args.simulated_writes > 0):
        parser().error("--simulated-days and --simulated-writes go together, each positive")
    settings.simulated_days, settings.simulated_writes = args.simulated_days, args.simulated_writes
    if settings.policy_path is None:
        settings.policy_path = locations.config_dir() / "policy.toml"
        settings.policy_default_location = True
    return settings


def _hook_settings(current: HookSettings, given: dict[str, object]) -> HookSettings:
    """`hook_timeout_seconds`, `hook_backoff_seconds`, `hook_backoff_max_seconds` and
    `hook_max_failures` and `hook_delivery` from the config file's [daemon] table or the flags,
    over `current`."""
    try:
        settings = HookSettings(
            timeout_seconds=float(given.get("hook_timeout_seconds", current.timeout_seconds)),  # type: ignore[arg-type]
            backoff_base_seconds=float(given.get("hook_backoff_seconds", current.backoff_base_seconds)),  # type: ignore[arg-type]
            backoff_max_seconds=float(given.get("hook_backoff_max_seconds", current.backoff_max_seconds)),  # type: ignore[arg-type]
            max_failures=int(given.get("hook_max_failures", current.max_failures)),  # type: ignore[call-overload]
            deliver=bool(given.get("hook_delivery", current.deliver)),
        )
    except (TypeError, ValueError):
        parser().error("hook_* settings are numbers: seconds, and a count of failures")
    if (
        min(settings.timeout_seconds, settings.backoff_base_seconds, settings.backoff_max_seconds) <= 0
        or settings.max_failures < 1
    ):
        parser().error("hook_* seconds must be positive, and hook_max_failures 1 or more")
    return settings


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _watch_roots(entries: list[object]) -> tuple[list[Path], list[Path]]:
    """`watch_roots` entries: a path, or a table `{path = "...", keep_in_place = true}`."""
    roots, in_place = [], []
    for entry in entries:
        table = entry if isinstance(entry, dict) else {"path": entry}
        root = Path(str(table["path"])).expanduser()
        roots.append(root)
        if table.get("keep_in_place"):
            in_place.append(root)
    return roots, in_place


# The URL schemes libpq reads; the password may sit in the URL, or in ~/.pgpass or PGPASSWORD.
CATALOG_SCHEMES = ("postgresql://", "postgres://")


def _catalog_url(text: str) -> str:
    if not text.startswith(CATALOG_SCHEMES):
        raise argparse.ArgumentTypeError(
            f"takes a postgresql:// URL, e.g. postgresql://studbook@db:5432/studbook, got {text[:60]!r}; "
            "leave it out to keep the catalog in a DuckDB file in --data-dir"
        )
    return text


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more, got {text}")
    return value


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    """`512M`, `2G`, `1048576`: a byte count for a size cap."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (value[:-1], value[-1]) if value[-1:] in "KMGT" else (value, "")
    try:
        size = int(float(number) * _UNITS[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512M, 2G)") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, got {text!r}")
    return size
