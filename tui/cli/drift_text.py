"""How input drift reads in a terminal: one line per window, worst features first."""

from __future__ import annotations

from collections.abc import Sequence

from studbook.cli.output import Painter, format_time, table
from studbook.client.safe_text import safe
from studbook.v1 import production_pb2

# PSI above these is commonly read as a moderate, then a major, shift of a distribution.
PSI_NOTICE = 0.1
PSI_ALERT = 0.2
WORST_SHOWN = 3


def _psi(value: float, paint: Painter) -> str:
    text = f"{value:.3f}"
    if value > PSI_ALERT:
        return paint(text, "red")
    return paint(text, "yellow") if value > PSI_NOTICE else text


def worst_features(window: production_pb2.WindowDrift, paint: Painter, shown: int = WORST_SHOWN) -> str:
    """The features that drifted most (by psi, then ks), and how many had no reference."""
    measured = sorted((f for f in window.features if not f.no_reference), key=lambda f: (-f.psi, -f.ks, f.feature))
    parts = [f"{safe(f.feature)} {_psi(f.psi, paint)}/{f.ks:.2f}" for f in measured[:shown] if f.psi > 0 or f.ks > 0]
    unreferenced = sum(1 for f in window.features if f.no_reference)
    if unreferenced:
        parts.append(paint(f"{unreferenced} without reference", "dim"))
    return ", ".join(parts) or "-"


def version_label(name: str) -> str:
    return f"v{name.rsplit('/', 1)[-1]}" if name else "-"


def drift_table(windows: Sequence[production_pb2.WindowDrift], paint: Painter) -> str:
    if not windows:
        return "no input windows logged for this stage yet (log them with `studbook observe ... --inputs FILE.json`)"
    rows = [(format_time(w.window_end), version_label(w.version), safe(w.segment) or "-", _psi(w.max_psi, paint),
             f"{w.max_ks:.3f}", worst_features(w, paint)) for w in windows]  # fmt: skip
    return table(("WINDOW END", "VERSION", "SEGMENT", "MAX PSI", "MAX KS", "WORST FEATURES (PSI/KS)"), rows,
                 paint=paint)  # fmt: skip


def logged_line(window: production_pb2.WindowDrift, paint: Painter) -> str:
    """What `observe --inputs` prints for the window it logged."""
    return (f"inputs of {len(window.features)} features logged for {version_label(window.version)} "
            f"(window ending {format_time(window.window_end)}): max psi {_psi(window.max_psi, paint)}, "
            f"max ks {window.max_ks:.3f}; worst: {worst_features(window, paint)}")  # fmt: skip
