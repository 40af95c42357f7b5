"""Do the guide's objectives hold together? (Key Metrics vs Alerting Rules vs RTO.)"""

from __future__ import annotations

from runbook_lib.guide.model import Guide

MONTH_SECONDS = 30 * 86400


def error_rate_gaps(guide: Guide) -> list[str]:
    """Error-rate alerts that fire only above the key-metric target leave a silent band."""
    target = next((m for m in guide.key_metrics if m.metric == "Error Rate"), None)
    gaps = []
    for rule in guide.alert_rules:
        if (
            target
            and target.threshold is not None
            and rule.threshold is not None
            and "error rate" in rule.metric.lower()
            and rule.unit == target.unit
            and rule.threshold > target.threshold
        ):
            gaps.append(
                f"'{rule.text}' (line {rule.line}) fires only above {rule.threshold:g}{rule.unit}, but the "
                f"target is '{target.metric}: {target.text}' (line {target.line}): rates from "
                f"{target.threshold:g}{target.unit} to {rule.threshold:g}{rule.unit} break the target silently"
            )
    return gaps


def downtime_budget_seconds(guide: Guide) -> float:
    uptime = next(m for m in guide.key_metrics if m.metric == "Uptime")
    return (1 - (uptime.threshold or 0) / 100) * MONTH_SECONDS


def rto_over_budget(guide: Guide) -> list[str]:
    budget = downtime_budget_seconds(guide)
    return [
        f"{o.component} RTO {o.rto_seconds / 60:g} min (line {o.line}) > {budget / 60:.1f} min of downtime a month at 99.9%"
        for o in guide.recovery_objectives
        if o.rto_seconds > budget
    ]
