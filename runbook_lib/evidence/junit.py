"""junit.xml says what evidence.json says about the run as a whole.

pytest writes junit.xml per test; a CI server reading only that file would take an interrupted
drill for a green one (the scenarios that never ran are simply absent) and a subset for the
whole. :func:`mark_junit` adds the run's completeness and selection as test-suite properties
and, for an incomplete run, a failing test case "the drill run is complete" naming what never
ran.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from runbook_lib.evidence.records import RunInfo
from runbook_lib.world.files import write_atomic


def mark_junit(path: Path, run: RunInfo) -> None:
    if not path.exists():
        return
    tree = ET.parse(path)
    root = tree.getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return
    properties = suite.find("properties")
    if properties is None:
        properties = ET.Element("properties")
        suite.insert(0, properties)
    selection = run.selection
    for name, value in (
        ("run.complete", str(run.complete).lower()),
        ("run.subset", str(bool(selection.get("subset"))).lower()),
        ("run.only", " ".join(selection.get("only", []))),
        ("run.mode", run.mode),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    if not run.complete:
        case = ET.SubElement(
            suite, "testcase", classname="runbook", name="the drill run is complete"
        )
        never = "; ".join(run.not_run) or "none listed"
        failure = ET.SubElement(
            case,
            "failure",
            message=f"the run was incomplete: {len(run.not_run)} planned scenario(s) never ran",
        )
        failure.text = f"never ran: {never}"
        suite.set("tests", str(int(suite.get("tests", "0")) + 1))
        suite.set("failures", str(int(suite.get("failures", "0")) + 1))
    write_atomic(path, ET.tostring(root, encoding="unicode", xml_declaration=True))
