"""From the guide's Alerting Rules and Key Metrics to Prometheus alert rules.

Every guide line has one entry here: the signal (metric) that measures it and how the guide's
comparator and threshold become the rule's condition. Thresholds and comparators are taken from
the guide model at generation time, never typed here:

- an alerting rule ("Function error rate > 5%") fires on its own comparator: ``... > 0.05``;
- a key-metric target ("Response Time: < 500ms average") fires on its breach, the negated
  comparator: ``avg_response_time_ms >= 500``, so exactly 500 ms is already a breach;
- uptime ("99.9% target") is an SLO: multi-window, multi-burn-rate alerts (SRE Workbook:
  14.4x over 1h and 5m, 6x over 6h and 30m page; 1x over 3d and 6h opens a ticket).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from runbook_lib.guide.model import Guide, Objective
from runbook_lib.guide.units import Comparator

NEGATED: dict[str, Comparator] = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "=="}
BURN_WINDOWS = (
    ("page", "1h", "5m", 14.4, "2m"),
    ("page", "6h", "30m", 6.0, "15m"),
    ("ticket", "3d", "6h", 1.0, "1h"),
)
RUNBOOK_URL = "https://github.com/napoleon-ai/runbook/blob/main/docs/production-operations-guide.md"


@dataclass(frozen=True)
class Signal:
    alert: str
    expr: str  # {cmp} and {threshold} are filled from the guide; a literal condition has neither
    severity: str
    for_: str = "0m"
    keep_firing_for: str = ""
    scale: float = 1.0  # guide unit -> metric unit (percent -> ratio: 0.01)


ALERT_SIGNALS: dict[str, Signal] = {
    "Function execution time": Signal(
        "VercelFunctionSlow",
        "max_over_time(vercel_function_duration_seconds[5m]) {cmp} {threshold}",
        "warning",
    ),
    "Function error rate": Signal(
        "VercelFunctionErrorRate",
        "sum(rate(vercel_function_errors_total[5m])) / sum(rate(vercel_function_invocations_total[5m])) {cmp} {threshold}",
        "critical",
        "5m",
        "5m",
        0.01,
    ),
    "Build failures": Signal(
        "VercelBuildFailed", "increase(vercel_build_failures_total[15m]) > 0", "warning"
    ),
    "Database connection failures": Signal(
        "SupabaseDatabaseDown", "supabase_db_up == 0", "critical", "1m"
    ),
    "Query performance degradation": Signal(
        "SupabaseSlowStatement",
        "max(supabase_statement_mean_ms) >= {database_target}",
        "warning",
        "5m",
    ),
    "Storage quota exceeded": Signal(
        "SupabaseStorageQuotaExceeded",
        "supabase_storage_used_bytes / supabase_storage_quota_bytes >= 1",
        "critical",
    ),
    "OpenAI API failures": Signal(
        "OpenAIApiFailures", "increase(openai_api_failures_total[5m]) > 0", "warning"
    ),
    "Stripe webhook failures": Signal(
        "StripeWebhookFailures", "increase(stripe_webhook_failures_total[5m]) > 0", "critical"
    ),
    "Email delivery failures": Signal(
        "EmailDeliveryFailures", "increase(email_delivery_failures_total[5m]) > 0", "warning"
    ),
}
METRIC_SIGNALS: dict[str, Signal] = {
    "Response Time": Signal(
        "ResponseTimeTargetBreached", "avg_response_time_ms {cmp} {threshold}", "warning", "5m"
    ),
    "Error Rate": Signal(
        "ErrorRateTargetBreached",
        "sum(rate(http_requests_errors_total[5m])) / sum(rate(http_requests_total[5m])) {cmp} {threshold}",
        "critical",
        "5m",
        "",
        0.01,
    ),
    "Database Performance": Signal(
        "DatabaseQueryTargetBreached",
        "avg(supabase_query_mean_ms) {cmp} {threshold}",
        "warning",
        "5m",
    ),
    "AI Response Time": Signal(
        "AIResponseTimeTargetBreached",
        "avg(openai_response_seconds) {cmp} {threshold}",
        "warning",
        "5m",
    ),
}


def _number(value: float) -> str:
    return f"{round(value, 12):g}"


def _rule(signal: Signal, item: Objective, expr: str, section: str) -> dict[str, object]:
    rule: dict[str, object] = {"alert": signal.alert, "expr": expr}
    if signal.for_ not in ("", "0m"):
        rule["for"] = signal.for_
    if signal.keep_firing_for:
        rule["keep_firing_for"] = signal.keep_firing_for
    rule["labels"] = {"severity": signal.severity, "source": item.source.lower().replace(" ", "_")}
    rule["annotations"] = {
        "summary": f"{item.metric}: {item.text}",
        "guide_section": section,
        "guide_line": str(item.line),
        "runbook_url": f"{RUNBOOK_URL}#{section.lower().replace(' ', '-')}",
    }
    return rule


def generate(guide: Guide) -> list[dict[str, object]]:
    """The rule groups for ``guide`` (KeyError names a guide line with no signal here)."""
    database_target = next(m for m in guide.key_metrics if m.metric == "Database Performance")
    alert_rules = []
    for item in guide.alert_rules:
        signal = ALERT_SIGNALS[item.metric]
        expr = signal.expr.format(
            cmp=item.comparator,
            threshold=_number((item.threshold or 0) * signal.scale),
            database_target=_number(database_target.threshold or 0),
        )
        alert_rules.append(_rule(signal, item, expr, "Alerting Rules"))
    metric_rules = []
    for item in guide.key_metrics:
        if item.metric == "Uptime":
            metric_rules += uptime_rules(item)
            continue
        signal = METRIC_SIGNALS[item.metric]
        assert item.comparator is not None
        assert item.threshold is not None
        expr = signal.expr.format(
            cmp=NEGATED[item.comparator], threshold=_number(item.threshold * signal.scale)
        )
        metric_rules.append(_rule(signal, item, expr, "Key Metrics"))
    return [
        {"name": "napoleon-ai-alerting-rules", "rules": alert_rules},
        {"name": "napoleon-ai-key-metrics", "rules": metric_rules},
    ]


def uptime_rules(item: Objective) -> list[dict[str, object]]:
    budget = round(1 - (item.threshold or 0) / 100, 12)
    rules = []
    for severity, long, short, factor, wait in BURN_WINDOWS:
        limit = _number(factor * budget)
        expr = (
            f"(1 - avg_over_time(probe_success[{long}])) > {limit} "
            f"and (1 - avg_over_time(probe_success[{short}])) > {limit}"
        )
        signal = Signal(
            "UptimeErrorBudgetBurn", expr, "critical" if severity == "page" else "ticket", wait
        )
        rule = _rule(signal, item, expr, "Key Metrics")
        rule["labels"] = {**rule["labels"], "window": f"{long}/{short}"}  # type: ignore[dict-item]
        rules.append(rule)
    return rules


def render(guide: Guide) -> str:
    header = (
        "# Generated from docs/production-operations-guide.md by `runbook alerts export`; do not edit.\n"
        "# Each rule's guide_line annotation points at the line of the guide it implements.\n"
    )
    return header + yaml.safe_dump({"groups": generate(guide)}, sort_keys=False, width=200)
