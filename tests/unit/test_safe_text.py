"""tui/safe_text: whatever a user wrote comes out as text that prints as what it is."""

from __future__ import annotations

import os
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from studbook.client.safe_text import safe, safe_lines, safe_message
from studbook.v1 import resources_pb2

UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
anything = st.text(st.characters(codec=None), max_size=60) | st.binary(max_size=30).map(os.fsdecode)


@given(anything)
def test_nothing_that_does_not_print_as_itself_comes_out(text: str) -> None:
    shown = safe(text)

    assert not any(unicodedata.category(ch) in UNSAFE for ch in shown)
    shown.encode("utf-8")  # no lone surrogate is left to fail on the way out


@given(st.text(st.characters(categories=["L", "N", "P", "S", "Zs"], exclude_characters="\u3000\xa0"), max_size=60))
def test_printable_text_is_left_alone(text: str) -> None:
    assert safe(text) == text


@given(anything)
def test_multiline_text_keeps_only_its_line_breaks_and_tabs(text: str) -> None:
    shown = safe_lines(text)

    assert shown.count("\n") == text.count("\n") and shown.count("\t") == text.count("\t")
    assert not any(unicodedata.category(ch) in UNSAFE - {"Cc"} for ch in shown)
    assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in shown)


def test_escapes_are_the_familiar_ones() -> None:
    assert safe("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert safe("\u202egnp.exe") == "\\u202egnp.exe"
    assert safe(os.fsdecode(b"caf\xff")) == "caf\\xff"
    assert safe("line\nbreak") == "line\\x0abreak" and safe_lines("line\nbreak") == "line\nbreak"


def test_a_message_is_copied_with_every_string_escaped_and_the_original_kept() -> None:
    version = resources_pb2.ModelVersion(description="d\x1b[2J", tags={"k\u202e": "v\x07"}, model_card="# c\n\x1b]8;;x\x07",
                                         metrics=[resources_pb2.Metric(key="auc\x1b", value=1.0)])  # fmt: skip

    shown = safe_message(version)

    assert shown.description == "d\\x1b[2J" and dict(shown.tags) == {"k\\u202e": "v\\x07"}
    assert shown.model_card == "# c\n\\x1b]8;;x\\x07" and shown.metrics[0].key == "auc\\x1b"
    assert version.description == "d\x1b[2J"
