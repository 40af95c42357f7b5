"""Steps of features/monitoring_alerting.feature (guide: Key Metrics, Alerting Rules).

Metric names and the series that exercise them come from the rule catalogue
(:mod:`runbook_lib.monitoring.catalog`); real readings from :mod:`runbook_lib.monitoring.signals`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from runbook_lib.drill import faults
from runbook_lib.drill.fixtures.alertmanager import AlertmanagerDrill
from runbook_lib.drill.options import DrillOptions
from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide import reading
from runbook_lib.guide.model import Guide
from runbook_lib.monitoring import (
    alertmanager,
    alertmanager_drill,
    alertmanager_heard,
    alertmanager_server,
    catalog,
    consistency,
    engine,
    signals,
    webhooks,
)
from runbook_lib.monitoring.catalog import render
from runbook_lib.monitoring.rules import AlertRule, severity_of
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.procedures.incident_response.communications import internal_channel
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MINUTE = 60.0


@pytest.fixture
def monitored_vercel(cloud: SimulatedCloud, http_client: httpx.Client) -> VercelClient:
    """The production project, on the simulated cloud's clock."""
    return cloud.vercel_client(http_client)


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
    with reading.paused():  # a file compared with its generator proves no guide item
        generated = render(guide)
    current = drill_options.config_dir.rule_file.read_text(encoding="utf-8") == generated
    evidence.check_true(
        "the configuration's alerts/napoleon-ai.rules.yml matches the guide (regenerate: runbook alerts export CONFIG/alerts)",
        current,
    )


@when(
    parsers.parse('"{metric}" holds {value:g} for {minutes:d} minutes'), target_fixture="evaluation"
)
def holds(rules: list[AlertRule], metric: str, value: float, minutes: int) -> engine.Evaluation:
    return engine.replay(rules, catalog.gauge(metric).held(value, minutes), minutes + 1)


@when(
    parsers.parse('"{metric}" holds {value:g} from minute {start:d} to minute {end:d}'),
    target_fixture="evaluation",
)
def holds_between(
    guide: Guide, rules: list[AlertRule], metric: str, value: float, start: int, end: int
) -> engine.Evaluation:
    gauge = catalog.gauge(metric)
    recovered = catalog.condition_of(guide, gauge).quiet  # well inside the target
    return engine.replay(rules, gauge.window(value, start, end, recovered, end + 29), end + 30)


@when(
    parsers.parse(
        "{what} fail {percent:g} percent of {calls:d} calls a minute from minute {start:d} to minute {end:d}"
    ),
    target_fixture="evaluation",
)
def failing_calls(
    rules: list[AlertRule], what: str, percent: float, calls: int, start: int, end: int
) -> engine.Evaluation:
    failing = catalog.ERROR_RATIOS[what].failing(percent, calls, start, end, end + 29)
    return engine.replay(rules, failing, end + 30)


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


@when(
    parsers.parse("the application runs {load} against the database for {minutes:d} minutes"),
    target_fixture="evaluation",
)
def workload(
    rules: list[AlertRule], drill_server: PostgresServer, database: str, load: str, minutes: int
) -> engine.Evaluation:
    readings = signals.run_workload(drill_server, database, load, minutes)
    return engine.replay(rules, catalog.STATEMENT_MEAN.values(readings), minutes)


@when(
    parsers.parse(
        "the database is probed every minute, stopped at minute {stop:d} and restarted at minute {restart:d}"
    ),
    target_fixture="evaluation",
)
def probe_database(
    rules: list[AlertRule], drill_server: PostgresServer, database: str, stop: int, restart: int
) -> engine.Evaluation:
    readings = signals.database_outage(drill_server, database, stop, restart)
    return engine.replay(rules, catalog.DATABASE_UP.values(readings), len(readings) - 1)


@when(
    parsers.parse("uploads fill the storage bucket to {percent:d} percent of its quota"),
    target_fixture="evaluation",
)
def fill_storage(
    rules: list[AlertRule], s3: S3Client, percent: int, buckets: Buckets
) -> engine.Evaluation:
    used = signals.fill_bucket(s3, buckets.storage, percent)
    return engine.replay(rules, catalog.STORAGE.filled([used] * 6, signals.DRILL_QUOTA_BYTES), 5)


@when(
    parsers.parse(
        "synthetic checks probe production every minute for {minutes:d} minutes with an outage of {outage:d} minutes at the end"
    ),
    target_fixture="evaluation",
)
def uptime_checks(
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    monitored_vercel: VercelClient,
    minutes: int,
    outage: int,
) -> engine.Evaluation:
    breaks = cloud.vercel.break_all_deployments
    readings = signals.production_outage(monitored_vercel, minutes, outage, breaks)
    return engine.replay(rules, catalog.PROBE.values(readings), minutes)


@when(parsers.parse("{calls:d} OpenAI calls succeed"), target_fixture="evaluation")
@when(parsers.parse("OpenAI answers {faults} among {calls:d} calls"), target_fixture="evaluation")
def openai_calls(
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    http_client: httpx.Client,
    calls: int,
    faults: str = "",
) -> engine.Evaluation:
    for status in signals.parse_faults(faults):
        cloud.openai.inject(status, times=1, path_contains="/chat/completions")
    failed = signals.call_openai(cloud.credentials.openai_key, calls, http_client)
    return engine.replay_failures(rules, catalog.OPENAI_FAILURES, failed)


@given(
    "our event webhook is subscribed to SendGrid's delivery events", target_fixture="email_events"
)
def email_webhook(cloud: SimulatedCloud, http_client: httpx.Client) -> webhooks.SendGridEvents:
    receiver = webhooks.SendGridEvents()
    cloud.app.mount(receiver.path, receiver.handle)  # served: SendGrid's posts cross real HTTPS
    webhooks.subscribe_sendgrid(receiver, cloud.credentials.sendgrid_key, http_client, cloud.clock)
    return receiver


@given(parsers.parse("SendGrid {fault}"))
def sendgrid_fault(cloud: SimulatedCloud, fault: str) -> None:
    faults.find(faults.CLOUD, f"SendGrid {fault}").apply(cloud)


@when(
    parsers.parse(
        "the app sends {sent:d} emails through SendGrid, {missing:d} of them to mailboxes that do not exist"
    ),
    target_fixture="outbox",
)
def send_emails(
    cloud: SimulatedCloud, http_client: httpx.Client, sent: int, missing: int
) -> signals.Outbox:
    recipients = signals.customers(sent)
    cloud.sendgrid.event_webhook.unknown_mailboxes.update(recipients[:missing])
    return signals.send_emails(recipients, cloud.credentials.sendgrid_key, http_client, cloud.clock)


@when("SendGrid posts its delivery events to our webhook", target_fixture="evaluation")
def sendgrid_posts(
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    email_events: webhooks.SendGridEvents,
    outbox: signals.Outbox,
    http_client: httpx.Client,
) -> engine.Evaluation:
    cloud.sendgrid.event_webhook.post(http_client)
    failures = signals.email_delivery_failures(outbox, email_events)
    return engine.replay_failures(rules, catalog.EMAIL_FAILURES, failures)


@then(parsers.parse("SendGrid's events told our webhook the fate of {reported:d} emails"))
def fates_reported(
    email_events: webhooks.SendGridEvents,
    outbox: signals.Outbox,
    evidence: ScenarioEvidence,
    reported: int,
) -> None:
    evidence.measure("sends SendGrid accepted", len(outbox.accepted))
    evidence.measure(
        "sends SendGrid refused", len(outbox.refused), detail="; ".join(outbox.refused[:1])
    )
    evidence.measure(
        "emails bounced or dropped, as SendGrid's events said", email_events.failures()
    )
    heard = email_events.reported(outbox.accepted)
    evidence.check(
        "accepted emails whose fate SendGrid's events told our webhook", heard, "==", reported
    )


@given(
    "our webhook endpoint is registered with Stripe for invoice.paid events",
    target_fixture="stripe_endpoint",
)
def stripe_endpoint(cloud: SimulatedCloud, http_client: httpx.Client) -> webhooks.StripeEndpoint:
    key = cloud.credentials.stripe_key
    endpoint = webhooks.register_stripe([signals.STRIPE_EVENT], key, http_client, cloud.clock)
    cloud.redactor.register(endpoint.secret)
    cloud.app.mount(endpoint.path, endpoint.handle)  # served: deliveries cross real HTTPS
    return endpoint


@when(
    parsers.parse("Stripe delivers {events:d} invoice.paid events to our endpoint"),
    target_fixture="evaluation",
)
def stripe_delivers(
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    stripe_endpoint: webhooks.StripeEndpoint,
    http_client: httpx.Client,
    events: int,
) -> engine.Evaluation:
    signals.stripe_events(cloud.stripe, http_client, events, cloud.clock.now())
    return _stripe_alert(rules, stripe_endpoint)


@when(
    parsers.parse(
        "Stripe delivers {events:d} invoice.paid events and someone else posts {forged:d} signed with a secret of its own"
    ),
    target_fixture="evaluation",
)
def stripe_and_forger(
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    stripe_endpoint: webhooks.StripeEndpoint,
    http_client: httpx.Client,
    events: int,
    forged: int,
) -> engine.Evaluation:
    signals.stripe_events(cloud.stripe, http_client, events, cloud.clock.now())
    signals.forged_deliveries(http_client, stripe_endpoint.url, forged, cloud.clock.now())
    return _stripe_alert(rules, stripe_endpoint)


@when(
    parsers.parse(
        "Stripe delivers {events:d} invoice.paid events and someone posts the last one again {minutes:d} minutes later"
    ),
    target_fixture="evaluation",
)
def stripe_and_replay(
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    stripe_endpoint: webhooks.StripeEndpoint,
    http_client: httpx.Client,
    events: int,
    minutes: int,
) -> engine.Evaluation:
    signals.stripe_events(cloud.stripe, http_client, events, cloud.clock.now())
    signals.replayed_delivery(cloud.stripe, http_client, cloud.clock, minutes)
    return _stripe_alert(rules, stripe_endpoint)


@when(
    parsers.parse(
        "Stripe rolls our endpoint's signing secret, keeping the old one {hours:d} hours, and delivers {events:d} invoice.paid events"
    ),
    target_fixture="evaluation",
)
def stripe_rolls_secret(
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    stripe_endpoint: webhooks.StripeEndpoint,
    http_client: httpx.Client,
    hours: int,
    events: int,
) -> engine.Evaluation:
    now = cloud.clock.now()
    cloud.stripe.roll_secret(stripe_endpoint.endpoint_id, now, timedelta(hours=hours))
    signals.stripe_events(cloud.stripe, http_client, events, now)
    return _stripe_alert(rules, stripe_endpoint)


def _stripe_alert(rules: list[AlertRule], endpoint: webhooks.StripeEndpoint) -> engine.Evaluation:
    failures = signals.stripe_webhook_failures(endpoint)
    return engine.replay_failures(rules, catalog.STRIPE_FAILURES, failures)


@then(parsers.parse("our endpoint accepted {accepted:d} deliveries and refused {refused:d}"))
def stripe_answers(
    stripe_endpoint: webhooks.StripeEndpoint,
    evidence: ScenarioEvidence,
    accepted: int,
    refused: int,
) -> None:
    why = "; ".join(stripe_endpoint.reasons())
    evidence.check("deliveries our endpoint accepted", stripe_endpoint.accepted, "==", accepted)
    evidence.check(
        "deliveries our endpoint refused", stripe_endpoint.refused, "==", refused, detail=why
    )


# -- Alertmanager: the committed configuration, and a real one on loopback ----------------------


@then("the committed Alertmanager configuration is what the guide generates")
def alertmanager_file_current(
    guide: Guide, drill_options: DrillOptions, evidence: ScenarioEvidence
) -> None:
    deployed = drill_options.config_dir.alertmanager_file.read_text(encoding="utf-8")
    with reading.paused():  # a file compared with its generator proves no guide item
        generated = alertmanager.render(guide)
    evidence.check_true(
        "the configuration's alerts/alertmanager.yml matches the guide (regenerate: runbook alerts export CONFIG/alerts)",
        deployed == generated,
    )


@then("amtool accepts the committed Alertmanager configuration")
def amtool_accepts(drill_options: DrillOptions, evidence: ScenarioEvidence) -> None:
    accepted, said = alertmanager_server.check_config(drill_options.config_dir.alertmanager_file)
    evidence.check_true("amtool check-config accepts alerts/alertmanager.yml", accepted, said)


@then("amtool routes every severity of the deployed rules to the receiver the guide calls for")
def amtool_routes(
    guide: Guide, rules: list[AlertRule], drill_options: DrillOptions, evidence: ScenarioEvidence
) -> None:
    path = drill_options.config_dir.alertmanager_file
    for severity in sorted({r.labels["severity"] for r in rules}):
        wanted = alertmanager.tier(guide, severity).receiver
        routed = alertmanager_server.routes_for(path, {"severity": severity})
        evidence.check_true(
            f"amtool routes severity={severity} to {wanted}", routed == [wanted], ", ".join(routed)
        )


@given("a real Alertmanager running the committed configuration")
def real_alertmanager(alertmanager: AlertmanagerDrill, evidence: ScenarioEvidence) -> None:
    evidence.measure("Alertmanager start-up", alertmanager.server.startup_seconds, "s")
    for change in alertmanager.as_run.changes:
        evidence.note(f"Alertmanager as the drill runs it: {change}")


@given("Slack's webhook answers 500 to every post")
def slack_fails(cloud: SimulatedCloud) -> None:
    cloud.slack.inject(500, times=10**9)


@when(
    parsers.parse("Alertmanager is sent the evaluator's alerts until minute {minute:d}"),
    target_fixture="played",
)
def send_to_alertmanager(
    alertmanager: AlertmanagerDrill,
    evaluation: engine.Evaluation,
    cloud: SimulatedCloud,
    evidence: ScenarioEvidence,
    minute: int,
) -> alertmanager_drill.Played:
    played = alertmanager_drill.play(alertmanager.server, evaluation, cloud.clock, minute)
    evidence.note(alertmanager_drill.describe(played))
    evidence.measure("alerts posted to Alertmanager", len(played.posts))
    evidence.measure("latest post behind its scaled time", played.worst_lag_seconds, "s")
    return played


@then(
    parsers.parse(
        'the guide\'s incident channel was told "{alert}" is firing, naming its severity and "{section}"'
    )
)
def told_firing(
    guide: Guide,
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    played: alertmanager_drill.Played,
    evidence: ScenarioEvidence,
    alert: str,
    section: str,
) -> None:
    heard = alertmanager_heard.slack(cloud, internal_channel(guide), played)
    told = [n for n in heard if n.status == "firing" and n.firing(alert)]
    evidence.check(
        f"firing notifications of {alert} in {internal_channel(guide)}", len(told), ">=", 1
    )
    severity = severity_of(rules, alert)
    for part in (f"{alert} [{severity}]", f"guide: {section}"):
        evidence.check_true(f"the notification says {part!r}", part in told[0].text, told[0].text)


@then(
    parsers.parse(
        'every channel the guide names for the alert\'s severity heard "{alert}", and no other channel did'
    )
)
def channels_heard(
    guide: Guide,
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    played: alertmanager_drill.Played,
    evidence: ScenarioEvidence,
    alert: str,
) -> None:
    severity = severity_of(rules, alert)
    wanted = alertmanager_heard.expected(alertmanager.tier(guide, severity))
    for channel, heard in alertmanager_heard.channels(cloud, guide, played).items():
        told = sum(n.firing(alert) for n in heard)
        evidence.check_true(
            f"{channel} {'heard' if channel in wanted else 'did not hear'} {alert} ({severity})",
            (told > 0) == (channel in wanted),
            f"{told} firing notification(s)",
        )


@then("no notification carries a credential")
def notifications_clean(cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    leaked = alertmanager_heard.credentials_in(cloud)
    evidence.check("credentials in notifications", len(leaked), "==", 0, detail=", ".join(leaked))


@then(
    parsers.parse(
        'one notification to the guide\'s incident channel lists every page window of "{alert}"'
    )
)
def grouped(
    guide: Guide,
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    played: alertmanager_drill.Played,
    evidence: ScenarioEvidence,
    alert: str,
) -> None:
    top = alertmanager.severities(guide)[0]
    pages = {
        r.labels.get("window", "") for r in rules if r.name == alert and r.labels["severity"] == top
    }
    heard = alertmanager_heard.slack(cloud, internal_channel(guide), played)
    widest = max((n.windows(alert) for n in heard), key=len, default=set())
    evidence.measure(f"notifications naming {alert}", sum(n.names(alert) for n in heard))
    evidence.check_true(
        f"one notification lists every page window of {alert} ({', '.join(sorted(pages))})",
        pages <= widest,
        f"the most one listed: {', '.join(sorted(widest)) or 'none'}",
    )


@then(
    parsers.parse(
        "the guide's incident channel heard \"{alert}\" again each time its level's response was due"
    )
)
def repeated(
    guide: Guide,
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    played: alertmanager_drill.Played,
    evidence: ScenarioEvidence,
    alert: str,
) -> None:
    severity = severity_of(rules, alert)
    level = alertmanager.tier(guide, severity).level
    due, interval = level.response_seconds / 60, alertmanager.GROUP_INTERVAL / 60
    heard = alertmanager_heard.slack(cloud, internal_channel(guide), played)
    gaps = alertmanager_heard.repeat_gaps(heard, alert)
    lag = alertmanager_heard.lag(heard, alert, played, alertmanager.GROUP_WAIT / 60)
    slack = lag + played.jitter_minutes
    said = (
        f"{level.level} response {level.response_text}; gaps {', '.join(f'{g:.1f}' for g in gaps)} "
        f"min; a repeat waits for Alertmanager's next flush (group interval {interval:g} min); "
        f"delivery lag {lag:.1f} + jitter {played.jitter_minutes:g} min"
    )
    evidence.check("repeats of the firing notification", len(gaps), ">=", 1, detail=said)
    evidence.check("shortest gap", min(gaps), ">=", due - slack, "min", said)
    evidence.check("longest gap", max(gaps), "<=", due + interval + slack, "min", said)


@then(
    parsers.parse(
        'the guide\'s incident channel heard "{alert}" fire {times:d} times, Alertmanager holding it {state}'
    )
)
def held_as(
    guide: Guide,
    alertmanager: AlertmanagerDrill,
    cloud: SimulatedCloud,
    played: alertmanager_drill.Played,
    evidence: ScenarioEvidence,
    alert: str,
    times: int,
    state: str,
) -> None:
    held = alertmanager_drill.held_states(alertmanager.server, alert)
    evidence.check_true(f"Alertmanager holds {alert} {state}", held == [state], ", ".join(held))
    heard = alertmanager_heard.slack(cloud, internal_channel(guide), played)
    evidence.check(
        f"firing notifications of {alert}", sum(n.firing(alert) for n in heard), "==", times
    )


@when(
    parsers.parse(
        '"{first}" holds {one:g} and "{second}" holds {other:g}, both for {minutes:d} minutes'
    ),
    target_fixture="evaluation",
)
def both_hold(
    rules: list[AlertRule], first: str, one: float, second: str, other: float, minutes: int
) -> engine.Evaluation:
    held = {**catalog.gauge(first).held(one, minutes), **catalog.gauge(second).held(other, minutes)}
    return engine.replay(rules, held, minutes + 1)


@then(
    parsers.parse(
        'every channel that heard "{alert}" fire heard it resolved within Alertmanager\'s group interval'
    )
)
def resolved_everywhere(
    guide: Guide,
    cloud: SimulatedCloud,
    played: alertmanager_drill.Played,
    evidence: ScenarioEvidence,
    alert: str,
) -> None:
    wait, interval = alertmanager.GROUP_WAIT / 60, alertmanager.GROUP_INTERVAL / 60
    delays = alertmanager_heard.resolution_delays(cloud, guide, played, alert, wait)
    evidence.check(f"channels that heard {alert} fire, once it resolved", len(delays), ">=", 1)
    for channel, (delay, lag) in delays.items():
        evidence.check_true(f"{channel} heard {alert} resolved", delay is not None)
        bound = interval + lag + played.jitter_minutes
        why = f"group interval {interval:g} + the channel's delivery lag {lag:.1f} + jitter {played.jitter_minutes:g}"
        evidence.check(
            f"{channel}: resolved notice after the resolution",
            delay or 0.0,
            "<=",
            bound,
            "min",
            why,
        )


@then(parsers.parse('the status page incident opened for "{alert}" is resolved'))
def status_page_resolved(cloud: SimulatedCloud, evidence: ScenarioEvidence, alert: str) -> None:
    incidents = alertmanager_heard.status_page(cloud, alert)
    evidence.check(f"status page incidents opened for {alert}", len(incidents), "==", 1)
    evidence.check_true(
        f"the incident is resolved ({incidents[0][1]})", incidents[0][1] == "resolved"
    )


@then(
    "Slack answered Alertmanager 500 more than once and posted nothing into the guide's incident channel"
)
def slack_refused(guide: Guide, cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    asked = [r for r in cloud.slack.requests if r.method == "POST"]  # each answered 500
    evidence.check("posts Alertmanager made to Slack's webhook", len(asked), ">=", 2)
    posted = cloud.slack.received_in(internal_channel(guide))
    evidence.check(f"messages in {internal_channel(guide)}", len(posted), "==", 0)


@then("Alertmanager counts its failed Slack requests")
def failures_counted(alertmanager: AlertmanagerDrill, evidence: ScenarioEvidence) -> None:
    server = alertmanager.server
    sent = server.metric("alertmanager_notification_requests_total", integration="slack")
    failed = server.metric("alertmanager_notification_requests_failed_total", integration="slack")
    evidence.measure("Slack requests Alertmanager made", sent)
    evidence.check("Slack requests Alertmanager counts failed", failed, ">=", 2)


@then(parsers.parse('the status page and the guide\'s emails still heard "{alert}"'))
def others_heard(
    guide: Guide,
    rules: list[AlertRule],
    cloud: SimulatedCloud,
    played: alertmanager_drill.Played,
    evidence: ScenarioEvidence,
    alert: str,
) -> None:
    severity = severity_of(rules, alert)
    wanted = alertmanager_heard.expected(alertmanager.tier(guide, severity))
    heard = alertmanager_heard.channels(cloud, guide, played)
    for channel in sorted(wanted - {f"Slack {internal_channel(guide)}"}):
        told = sum(n.names(alert) or alert in n.text for n in heard[channel])
        evidence.check(f"{channel}: notifications of {alert}", told, ">=", 1)


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
    rules: list[AlertRule], monitored_vercel: VercelClient, builds: int, failed: int
) -> engine.Evaluation:
    failures = signals.run_builds(monitored_vercel, builds, failed)
    return engine.replay_failures(rules, catalog.BUILD_FAILURES, failures)
