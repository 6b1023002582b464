"""What the drops screen says about a verdict: a headline that fits one line, and the whole of it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.tui.drop_text import verdict_headline, verdict_text, within_root
from studbook.v1 import drops_pb2

WORDS = st.text(st.characters(categories=("L", "N"), include_characters=" :'/"), max_size=200)


@pytest.mark.parametrize(
    ("drop", "headline", "whole"),
    [
        (drops_pb2.Drop(state=drops_pb2.DROP_STATE_REGISTERED, version="models/fraud/versions/13"),
         "registered as fraud@13", "registered as fraud@13"),
        (drops_pb2.Drop(state=drops_pb2.DROP_STATE_QUARANTINED, reason="PARENT_NOT_FOUND", message="parent: gone"),
         "still quarantined: PARENT_NOT_FOUND", "still quarantined: PARENT_NOT_FOUND parent: gone"),
        (drops_pb2.Drop(state=drops_pb2.DROP_STATE_MODIFIED, version="models/fraud/versions/2", message="a: b"),
         "modified (fraud@2)", "modified (fraud@2): a: b"),
        (drops_pb2.Drop(), "gone", "gone: no watched folder holds it any more"),
    ],
)  # fmt: skip
def test_each_verdict_reads_as_a_sentence(drop: drops_pb2.Drop, headline: str, whole: str) -> None:
    assert verdict_headline(drop) == headline
    assert verdict_text(drop) == whole


@given(st.sampled_from(list(drops_pb2.DropState.values())), WORDS, WORDS)
def test_the_headline_never_carries_the_message(state: int, reason: str, message: str) -> None:
    drop = drops_pb2.Drop(state=state, reason=reason.replace(":", ""), message=f"MSG {message}",
                          version="models/m/versions/1")  # fmt: skip

    assert "MSG" not in verdict_headline(drop)
    assert verdict_text(drop).startswith(verdict_headline(drop))


@given(
    st.from_regex(r"/[a-z]{1,8}(/[a-z]{1,8}){0,3}", fullmatch=True),
    st.from_regex(r"[a-z]{1,8}/[0-9]{1,3}", fullmatch=True),
)
def test_a_path_is_shown_below_its_root(root: str, below: str) -> None:
    drop = drops_pb2.Drop(root=root, path=f"{root}/{below}")

    assert within_root(drop) == below
    assert within_root(drops_pb2.Drop(root=root + "x", path=f"{root}/{below}")) == f"{root}/{below}"
