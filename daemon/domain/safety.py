"""Which inspection flags mean "loading this runs code", and what a registration does about them. No I/O.

The format readers flag what they see (`daemon/formats/info.py`); this module is the one
place that turns flags into a verdict, so a drop and an API registration reach the same one.
Flags are `LABEL` or `LABEL:DETAIL` (`dangerous-global:posix.system`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from studbook.daemon.domain.access import Caller, Role
from studbook.daemon.domain.errors import FailedPrecondition, PermissionDenied
from studbook.daemon.domain.pickle_danger import is_dangerous

# A pickle that imports something able to run code or touch the OS or network.
DANGEROUS_GLOBAL = "dangerous-global"
# A TensorFlow graph with file, process or Python-calling ops.
UNSAFE_OPS = "unsafe-ops"
# A folder whose configuration makes loaders import Python files shipped with it.
REMOTE_CODE = "remote-code"
# A pickle global not on the allow-list.
UNKNOWN_GLOBAL = "unknown-global"
# What daemons wrote before dangerous and unknown globals were told apart.
LEGACY_GLOBAL = "unsafe-global"

# Each code-running label, with the reason a registration is refused under and what to do.
_REFUSALS: dict[str, tuple[str, str]] = {
    DANGEROUS_GLOBAL: ("UNSAFE_PICKLE", "loading it would import {details}, which can run code"),
    UNSAFE_OPS: ("UNSAFE_OPS", "its TensorFlow graph runs {details}, which touch files, processes or Python"),
    REMOTE_CODE: ("REMOTE_CODE", "loading it runs Python code shipped with it ({details})"),
}
# What the default policy keeps out of production: every label that means code runs on load.
DEFAULT_FORBIDDEN_FLAGS = ("dangerous-*", UNSAFE_OPS, REMOTE_CODE)
MAX_NAMED = 8


def label(flag: str) -> str:
    """`dangerous-global` of `dangerous-global:os.system`."""
    return flag.partition(":")[0]


def detail(flag: str) -> str:
    return flag.partition(":")[2]


def current(flag: str) -> str:
    """The flag as today's readers raise it: an older daemon's `unsafe-global:M.N` is judged
    by the same rule as a new scan, so a version registered back then meets today's gates."""
    if label(flag) != LEGACY_GLOBAL:
        return flag
    module, _, name = detail(flag).rpartition(".")
    return f"{DANGEROUS_GLOBAL if is_dangerous(module, name) else UNKNOWN_GLOBAL}:{detail(flag)}"


def runs_code(flag: str) -> bool:
    return label(current(flag)) in _REFUSALS


def matches(flag: str, pattern: str) -> bool:
    """A policy pattern (fnmatch) names a flag by its whole text or by its label alone."""
    flag = current(flag)
    return fnmatch.fnmatchcase(flag, pattern) or fnmatch.fnmatchcase(label(flag), pattern)


def forbidden(flags: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The flags any of `patterns` names, in first-seen order without duplicates."""
    chosen = tuple(patterns)
    return list(dict.fromkeys(f for f in flags if any(matches(f, p) for p in chosen)))


def unsafe_content(flags_by_file: dict[str, tuple[str, ...]]) -> FailedPrecondition | None:
    """The refusal a registration of these files meets unless its registrant allows it; None when nothing runs code.

    The reason is that of the first code-running label found (UNSAFE_PICKLE, UNSAFE_OPS,
    REMOTE_CODE); the message names every file and what it would run.
    """
    found: dict[str, dict[str, list[str]]] = {}  # label -> file -> details
    for path, flags in flags_by_file.items():
        for flag in map(current, flags):
            if runs_code(flag):
                found.setdefault(label(flag), {}).setdefault(path, []).append(detail(flag) or label(flag))
    if not found:
        return None
    parts = []
    for name, files in found.items():
        template = _REFUSALS[name][1]
        for path, details in list(files.items())[:MAX_NAMED]:
            parts.append(f"{path or 'the folder'}: " + template.format(details=_listed(details)))
    first = next(iter(found))
    named = sorted({current(f) for fs in flags_by_file.values() for f in fs if runs_code(f)})
    return FailedPrecondition(
        "; ".join(parts) + ". The registry never loads model files, but whoever loads this one runs that code: "
        "re-save it without it (safetensors, ONNX), or register it with --allow-unsafe "
        "(maintainer role; recorded in the audit trail) if you trust where it came from",
        reason=_REFUSALS[first][0],
        flags=",".join(named[: MAX_NAMED * 4])[:1000],
        file=next(iter(found[first])),
    )  # fmt: skip


def check_may_allow(caller: Caller) -> None:
    """Letting code-running content in is a maintainer's call (or above's)."""
    if caller.role < Role.MAINTAINER:
        raise PermissionDenied(
            "allowing content that runs code when loaded needs the maintainer role; ask a maintainer to "
            "register it, or re-save the model without code (safetensors, ONNX)",
            reason="ALLOW_UNSAFE_DENIED", role=caller.role.label,
        )  # fmt: skip


def _listed(details: list[str]) -> str:
    unique = list(dict.fromkeys(details))
    shown = ", ".join(unique[:MAX_NAMED])
    return shown + (f" and {len(unique) - MAX_NAMED} more" if len(unique) > MAX_NAMED else "")
