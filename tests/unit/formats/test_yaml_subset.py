"""The YAML subset reader: what model metadata files use, read as PyYAML's safe loader would."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from studbook.daemon.formats.yaml_subset import YamlError, loads


def test_nested_mappings_and_indentless_sequences() -> None:
    text = "a:\n  b: 1\n  c:\n  - x\n  - y: 2\n    z: [3, 'four', {k: v}]\nd: ~\n"

    assert loads(text) == {"a": {"b": 1, "c": ["x", {"y": 2, "z": [3, "four", {"k": "v"}]}]}, "d": None}


def test_scalars_resolve_like_yaml_1_1() -> None:
    text = "a: yes\nb: off\nc: 0x1F\nd: 010\ne: 1_000\nf: 1.5e+3\ng: .inf\nh: 3.11.7\ni: '12'\nj: 2024-01-01\n"

    assert loads(text) == {
        "a": True, "b": False, "c": 31, "d": 8, "e": 1000, "f": 1500.0, "g": float("inf"),
        "h": "3.11.7", "i": "12", "j": "2024-01-01",
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


_KEYS = st.text(min_size=1, max_size=30).filter(
    lambda k: not any(c in k for c in "\n\r\x85\u2028\u2029")
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=120))
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(_KEYS, _DOCS, max_size=5), st.integers(20, 100), st.booleans())
@example({"._": None}, 80, True)  # '._' is a string in YAML, not a float without digits
def test_whatever_pyyaml_dumps_reads_back_the_same(doc: dict[str, object], width: int, unicode: bool) -> None:
    yaml = pytest.importorskip("yaml")
    text = yaml.safe_dump(doc, default_flow_style=False, allow_unicode=unicode, sort_keys=False, width=width)
    assume(yaml.safe_load(text) == doc)  # PyYAML's own round trip has a few gaps

    assert loads(text) == doc


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- \n'\"[]{}#|>&*!?,.0x\t\\")), max_size=80))
@example("[[]:}")  # a flow sequence used as a mapping key inside a sequence
def test_arbitrary_text_parses_or_raises_yaml_error(text: str) -> None:
    try:
        loads(text)
    except YamlError:
        pass
