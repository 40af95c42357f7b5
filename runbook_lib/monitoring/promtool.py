"""Our evaluator's verdicts as promtool unit tests, so promtool itself checks them.

A test group holds one set of input series (one reading a minute; ``None`` is no sample,
``"stale"`` a stale marker) and, at every minute, what our evaluator decided: the alerts that
fire (``alert_rule_test``) and the exact value of every instant-vector sub-expression of the
rules under test (``promql_expr_test``; promtool 2.42 compares them with ``==``, so the last
bit must agree). ``promtool test rules`` passing means promtool agrees on every evaluation.

The rule catalogue's boundary cases (:func:`~runbook_lib.monitoring.catalog.boundary_cases`,
derived from the guide's thresholds and ``for:`` durations) are exported this way by
:func:`export`; the randomized differential test and ``bench.promtool_agreement`` export random
series the same way. Debian's promtool is 2.42: its verdicts are compared with ``semantics=2``.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from runbook_lib.errors import EnvironmentMissing
from runbook_lib.guide.model import Guide
from runbook_lib.monitoring.catalog import boundary_cases, render
from runbook_lib.monitoring.promql import Evaluator, Series, parse
from runbook_lib.monitoring.promql.text import subexpressions, to_text
from runbook_lib.monitoring.rules import FIRING, AlertRule, alert_states, load_rules
from runbook_lib.paths import RULE_FILE_NAME
from runbook_lib.world import shell, yamlio

TEST_FILE = "napoleon-ai.rules.test.yml"
STALE = "stale"
Reading = float | str | None  # a value, STALE, or None for no sample
Readings = dict[str, Sequence[Reading]]  # metric name -> one reading a minute from minute 0


def _value(v: float) -> str:
    """A sample as promtool reads it back exactly: short when that is exact, else repr."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return f"{v:g}" if float(f"{v:g}") == v else repr(float(v))


def values_text(readings: Sequence[Reading]) -> str:
    """promtool's series notation of ``readings``."""
    return " ".join(
        "_" if r is None else STALE if r == STALE else _value(float(r)) for r in readings
    )


def series_of(readings: Readings) -> Series:
    """The evaluator's input for ``readings`` (reading n at n minutes)."""
    found = Series()
    for name, values in readings.items():
        kept = [(i, r) for i, r in enumerate(values) if r is not None]
        times = np.array([i * 60_000 for i, _ in kept], dtype=np.int64)
        stale = np.array([r == STALE for _, r in kept], dtype=bool)
        numbers = np.array([math.nan if r == STALE else float(r) for _, r in kept], dtype=float)
        found.add_array(name, {}, times, numbers, stale)
    return found


def verdict_group(
    name: str,
    readings: Readings,
    rules: Sequence[AlertRule],
    minutes: int,
    semantics: int = 2,
) -> dict[str, object]:
    """One promtool test group: ``rules``' alerts and sub-expression values at every minute
    from 0 to ``minutes``, as our evaluator decides them over ``readings``."""
    evaluator = Evaluator(series_of(readings), semantics)
    times = np.arange(0.0, minutes * 60.0 + 1, 60.0)
    alert_tests = []
    for alert in dict.fromkeys(r.name for r in rules):
        firing: list[list[dict[str, object]]] = [[] for _ in times]
        for rule in (r for r in rules if r.name == alert):
            timeline = alert_states(rule, evaluator, times)
            for labels, states in timeline.states.items():
                for i in np.flatnonzero(states == FIRING):
                    firing[i].append(
                        {
                            "exp_labels": {**dict(labels), **rule.labels},
                            "exp_annotations": rule.annotations,
                        }
                    )
        alert_tests += [
            {"eval_time": f"{i}m", "alertname": alert, "exp_alerts": firing[i]}
            for i in range(len(times))
        ]
    return {
        "name": name,
        "interval": "1m",
        "input_series": [
            {"series": metric, "values": values_text(values)} for metric, values in readings.items()
        ],
        "alert_rule_test": alert_tests,
        "promql_expr_test": _expression_tests(evaluator, rules, times),
    }


def _expression_tests(
    evaluator: Evaluator, rules: Sequence[AlertRule], times: np.ndarray
) -> list[dict[str, object]]:
    texts = dict.fromkeys(
        to_text(node)
        for rule in rules
        for node in subexpressions(rule.node)
        if node.kind != "number"
    )
    tests: list[dict[str, object]] = []
    for text in texts:
        result = evaluator.evaluate(parse(text), times)
        found = result if isinstance(result, dict) else {(): (result, np.ones(len(times), bool))}
        for i in range(len(times)):
            samples = [
                {"labels": _metric(labels), "value": float(values[i])}
                for labels, (values, present) in found.items()
                if present[i]
            ]
            if any(math.isnan(s["value"]) for s in samples):  # type: ignore[arg-type]
                continue  # promtool compares with ==, and NaN == NaN is false
            tests.append({"expr": text, "eval_time": f"{i}m", "exp_samples": samples})
    return tests


def _metric(labels: tuple[tuple[str, str], ...]) -> str:
    pairs = ", ".join(f"{k}={_quote(v)}" for k, v in labels)
    return "{" + pairs + "}"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def document(rule_file: str, groups: list[dict[str, object]]) -> dict[str, object]:
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": groups}


def test_document(guide: Guide, rules: list[AlertRule], rule_file: str) -> dict[str, object]:
    """The boundary cases of ``guide``, each a test group of the rules of its alert."""
    groups = [
        verdict_group(
            case.name,
            dict(case.series),
            [r for r in rules if r.name == case.alert],
            case.eval_minute,
        )
        for case in boundary_cases(guide)
    ]
    return document(rule_file, groups)


def export(guide: Guide, directory: Path) -> tuple[Path, Path, list[AlertRule]]:
    """Write the rule file generated from ``guide`` and its promtool unit tests into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rule_path = directory / RULE_FILE_NAME
    rule_path.write_text(render(guide), encoding="utf-8")
    rules = load_rules(rule_path)
    test_path = directory / TEST_FILE
    test_path.write_text(yamlio.dump(test_document(guide, rules, rule_path.name)))
    return rule_path, test_path, rules


def load(text: str) -> dict[str, object]:
    found = yamlio.load(text)
    assert isinstance(found, dict)
    return found


def promtool_semantics() -> int:
    """The evaluator semantics of the installed promtool: 3 for Prometheus 3.x, else 2."""
    version = run(["--version"]).stdout
    found = re.search(r"version (\d+)\.", version)
    return 3 if found and int(found.group(1)) >= 3 else 2


def run(args: list[str], cwd: Path | None = None) -> shell.CommandResult:
    if shutil.which("promtool") is None:
        raise EnvironmentMissing("promtool is not installed (Debian: apt-get install prometheus)")
    return shell.run(["promtool", *args], cwd=str(cwd) if cwd else None, timeout=3600)


def run_promtool(test_path: Path) -> shell.CommandResult:
    return run(["test", "rules", test_path.name], test_path.parent)


def failed_groups(result: shell.CommandResult) -> list[str]:
    """The names of the test groups promtool reports failing (from its output)."""
    return re.findall(r"FAILED:\n\s*name: ([^,\n]+)", result.stdout + result.stderr)
