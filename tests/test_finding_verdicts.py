"""A scenario tagged ``@finding:<ID>`` is a known gap only for its own ID (issue: truthful
evidence): another finding, an unrelated error or a pass (the guide was fixed) is red."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runbook_lib.paths import PYTEST_INI
from tests.helpers import child_environ

FEATURE = """\
Feature: Finding verdicts
  @finding:GUIDE-A
  Scenario: It confirms its own finding
    Given the drill confirms the finding "GUIDE-A"

  @finding:GUIDE-A
  Scenario: It confirms another finding
    Given the drill confirms the finding "GUIDE-B"

  @finding:GUIDE-A
  Scenario: It fails for an unrelated reason
    Given the drill fails with "connection refused"

  @finding:GUIDE-A
  Scenario: It passes because the guide was fixed
    Given nothing goes wrong
"""

BINDINGS = """
from pytest_bdd import given, parsers, scenarios

from runbook_lib.errors import ProcedureFailed

scenarios(".")


@given(parsers.parse('the drill confirms the finding "{finding_id}"'))
def confirms(evidence, finding_id):
    evidence.confirm_finding(finding_id, "Somewhere", "a gap", "seen")


@given(parsers.parse('the drill fails with "{words}"'))
def fails(words):
    raise ProcedureFailed(words)


@given("nothing goes wrong")
def fine():
    pass
"""


def test_only_the_tagged_finding_makes_a_gap(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "verdicts.feature").write_text(FEATURE)
    (tmp_path / "test_verdicts.py").write_text(BINDINGS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path / "test_verdicts.py"),
            "-c",
            str(PYTEST_INI),
            f"--rootdir={tmp_path}",
            "-p",
            "runbook_lib.drill.plugin",
            "-o",
            f"bdd_features_base_dir={tmp_path / 'features'}",
            f"--evidence-dir={tmp_path / 'evidence'}",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env=child_environ(),
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    scenarios = json.loads((tmp_path / "evidence" / "evidence.json").read_text())["scenarios"]
    status = {s["name"]: (s["status"], s["error"]) for s in scenarios}
    assert status["It confirms its own finding"][0] == "gap"
    assert status["It confirms another finding"][0] == "failed"
    assert "FindingConfirmed: finding GUIDE-B" in status["It confirms another finding"][1]
    assert "but the scenario confirmed another finding: finding GUIDE-B" in done.stdout
    assert status["It fails for an unrelated reason"] == (
        "failed",
        "runbook_lib.errors.ProcedureFailed: connection refused",
    )
    assert status["It passes because the guide was fixed"][0] == "failed"
    assert "remove the @finding:GUIDE-A tag" in done.stdout
