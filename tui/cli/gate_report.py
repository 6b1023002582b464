"""A promotion's dry run as JUnit XML, the report format CI systems show: one test case per gate."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from studbook.client.names import short_version
from studbook.client.safe_text import safe
from studbook.v1 import stages_pb2


def junit(promotion: stages_pb2.Promotion) -> str:
    """The document, ending in a newline. A gate that failed is a test case with a <failure>
    whose message is the gate's detail; a stage without gates gives a suite of no test cases."""
    gates = list(promotion.gate_results)
    failures = sum(not gate.passed for gate in gates)
    counts = {"tests": str(len(gates)), "failures": str(failures), "errors": "0"}
    suites = ET.Element("testsuites", {"name": "studbook gates", **counts})
    suite = ET.SubElement(suites, "testsuite", {
        "name": safe(f"{short_version(promotion.version)} -> {promotion.target}"), **counts,
        "timestamp": promotion.create_time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%S"),
    })  # fmt: skip
    properties = ET.SubElement(suite, "properties")
    for name, value in (("version", promotion.version), ("target", promotion.target),
                        ("previous_version", promotion.previous_version),
                        ("outcome", "passed" if failures == 0 else "refused")):  # fmt: skip
        ET.SubElement(properties, "property", {"name": name, "value": safe(value)})
    classname = safe(f"studbook.gates.{promotion.model.removeprefix('models/')}.{promotion.target}")
    for gate in gates:
        # Control characters (XML 1.0 cannot hold most of them) are escaped, as on a terminal.
        detail = safe(gate.detail)
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": safe(gate.gate)})
        if gate.passed:
            ET.SubElement(case, "system-out").text = detail
        else:
            ET.SubElement(case, "failure", {"message": detail, "type": safe(gate.gate)}).text = detail
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
