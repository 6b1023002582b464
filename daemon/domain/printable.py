"""Names from disk made safe to show and to send: one line of valid UTF-8 that prints as
what it is. Bytes that are not UTF-8 (lone surrogates, the way Python decodes them) become
`\\xNN`, control and other non-printing characters their Python escape (`\\x1b`,
`\\u202e`)."""

from __future__ import annotations

import os


def printable(text: str) -> str:
    if text.isprintable():
        return text  # the common case, and no surrogate is printable
    decoded = os.fsencode(text).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in decoded)
