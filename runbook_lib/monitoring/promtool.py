"""Export the rules with promtool unit tests, so promtool itself can check our evaluator.

The rule catalogue's boundary cases (:func:`~runbook_lib.monitoring.catalog.boundary_cases`,
derived from the guide's thresholds) are the input series; the expected alerts of each case
are what *our* evaluator decides (Prometheus 2.x window semantics, like Debian's
promtool 2.42). ``promtool test rules`` passing on the export means promtool agrees with us.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import yaml

from runbook_lib.errors import EnvironmentMissing
from runbook_lib.guide.model import Guide
from runbook_lib.monitoring.catalog import Case, boundary_cases, render
from runbook_lib.monitoring.measures import series
from runbook_lib.monitoring.promql import Evaluator
from runbook_lib.monitoring.rules import FIRING, AlertRule, alert_states, load_rules
from runbook_lib.paths import RULE_FILE_NAME
from runbook_lib.world import shell

TEST_FILE = "napoleon-ai.rules.test.yml"


def _value(v: float) -> str:
    """A sample as promtool reads it back exactly: short when that is exact, else repr."""
    return f"{v:g}" if float(f"{v:g}") == v else repr(float(v))


def expected_alerts(case: Case, rules: list[AlertRule]) -> list[dict[str, object]]:
    evaluator = Evaluator(series(case.series), semantics=2)
    times = np.arange(0.0, case.eval_minute * 60.0 + 1, 60.0)
    expected: list[dict[str, object]] = []
    for rule in (r for r in rules if r.name == case.alert):
        timeline = alert_states(rule, evaluator, times)
        for labels in timeline.states:
            if timeline.state_at(case.eval_minute * 60.0, labels) == FIRING:
                expected.append(
                    {
                        "exp_labels": {**dict(labels), **rule.labels},
                        "exp_annotations": rule.annotations,
                    }
                )
    return expected


def test_document(guide: Guide, rules: list[AlertRule], rule_file: str) -> dict[str, object]:
    tests = []
    for case in boundary_cases(guide):
        tests.append(
            {
                "name": case.name,
                "interval": "1m",
                "input_series": [
                    {"series": metric, "values": " ".join(_value(v) for v in values)}
                    for metric, values in case.series.items()
                ],
                "alert_rule_test": [
                    {
                        "eval_time": f"{case.eval_minute}m",
                        "alertname": case.alert,
                        "exp_alerts": expected_alerts(case, rules),
                    }
                ],
            }
        )
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}


def export(guide: Guide, directory: Path) -> tuple[Path, Path, list[AlertRule]]:
    """Write the rule file generated from ``guide`` and its promtool unit tests into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rule_path = directory / RULE_FILE_NAME
    rule_path.write_text(render(guide), encoding="utf-8")
    rules = load_rules(rule_path)
    test_path = directory / TEST_FILE
    test_path.write_text(
        yaml.safe_dump(test_document(guide, rules, rule_path.name), sort_keys=False, width=200)
    )
    return rule_path, test_path, rules


def run_promtool(test_path: Path) -> shell.CommandResult:
    if shutil.which("promtool") is None:
        raise EnvironmentMissing("promtool is not installed (Debian: apt-get install prometheus)")
    return shell.run(["promtool", "test", "rules", test_path.name], cwd=str(test_path.parent))
