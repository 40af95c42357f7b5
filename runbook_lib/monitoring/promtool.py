"""Export the rules with promtool unit tests, so promtool itself can check our evaluator.

:func:`cases` builds input series for the drills' boundary situations; the expected alerts of
each case are what *our* evaluator decides (Prometheus 2.x window semantics, like Debian's
promtool 2.42). ``promtool test rules`` passing on the export means promtool agrees with us.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from runbook_lib.errors import EnvironmentMissing
from runbook_lib.guide.model import Guide
from runbook_lib.monitoring.catalog import render
from runbook_lib.monitoring.promql import Evaluator, Series
from runbook_lib.monitoring.rules import FIRING, AlertRule, alert_states, load_rules
from runbook_lib.paths import RULE_FILE_NAME
from runbook_lib.world import shell

TEST_FILE = "napoleon-ai.rules.test.yml"


@dataclass(frozen=True)
class Case:
    name: str
    series: dict[str, list[float]]  # metric -> one value per minute from 0
    alert: str
    eval_minute: int


def _constant(metric: str, value: float, minutes: int = 12) -> dict[str, list[float]]:
    return {metric: [value] * (minutes + 1)}


def _counter(metric: str, per_minute: list[float]) -> list[float]:
    return list(np.cumsum(per_minute))


def cases(guide: Guide) -> list[Case]:
    """Boundary and timing situations for every alert the drills exercise."""
    found = []
    for metric, alert, threshold in (
        ("avg_response_time_ms", "ResponseTimeTargetBreached", 500.0),
        ("vercel_function_duration_seconds", "VercelFunctionSlow", 10.0),
        ("supabase_query_mean_ms", "DatabaseQueryTargetBreached", 100.0),
        ("openai_response_seconds", "AIResponseTimeTargetBreached", 2.0),
    ):
        for label, value in (
            ("below", threshold * 0.99),
            ("at", threshold),
            ("above", threshold * 1.01),
        ):
            found.append(Case(f"{alert} {label} {value:g}", _constant(metric, value), alert, 10))
    for minute in (5, 6):
        found.append(
            Case(
                f"ResponseTimeTargetBreached pending/firing at {minute}m",
                {"avg_response_time_ms": [100.0] + [600.0] * 20},
                "ResponseTimeTargetBreached",
                minute,
            )
        )
    for percent in (4, 6):
        found.append(
            Case(
                f"VercelFunctionErrorRate at {percent}%",
                {
                    "vercel_function_invocations_total": _counter("", [1000.0] * 30),
                    "vercel_function_errors_total": _counter("", [percent * 10.0] * 30),
                },
                "VercelFunctionErrorRate",
                15,
            )
        )
    found.append(
        Case(
            "SupabaseDatabaseDown",
            {"supabase_db_up": [1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1]},
            "SupabaseDatabaseDown",
            5,
        )
    )
    found.append(
        Case(
            "SupabaseStorageQuotaExceeded",
            {
                "supabase_storage_used_bytes": [210.0] * 6,
                "supabase_storage_quota_bytes": [200.0] * 6,
            },
            "SupabaseStorageQuotaExceeded",
            5,
        )
    )
    found.append(
        Case(
            "StripeWebhookFailures",
            {"stripe_webhook_failures_total": [0, 1, 1, 1, 1, 1]},
            "StripeWebhookFailures",
            3,
        )
    )
    outage = [1.0] * 60 + [0.0] * 11
    found.append(
        Case("UptimeErrorBudgetBurn outage", {"probe_success": outage}, "UptimeErrorBudgetBurn", 70)
    )
    return found


def expected_alerts(case: Case, rules: list[AlertRule]) -> list[dict[str, object]]:
    series = Series()
    for metric, values in case.series.items():
        series.add(metric, {}, [(minute * 60.0, float(v)) for minute, v in enumerate(values)])
    evaluator = Evaluator(series, semantics=2)
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
    for case in cases(guide):
        tests.append(
            {
                "name": case.name,
                "interval": "1m",
                "input_series": [
                    {"series": metric, "values": " ".join(f"{v:g}" for v in values)}
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
