"""The YAML subset reader: what model metadata files use, read as PyYAML's safe loader would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from studbook.daemon.formats.yaml_subset import YamlError, loads
from support.models import fixture


def test_nested_mappings_and_indentless_sequences() -> None:
    text = "a:\n  b: 1\n  c:\n  - x\n  - y: 2\n    z: [3, 'four', {k: v}]\nd: ~\n"

    assert loads(text) == {"a": {"b": 1, "c": ["x", {"y": 2, "z": [3, "four", {"k": "v"}]}]}, "d": None}


def test_scalars_resolve_like_yaml_1_1() -> None:
    text = "a: yes\nb: off\nc: 0x1F\nd: 010\ne: 1_000\nf: 1.5e+3\ng: .inf\nh: 3.11.7\ni: '12'\nj: 2024-01-01\n"

    assert loads(text) == {
        "a": True,
        "b": False,
        "c": 31,
        "d": 8,
        "e": 1000,
        "f": 1500.0,
        "g": float("inf"),
        "h": "3.11.7",
        "i": "12",
        "j": "2024-01-01",
    }


def test_quoted_scalars_fold_across_lines_and_unescape() -> None:
    text = "a: 'it''s\n  folded'\nb: \"tab\\there \\\n  joined \\u00e9\"\n"

    assert loads(text) == {"a": "it's folded", "b": "tab\there joined é"}


def test_block_scalars_keep_or_fold_lines() -> None:
    text = "lit: |\n  one\n  two\n\nfold: >-\n  a\n  b\n\n  c\nnext: 1\n"

    assert loads(text) == {"lit": "one\ntwo\n", "fold": "a b\nc", "next": 1}


def test_comments_and_document_markers_are_skipped() -> None:
    text = "---\n# header\na: 1 # trailing\nb: 'x # not a comment'\n...\nignored: true\n"

    assert loads(text) == {"a": 1, "b": "x # not a comment"}


def test_line_separators_in_a_quoted_scalar_are_kept_and_the_indent_after_them_dropped() -> None:
    # As PyYAML writes a value holding U+2028 at width 80 and reads it back.
    assert loads("a: '\u2028        '\nb: 'x\u2029\n  y'\n") == {"a": "\u2028", "b": "x\u2029\ny"}


def test_flow_collections_may_span_lines() -> None:
    assert loads("tags: [a,\n  b, c]\n") == {"tags": ["a", "b", "c"]}


@pytest.mark.parametrize("text", ["a: &x 1\n", "a: *x\n", "a: !!python/object:os.system x\n", "? complex\n: key\n"])
def test_anchors_aliases_tags_and_complex_keys_are_refused(text: str) -> None:
    with pytest.raises(YamlError):
        loads(text)


@pytest.mark.parametrize("text", ["a:\n" + "".join(" " * i + "b:\n" for i in range(1, 200)), "a: " + "[" * 5000])
def test_deep_nesting_hits_the_bound_not_the_stack(text: str) -> None:
    with pytest.raises(YamlError):
        loads(text, max_depth=64)


def test_node_count_is_bounded() -> None:
    with pytest.raises(YamlError):
        loads("".join(f"- {i}\n" for i in range(1000)), max_nodes=100)


def _pyyaml_round_trips() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(fixture("yaml/pyyaml_round_trips.json").read_text())
    return cases


_ROUND_TRIPS = _pyyaml_round_trips()


def test_the_pyyaml_corpus_is_there_and_holds_the_pinned_examples() -> None:
    assert len(_ROUND_TRIPS) > 500
    # '._' is a string in YAML, not a float without digits.
    assert {"text": "._: null\n", "expected": {"._": None}} in _ROUND_TRIPS


@pytest.mark.parametrize("case", _ROUND_TRIPS, ids=[str(i) for i in range(len(_ROUND_TRIPS))])
def test_whatever_pyyaml_dumps_reads_back_as_pyyaml_reads_it(case: dict[str, Any]) -> None:
    # yaml.safe_dump of seeded random documents and yaml.safe_load of each, recorded by
    # tests/fixtures/make_models.py (only documents PyYAML itself reads back unchanged).
    assert loads(case["text"]) == case["expected"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- \n'\"[]{}#|>&*!?,.0x\t\\")), max_size=80))
@example("[[]:}")  # a flow sequence used as a mapping key inside a sequence
def test_arbitrary_text_parses_or_raises_yaml_error(text: str) -> None:
    try:
        loads(text)
    except YamlError:
        pass
