"""The rule catalogue: every alert signal of the guide's Alerting Rules and Key Metrics.

Every guide line has one :class:`Signal` here: the metric(s) that measure it, named here and
nowhere else (drills, probes, the promtool export, the benchmark and the tests read the
constants below), the kind of series that exercises it (:mod:`runbook_lib.monitoring.measures`)
and how the guide's comparator and threshold become the rule's :class:`Condition`. Thresholds
and comparators are taken from the guide model at generation time, never typed here:

- an alerting rule ("Function error rate > 5%") fires on its own comparator: ``... > 0.05``;
- a key-metric target ("Response Time: < 500ms average") fires on its breach, the negated
  comparator: ``avg_response_time_ms >= 500``, so exactly 500 ms is already a breach;
- an alerting rule without a threshold watches a key metric's target ("Query performance
  degradation": the Database Performance target) or states its own condition here
  ("Database connection failures": ``supabase_db_up == 0``);
- uptime ("99.9% target") is an SLO: multi-window, multi-burn-rate alerts (SRE Workbook:
  14.4x over 1h and 5m, 6x over 6h and 30m page; 1x over 3d and 6h opens a ticket).

:func:`boundary_cases` derives from the same conditions each signal's readings just below, at
and just above its threshold, and the timing of every ``for:``; promtool checks our evaluator's
verdict on each (:mod:`runbook_lib.monitoring.promtool`).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import yaml

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.model import Guide, Objective
from runbook_lib.guide.units import Comparator
from runbook_lib.monitoring.measures import (
    READ_MINUTE,
    Counter,
    ErrorRatio,
    Gauge,
    Measure,
    Minutes,
    Quota,
)

NEGATED: dict[str, Comparator] = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "=="}
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
BURN_WINDOWS = (
    ("page", "1h", "5m", 14.4, "2m"),
    ("page", "6h", "30m", 6.0, "15m"),
    ("ticket", "3d", "6h", 1.0, "1h"),
)
KEY_METRICS = "Key Metrics"
RUNBOOK_URL = "https://github.com/napoleon-ai/runbook/blob/main/docs/production-operations-guide.md"

FUNCTION_DURATION = Gauge("vercel_function_duration_seconds")
FUNCTION_ERRORS = ErrorRatio("vercel_function_errors_total", "vercel_function_invocations_total")
BUILD_FAILURES = Counter("vercel_build_failures_total")
DATABASE_UP = Gauge("supabase_db_up", binary=True)
STATEMENT_MEAN = Gauge("supabase_statement_mean_ms")
STORAGE = Quota("supabase_storage_used_bytes", "supabase_storage_quota_bytes")
OPENAI_FAILURES = Counter("openai_api_failures_total")
STRIPE_FAILURES = Counter("stripe_webhook_failures_total")  # deliveries our endpoint refused
EMAIL_FAILURES = Counter("email_delivery_failures_total")  # refused sends + bounces/drops received
PROBE = Gauge("probe_success", binary=True)
RESPONSE_TIME = Gauge("avg_response_time_ms")
HTTP_ERRORS = ErrorRatio("http_requests_errors_total", "http_requests_total")
QUERY_MEAN = Gauge("supabase_query_mean_ms")
AI_RESPONSE = Gauge("openai_response_seconds")
ERROR_RATIOS = {  # as the drills name the calls behind them
    "Vercel functions": FUNCTION_ERRORS,
    "the app's HTTP requests": HTTP_ERRORS,
}
RATIO_5M = "sum(rate({errors}[5m])) / sum(rate({total}[5m])) {cmp} {threshold}"
INCREASE_5M = "increase({name}[5m]) {cmp} {threshold}"


@dataclass(frozen=True)
class Condition:
    """When an alert fires: its expression's value against a threshold, in metric units."""

    comparator: Comparator
    threshold: float

    def fires(self, value: float) -> bool:
        return bool(COMPARE.get(self.comparator, operator.eq)(value, self.threshold))

    def boundaries(self) -> tuple[tuple[str, float], ...]:
        """Just below, at and just above the threshold (1% away, or 1 from 0), none negative."""
        step = abs(self.threshold) * 0.01 or 1.0
        near = (("below", -step), ("at", 0.0), ("above", step))
        return tuple((label, self.threshold + d) for label, d in near if self.threshold + d >= 0)

    @property
    def breach(self) -> float:
        """A clear breach: a fifth past the threshold (1 past a zero threshold)."""
        if self.comparator == "==":
            return self.threshold
        return self.threshold * 1.2 if self.threshold else 1.0

    @property
    def quiet(self) -> float:
        """Well inside the target: a fifth of the threshold (1 away from an equality)."""
        return self.threshold + 1 if self.comparator == "==" else self.threshold * 0.2


@dataclass(frozen=True)
class Signal:
    alert: str
    measure: Measure
    expr: str  # over the measure's names, {cmp} and {threshold}
    severity: str
    for_: str = "0m"
    keep_firing_for: str = ""
    scale: float = 1.0  # guide unit -> metric unit (percent -> ratio: 0.01)
    watches: str = ""  # the key metric whose target this alert watches (no threshold of its own)
    fixed: Condition | None = None  # the catalogue's condition, for a guide line that states none

    def condition(self, item: Objective, guide: Guide) -> Condition:
        if self.fixed is not None:
            return self.fixed
        source = guide.key_metric(self.watches) if self.watches else item
        if source.comparator is None or source.threshold is None:
            raise ConfigurationError(
                f"guide line {source.line} ('{source.text}') states no threshold for {self.alert}: "
                "give it one, or a condition in runbook_lib/monitoring/catalog.py"
            )
        target = source.source == KEY_METRICS
        comparator = NEGATED[source.comparator] if target else source.comparator
        return Condition(comparator, source.threshold * self.scale)

    def expression(self, condition: Condition) -> str:
        threshold = _number(condition.threshold)
        return self.expr.format(**self.measure.names, cmp=condition.comparator, threshold=threshold)


ANY_FAILURE = Condition(">", 0.0)  # a failure counted in the window
SIGNALS: dict[str, Signal] = {  # guide metric -> signal
    "Function execution time": Signal(
        "VercelFunctionSlow",
        FUNCTION_DURATION,
        "max_over_time({name}[5m]) {cmp} {threshold}",
        "warning",
    ),
    "Function error rate": Signal(
        "VercelFunctionErrorRate", FUNCTION_ERRORS, RATIO_5M, "critical", "5m", "5m", 0.01
    ),
    "Build failures": Signal(
        "VercelBuildFailed",
        BUILD_FAILURES,
        "increase({name}[15m]) {cmp} {threshold}",
        "warning",
        fixed=ANY_FAILURE,
    ),
    "Database connection failures": Signal(
        "SupabaseDatabaseDown",
        DATABASE_UP,
        "{name} {cmp} {threshold}",
        "critical",
        "1m",
        fixed=Condition("==", 0.0),
    ),
    "Query performance degradation": Signal(
        "SupabaseSlowStatement",
        STATEMENT_MEAN,
        "max({name}) {cmp} {threshold}",
        "warning",
        "5m",
        watches="Database Performance",
    ),
    "Storage quota exceeded": Signal(
        "SupabaseStorageQuotaExceeded",
        STORAGE,
        "{used} / {quota} {cmp} {threshold}",
        "critical",
        fixed=Condition(">=", 1.0),
    ),
    "OpenAI API failures": Signal(
        "OpenAIApiFailures", OPENAI_FAILURES, INCREASE_5M, "warning", fixed=ANY_FAILURE
    ),
    "Stripe webhook failures": Signal(
        "StripeWebhookFailures", STRIPE_FAILURES, INCREASE_5M, "critical", fixed=ANY_FAILURE
    ),
    "Email delivery failures": Signal(
        "EmailDeliveryFailures", EMAIL_FAILURES, INCREASE_5M, "warning", fixed=ANY_FAILURE
    ),
    "Response Time": Signal(
        "ResponseTimeTargetBreached", RESPONSE_TIME, "{name} {cmp} {threshold}", "warning", "5m"
    ),
    "Error Rate": Signal(
        "ErrorRateTargetBreached", HTTP_ERRORS, RATIO_5M, "critical", "5m", "", 0.01
    ),
    "Database Performance": Signal(
        "DatabaseQueryTargetBreached", QUERY_MEAN, "avg({name}) {cmp} {threshold}", "warning", "5m"
    ),
    "AI Response Time": Signal(
        "AIResponseTimeTargetBreached",
        AI_RESPONSE,
        "avg({name}) {cmp} {threshold}",
        "warning",
        "5m",
    ),
}
UPTIME = "Uptime"  # the key metric of the burn-rate alerts (uptime_rules)
MEASURES: tuple[Measure, ...] = (*(s.measure for s in SIGNALS.values()), PROBE)


@dataclass(frozen=True)
class Entry:
    """A guide line, its catalogue signal and the condition the guide gives it."""

    item: Objective
    signal: Signal
    condition: Condition


def entries(guide: Guide) -> list[Entry]:
    """Every guide alert line and key metric but uptime (KeyError: a line with no signal here)."""
    lines = (*guide.alert_rules, *(m for m in guide.key_metrics if m.metric != UPTIME))
    return [Entry(i, SIGNALS[i.metric], SIGNALS[i.metric].condition(i, guide)) for i in lines]


def gauge(name: str) -> Gauge:
    """The catalogue's gauge called ``name``."""
    gauges = {m.name: m for m in MEASURES if isinstance(m, Gauge)}
    if name not in gauges:
        raise ConfigurationError(f"no gauge {name!r} in the catalogue; it has {', '.join(gauges)}")
    return gauges[name]


def condition_of(guide: Guide, measure: Measure) -> Condition:
    """The condition of the alert that ``measure`` feeds."""
    found = [e.condition for e in entries(guide) if e.signal.measure == measure]
    if not found:
        raise ConfigurationError(f"no guide threshold alerts on {measure}")
    return found[0]


# -- the rule file ---------------------------------------------------------------------------


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
    found = {e.item: e for e in entries(guide)}

    def rule(item: Objective, section: str) -> dict[str, object]:
        entry = found[item]
        return _rule(entry.signal, item, entry.signal.expression(entry.condition), section)

    alert_rules = [rule(item, "Alerting Rules") for item in guide.alert_rules]
    metric_rules = []
    for item in guide.key_metrics:
        metric_rules += uptime_rules(item) if item.metric == UPTIME else [rule(item, KEY_METRICS)]
    return [
        {"name": "napoleon-ai-alerting-rules", "rules": alert_rules},
        {"name": "napoleon-ai-key-metrics", "rules": metric_rules},
    ]


def error_budget(uptime: Objective) -> float:
    """The share of probes the uptime target lets fail (99.9 % -> 0.001)."""
    return round(1 - (uptime.threshold or 0) / 100, 12)


def uptime_rules(item: Objective) -> list[dict[str, object]]:
    budget = error_budget(item)
    rules = []
    for severity, long, short, factor, wait in BURN_WINDOWS:
        limit = _number(factor * budget)
        expr = (
            f"(1 - avg_over_time({PROBE.name}[{long}])) > {limit} "
            f"and (1 - avg_over_time({PROBE.name}[{short}])) > {limit}"
        )
        signal = Signal(
            "UptimeErrorBudgetBurn",
            PROBE,
            expr,
            "critical" if severity == "page" else "ticket",
            wait,
        )
        rule = _rule(signal, item, expr, KEY_METRICS)
        rule["labels"] = {**rule["labels"], "window": f"{long}/{short}"}  # type: ignore[dict-item]
        rules.append(rule)
    return rules


def render(guide: Guide) -> str:
    header = (
        "# Generated from docs/production-operations-guide.md by `runbook alerts export`; do not edit.\n"
        "# Each rule's guide_line annotation points at the line of the guide it implements.\n"
    )
    return header + yaml.safe_dump({"groups": generate(guide)}, sort_keys=False, width=200)


# -- the series that exercise the rules --------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A series and the minute at which the alert's state is read."""

    name: str
    series: Minutes
    alert: str
    eval_minute: int


def boundary_cases(guide: Guide) -> list[Case]:
    """Every signal read just below, at and just above its guide threshold, every gauge's
    ``for:`` read a minute before and at its end, and production down for 11 minutes or none."""
    found = []
    for entry in entries(guide):
        found += _readings(entry) + _timings(entry)
    return found + [_uptime(outage) for outage in (0, 11)]


def _readings(entry: Entry) -> list[Case]:
    alert, measure = entry.signal.alert, entry.signal.measure
    return [
        Case(f"{alert} {label} {value:g}", measure.reading(value), alert, READ_MINUTE)
        for label, value in entry.condition.boundaries()
        if label != "at" or measure.exact
    ]


def _timings(entry: Entry) -> list[Case]:
    alert, measure, condition = entry.signal.alert, entry.signal.measure, entry.condition
    wait = int(entry.signal.for_.removesuffix("m"))  # the catalogue writes for: in minutes
    if not isinstance(measure, Gauge) or not wait:
        return []
    breach = measure.window(condition.breach, 1, 20, condition.quiet, 20)
    return [Case(f"{alert} pending/firing at {m}m", breach, alert, m) for m in (wait, wait + 1)]


def _uptime(outage: int, minutes: int = 70) -> Case:
    down = PROBE.window(0.0, minutes + 1 - outage, minutes, 1.0, minutes)
    return Case(f"UptimeErrorBudgetBurn outage {outage}m", down, "UptimeErrorBudgetBurn", minutes)


def synthetic(guide: Guide, samples: int, seed: int = 7) -> Minutes:
    """Every metric the rules read, ``samples`` minutes long, breaching the guide's thresholds now
    and then (bench/alerting.py)."""
    rng = np.random.default_rng(seed)
    data: Minutes = {}
    for entry in entries(guide):
        data.update(entry.signal.measure.synthetic(rng, samples, entry.condition.threshold))
    data.update(PROBE.synthetic(rng, samples, 1.0))
    return data
