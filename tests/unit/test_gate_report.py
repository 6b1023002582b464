"""The JUnit report of a promotion's dry run parses as XML whatever its gates say."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st
from studbook.cli.gate_report import junit
from studbook.v1 import stages_pb2

texts = st.text(max_size=40)


@given(st.lists(st.tuples(texts, st.booleans(), texts), max_size=6), texts)
def test_any_gates_give_well_formed_junit_with_one_case_each(gates: list[tuple[str, bool, str]], target: str) -> None:
    promotion = stages_pb2.Promotion(
        name="models/m/promotions/1", model="models/m", version="models/m/versions/3", target=target,
        gate_results=[stages_pb2.GateResult(gate=g, passed=p, detail=d) for g, p, d in gates],
    )  # fmt: skip

    suite = ET.fromstring(junit(promotion)).find("testsuite")

    assert suite is not None
    cases = list(suite.iter("testcase"))
    assert len(cases) == len(gates) == int(suite.get("tests") or -1)
    assert [case.find("failure") is not None for case in cases] == [not p for _, p, _ in gates]
    assert int(suite.get("failures") or -1) == sum(not p for _, p, _ in gates)
