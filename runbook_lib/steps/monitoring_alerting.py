"""Steps of features/monitoring_alerting.feature (guide: Key Metrics, Alerting Rules)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from runbook_lib.drill.options import DrillOptions
from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.monitoring import consistency, engine, signals
from runbook_lib.monitoring.catalog import render
from runbook_lib.monitoring.rules import AlertRule
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.procedures.incident_response.communications import Notifier
from runbook_lib.sim.cloud import (
    INCIDENTS_CHANNEL,
    SimulatedCloud,
)
from runbook_lib.world.http import http
from runbook_lib.world.postgres import PostgresServer, kill_server, restart_server

MINUTE = 60.0


@pytest.fixture
def recorder() -> signals.Recorder:
    return signals.Recorder()


@given("the alert rules generated from the guide", target_fixture="rules")
def rules(drill_options: DrillOptions) -> list[AlertRule]:
    return engine.default_rules(drill_options.config_dir.rule_file)


@then("every guide alert line and key metric has exactly one alert")
def one_alert_each(guide: Guide, rules: list[AlertRule], evidence: ScenarioEvidence) -> None:
    for item in (*guide.alert_rules, *guide.key_metrics):
        names = {r.name for r in rules if r.annotations.get("guide_line") == str(item.line)}
        evidence.check(f"alerts for '{item.metric}' (line {item.line})", len(names), "==", 1)


@then("the committed rule file is what the guide generates")
def rule_file_current(
    guide: Guide, drill_options: DrillOptions, evidence: ScenarioEvidence
) -> None:
    current = drill_options.config_dir.rule_file.read_text(encoding="utf-8") == render(guide)
    evidence.check(
        "alerts/napoleon-ai.rules.yml matches the guide (regenerate: runbook alerts export alerts)",
        int(current),
        "==",
        1,
    )


def _evaluation(
    rules: list[AlertRule], recorder: signals.Recorder, minutes: float
) -> engine.Evaluation:
    return engine.evaluate(rules, recorder.series(), minutes * MINUTE)


@when(
    parsers.parse('"{metric}" holds {value:g} for {minutes:d} minutes'), target_fixture="evaluation"
)
def holds(
    rules: list[AlertRule], recorder: signals.Recorder, metric: str, value: float, minutes: int
) -> engine.Evaluation:
    for minute in range(minutes + 1):
        recorder.record(metric, minute * MINUTE, value)
    return _evaluation(rules, recorder, minutes + 1)


@when(
    parsers.parse('"{metric}" holds {value:g} from minute {start:d} to minute {end:d}'),
    target_fixture="evaluation",
)
def holds_between(
    rules: list[AlertRule],
    recorder: signals.Recorder,
    metric: str,
    value: float,
    start: int,
    end: int,
) -> engine.Evaluation:
    for minute in range(start, end + 1):
        recorder.record(metric, minute * MINUTE, value)
    for minute in range(end + 1, end + 30):
        recorder.record(metric, minute * MINUTE, 100.0)  # recovered: well under the target
    return _evaluation(rules, recorder, end + 30)


_COUNTER_PAIRS = {
    "Vercel functions": ("vercel_function_errors_total", "vercel_function_invocations_total"),
    "the app's HTTP requests": ("http_requests_errors_total", "http_requests_total"),
}


@when(
    parsers.re(
        r"(?P<what>Vercel functions|the app's HTTP requests) fail (?P<percent>[\d.]+) percent of (?P<calls>\d+) "
        r"calls a minute from minute (?P<start>\d+) to minute (?P<end>\d+)"
    ),
    target_fixture="evaluation",
)
def failing_calls(
    rules: list[AlertRule],
    recorder: signals.Recorder,
    what: str,
    percent: str,
    calls: str,
    start: str,
    end: str,
) -> engine.Evaluation:
    errors_name, total_name = _COUNTER_PAIRS[what]
    errors = total = 0.0
    for minute in range(0, int(end) + 30):
        total += int(calls)
        errors += int(calls) * float(percent) / 100 if int(start) <= minute <= int(end) else 0
        recorder.record(total_name, minute * MINUTE, total)
        recorder.record(errors_name, minute * MINUTE, errors)
    return _evaluation(rules, recorder, int(end) + 30)


@then(parsers.parse('"{alert}" is {state} after {minutes:d} minutes'))
@then(parsers.parse('"{alert}" is {state} at minute {minutes:d}'))
def alert_state(
    evaluation: engine.Evaluation, evidence: ScenarioEvidence, alert: str, state: str, minutes: int
) -> None:
    seen = evaluation.state(alert, minutes * MINUTE)
    evidence.measure(
        f"{alert} at minute {minutes} ({seen})", {"silent": 0, "pending": 1, "firing": 2}[seen]
    )
    if seen != state:
        raise ThresholdBreached(f"{alert} is {seen} at minute {minutes}, expected {state}")


_LOADS = {
    "lookups that take about 1 ms": "SELECT id FROM users WHERE id = {n}",
    "a report that sleeps 150 ms per statement": "SELECT pg_sleep(0.15), count(*) FROM users WHERE id > {n}",
}


@when(
    parsers.parse("the application runs {load} against the database for {minutes:d} minutes"),
    target_fixture="evaluation",
)
def workload(
    rules: list[AlertRule],
    recorder: signals.Recorder,
    drill_server: PostgresServer,
    database: str,
    load: str,
    minutes: int,
) -> engine.Evaluation:
    with drill_server.connect(database) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
        for minute in range(minutes + 1):
            conn.execute(_LOADS[load].format(n=minute))
            recorder.record(
                "supabase_statement_mean_ms",
                minute * MINUTE,
                signals.slowest_statement_ms(drill_server, database),
            )
    return _evaluation(rules, recorder, minutes)


@when(
    "the database is probed every minute, stopped at minute 3 and restarted at minute 8",
    target_fixture="evaluation",
)
def probe_database(
    rules: list[AlertRule], recorder: signals.Recorder, drill_server: PostgresServer, database: str
) -> engine.Evaluation:
    for minute in range(12):
        if minute == 3:
            kill_server(drill_server)
            time.sleep(0.3)
        if minute == 8:
            restart_server(drill_server)
        recorder.record(
            "supabase_db_up", minute * MINUTE, signals.database_up(drill_server, database)
        )
    return _evaluation(rules, recorder, 11)


@when(
    parsers.parse("uploads fill the storage bucket to {percent:d} percent of its quota"),
    target_fixture="evaluation",
)
def fill_storage(
    rules: list[AlertRule], recorder: signals.Recorder, s3: Any, percent: int, buckets: Buckets
) -> engine.Evaluation:
    quota = 200_000.0
    used = signals.bucket_bytes(s3, buckets.storage)
    missing = int(quota * percent / 100 - used)
    if missing > 0:
        s3.put_object(Bucket=buckets.storage, Key="uploads/large-video.mp4", Body=b"\0" * missing)
    for minute in range(6):
        recorder.record(
            "supabase_storage_used_bytes",
            minute * MINUTE,
            signals.bucket_bytes(s3, buckets.storage),
        )
        recorder.record("supabase_storage_quota_bytes", minute * MINUTE, quota)
    return _evaluation(rules, recorder, 5)


@when(
    parsers.parse(
        "synthetic checks probe production every minute for {minutes:d} minutes with an outage of {outage:d} minutes at the end"
    ),
    target_fixture="evaluation",
)
def uptime_checks(
    rules: list[AlertRule],
    recorder: signals.Recorder,
    cloud: SimulatedCloud,
    minutes: int,
    outage: int,
) -> engine.Evaluation:
    vercel = VercelClient(
        cloud.credentials.vercel_token,
        cloud.target.vercel_project,
        cloud.target.vercel_project_name,
        cloud.clock,
    )
    vercel.wait_ready(vercel.deploy("production", "0" * 40))
    for minute in range(minutes + 1):
        if minute == minutes - outage and outage:
            cloud.vercel.break_all_deployments()
        recorder.record(
            "probe_success",
            minute * MINUTE,
            signals.probe_url("https://napoleon-ai.vercel.app/api/health"),
        )
        cloud.clock.advance(MINUTE)
    return _evaluation(rules, recorder, minutes)


@when(
    parsers.re(
        r"(?P<calls>\d+ OpenAI calls succeed|OpenAI answers 500, 429 and a timeout among 20 calls|"
        r"10 Stripe webhooks arrive correctly signed|10 Stripe webhooks arrive and 1 has a forged signature|"
        r"10 emails are delivered|10 emails are sent and 2 bounce)"
    ),
    target_fixture="evaluation",
)
def external_calls(
    rules: list[AlertRule], recorder: signals.Recorder, cloud: SimulatedCloud, calls: str
) -> engine.Evaluation:
    for name in (
        "openai_api_failures_total",
        "stripe_webhook_failures_total",
        "email_delivery_failures_total",
    ):
        recorder.count(name, 0)
    recorder.scrape_counters(0.0)
    if "OpenAI" in calls:
        if "500" in calls:
            for status in (500, 429, None):
                cloud.openai.inject(status, times=1, path_contains="/chat/completions")
        recorder.count(
            "openai_api_failures_total", signals.call_openai(cloud.credentials.openai_key, 20)
        )
    elif "Stripe" in calls:
        rejected = signals.deliver_stripe_webhooks(
            10, 1 if "forged" in calls else 0, int(time.time())
        )
        recorder.count("stripe_webhook_failures_total", rejected)
    else:
        bounces = 2 if "bounce" in calls else 0
        recorder.count(
            "email_delivery_failures_total", bounces
        )  # SendGrid event webhook: "bounce" events
    for minute in range(1, 6):
        recorder.scrape_counters(minute * MINUTE)
    return _evaluation(rules, recorder, 5)


@when(parsers.parse('"{alert}" fires and is routed'), target_fixture="routed")
def route(guide: Guide, rules: list[AlertRule], cloud: SimulatedCloud, alert: str) -> AlertRule:
    from runbook_lib.monitoring.routing import route_alert

    rule = next(r for r in rules if r.name == alert)
    route_alert(Notifier(guide, cloud.channels(), cloud.clock), rule)
    return rule


@then(parsers.parse('Slack #incidents names "{alert}", its severity and "{section}"'))
def slack_names(
    cloud: SimulatedCloud, routed: AlertRule, evidence: ScenarioEvidence, alert: str, section: str
) -> None:
    text = cloud.slack.in_channel(INCIDENTS_CHANNEL)[0]["text"]
    for part in (alert, routed.labels["severity"], section):
        evidence.check(f"Slack message names {part!r}", int(part in text), "==", 1)


@then(parsers.parse("the status page shows {count:d} incident"))
def status_incidents(cloud: SimulatedCloud, evidence: ScenarioEvidence, count: int) -> None:
    evidence.check("status page incidents", len(cloud.statuspage.incidents), "==", count)


@then("no routed message carries a credential")
def routed_clean(cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    payloads = json.dumps(
        [cloud.slack.messages, [i.body for i in cloud.statuspage.incidents.values()]]
    )
    leaked = [name for name, value in vars(cloud.credentials).items() if value in payloads]
    evidence.check("credentials in routed messages", len(leaked), "==", 0, detail=", ".join(leaked))


@then("no error rate breaks the target without tripping the guide's alert")
def error_rate_gap(guide: Guide, evidence: ScenarioEvidence) -> None:
    gaps = consistency.error_rate_gaps(guide)
    evidence.measure("silent error-rate bands", len(gaps), comparator="==", threshold=0)
    if gaps:
        findings.confirm(evidence, "GUIDE-ALERT-ERROR-RATE-GAP", "; ".join(gaps))


@then("every component's RTO fits in the monthly downtime budget of the uptime target")
def rto_budget(guide: Guide, evidence: ScenarioEvidence) -> None:
    evidence.measure(
        "monthly downtime budget at the uptime target",
        consistency.downtime_budget_seconds(guide),
        "s",
    )
    over = consistency.rto_over_budget(guide)
    evidence.measure("RTOs over the budget", len(over), comparator="==", threshold=0)
    if over:
        findings.confirm(evidence, "GUIDE-UPTIME-VS-RTO", "; ".join(over))


@when(
    parsers.parse("{builds:d} production builds run on Vercel and {failed:d} of them fail"),
    target_fixture="evaluation",
)
def vercel_builds(
    rules: list[AlertRule],
    recorder: signals.Recorder,
    cloud: SimulatedCloud,
    builds: int,
    failed: int,
) -> engine.Evaluation:
    recorder.count("vercel_build_failures_total", 0)
    recorder.scrape_counters(0.0)
    token = {"Authorization": f"Bearer {cloud.credentials.vercel_token}"}
    ids = []
    for index in range(builds):
        meta = {"simulateBuildFailure": index < failed}
        body = {
            "name": "napoleon-ai",
            "project": "prj_napoleonai",
            "target": "production",
            "meta": meta,
        }
        ids.append(
            http()
            .post("https://api.vercel.com/v13/deployments", headers=token, json=body)
            .json()["id"]
        )
    cloud.clock.advance(120)
    recorder.count(
        "vercel_build_failures_total", signals.failed_builds(cloud.credentials.vercel_token, ids)
    )
    for minute in range(1, 6):
        recorder.scrape_counters(minute * MINUTE)
    return _evaluation(rules, recorder, 5)
