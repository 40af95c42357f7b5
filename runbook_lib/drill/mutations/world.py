"""World faults: the world the procedures act on is broken, or a fault a scenario expects is
never injected.

- *game days*: a run-wide fault of :mod:`runbook_lib.drill.faults` is active everywhere;
- *withheld*: a fault a ``@fault`` scenario injects does nothing, so the broken world the
  scenario claims to detect never happens and its "detected" check must turn red;
- *deployed rules*: the alert rule file Prometheus runs (the configuration's
  ``alerts/napoleon-ai.rules.yml``) differs from the guide: a threshold, comparator, ``for:``,
  ``keep_firing_for:`` or severity;
- *servers and simulations*: a setting of the drill server, the seeded data, the aws CLI's
  endpoint or a simulation's credential check is broken;
- *signals*: what the monitoring reads from the world (a probe, a counter, a signature check)
  reads nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runbook_lib.drill.mutations.base import Edit, Mutation, Patch

SIGNALS = "runbook_lib.monitoring.signals"
ALERTS = ("monitoring_alerting",)


def _game_day(fault: str, breaks: str, features: tuple[str, ...]) -> Mutation:
    return Mutation(f"game-day-{fault}", "world fault", breaks, features, game_day=fault)


def _withheld(name: str, breaks: str, features: tuple[str, ...], *faults: str) -> Mutation:
    return Mutation(name, "world fault", breaks, features, withheld=faults)


def _rules(name: str, breaks: str, *edits: Edit) -> Mutation:
    return Mutation(name, "world fault", breaks, ALERTS, rules=edits)


def _patched(
    name: str, breaks: str, features: tuple[str, ...], target: str, make: Callable[[Any], Any]
) -> Mutation:
    return Mutation(name, "world fault", breaks, features, patches=(Patch(target, make),))


def _constant(value: Any) -> Callable[[Any], Any]:
    def make(_original: Any) -> Callable[..., Any]:
        def reads(*_args: Any, **_kwargs: Any) -> Any:
            return value

        return reads

    return make


def _without_pg_stat_statements(settings: dict[str, str]) -> dict[str, str]:
    return {**settings, "shared_preload_libraries": "''"}


def _seed_with_card(original: Callable[..., dict[str, int]]) -> Callable[..., dict[str, int]]:
    def seed(conn: Any, size: Any) -> dict[str, int]:
        counts = original(conn, size)
        conn.execute("UPDATE emails SET subject = 'card 4111111111111111 exp 12/29' WHERE id = 2")
        return counts

    return seed


def _aws_cli_elsewhere(original: Callable[..., Any]) -> Callable[..., Any]:
    import os

    def run(argv: Any, *args: Any, env: Any = None, **kwargs: Any) -> Any:
        if list(argv)[:1] == ["aws"]:
            env = {**(env or os.environ), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
        return original(argv, *args, env=env, **kwargs)

    return run


PLAIN_HBA = """local all all trust
host  all all 127.0.0.1/32 scram-sha-256
"""

RESPONSE_TIME = "expr: avg_response_time_ms >= 500"
ERROR_RATE = "sum(rate(vercel_function_invocations_total[5m])) > 0.05"
EXTERNAL = (
    "openai_api_failures_total",
    "stripe_webhook_failures_total",
    "email_delivery_failures_total",
)


def _external(new: str) -> tuple[Edit, ...]:
    return tuple((f"increase({m}[5m]) > 0", f"increase({m}[5m]) {new}") for m in EXTERNAL)


WORLD_FAULTS: tuple[Mutation, ...] = (
    # -- game days: a run-wide fault of the registry --
    _game_day(
        "supabase-outage",
        "the Supabase Management API answers 503 to every request",
        ("backup_recovery", "drill_environment"),
    ),
    _game_day(
        "vercel-builds-fail",
        "every new Vercel deployment fails its build",
        ("deployment", "monitoring_alerting"),
    ),
    _game_day(
        "slack-webhook-revoked",
        "the Slack #incidents webhook is revoked",
        ("incident_response", "maintenance_windows", "monitoring_alerting"),
    ),
    _game_day(
        "statuspage-down",
        "the status page API answers 503 to every request",
        ("incident_response", "maintenance_windows", "monitoring_alerting"),
    ),
    _game_day(
        "sendgrid-outage",
        "SendGrid answers 500 to every mail send",
        ("incident_response", "maintenance_windows", "monitoring_alerting"),
    ),
    _game_day(
        "sendgrid-events-stalled",
        "SendGrid's Event Webhook never posts an event",
        ALERTS,
    ),
    _game_day("stripe-webhooks-paused", "Stripe delivers no webhook event", ALERTS),
    # -- faults the @fault scenarios inject, withheld --
    _withheld(
        "stored-backup-damage-withheld",
        "the stored backups the damaged-backup scenarios corrupt stay sound",
        ("backup_recovery",),
        "corrupted-dump",
        "truncated-dump",
        "corrupted-dump-checksummed",
        "truncated-dump-checksummed",
    ),
    _withheld(
        "restore-data-loss-withheld",
        "the restores the lossy-restore scenarios damage lose nothing",
        ("backup_recovery",),
        "lossy-restore-rows",
        "lossy-restore-table",
        "lossy-restore-row",
    ),
    _withheld(
        "server-kill-withheld",
        "the server is not killed during the restore",
        ("backup_recovery",),
        "server-killed",
    ),
    _withheld(
        "s3-throttling-withheld",
        "S3 never answers SlowDown to the backup upload",
        ("backup_recovery",),
        "s3-throttling",
    ),
    _withheld(
        "storage-object-loss-withheld",
        "no object disappears from the storage backup",
        ("backup_recovery",),
        "storage-object-lost",
    ),
    _withheld(
        "supabase-faults-withheld",
        "the Management API neither rejects the token, nor answers 503, nor leaves requests unanswered",
        ("backup_recovery",),
        "supabase-token-revoked",
        "supabase-outage",
        "supabase-no-answer",
    ),
    _withheld(
        "release-faults-withheld",
        "no release breaks its tests, build, staging build or staging health",
        ("deployment",),
        "failing-tests",
        "failing-build",
        "staging-build-fails",
        "staging-unhealthy",
    ),
    _withheld(
        "vercel-faults-withheld",
        "the Vercel API neither fails, leaves requests unanswered, rejects the token nor hangs a build",
        ("deployment",),
        "vercel-outage",
        "vercel-no-answer",
        "vercel-token-revoked",
        "vercel-build-hangs",
    ),
    _withheld(
        "sendgrid-refusal-withheld",
        "SendGrid accepts the sends the refusal scenario expects it to refuse",
        ALERTS,
        "sendgrid-outage",
    ),
    _withheld(
        "stray-grant-withheld",
        "no junior developer is granted access",
        ("security",),
        "stray-grant",
    ),
    _withheld(
        "card-paste-withheld",
        "no card number is pasted into an email",
        ("security",),
        "card-number-pasted",
    ),
    _withheld(
        "share-lock-withheld",
        "no session holds a SHARE lock during the index build",
        ("performance_optimization",),
        "share-lock",
    ),
    # -- the deployed alert rule file differs from the guide --
    _rules(
        "rule-response-time-strict",
        "the deployed response-time rule fires above 500 ms, not at it",
        (RESPONSE_TIME, "expr: avg_response_time_ms > 500"),
    ),
    _rules(
        "rule-response-time-in-seconds",
        "the deployed response-time rule compares milliseconds with 0.5 (seconds)",
        (RESPONSE_TIME, "expr: avg_response_time_ms >= 0.5"),
    ),
    _rules(
        "rule-response-time-700ms",
        "the deployed response-time rule fires at 700 ms",
        (RESPONSE_TIME, "expr: avg_response_time_ms >= 700"),
    ),
    _rules(
        "rule-response-time-for-2m",
        "the deployed response-time rule fires after 2 minutes, not 5",
        (f"{RESPONSE_TIME}\n    for: 5m", f"{RESPONSE_TIME}\n    for: 2m"),
    ),
    _rules(
        "rule-response-time-severity-critical",
        "the deployed response-time rule pages as critical",
        (
            f"{RESPONSE_TIME}\n    for: 5m\n    labels:\n      severity: warning",
            f"{RESPONSE_TIME}\n    for: 5m\n    labels:\n      severity: critical",
        ),
    ),
    _rules(
        "rule-function-time-inclusive",
        "the deployed function-time rule fires at 10 s, not above it",
        (
            "vercel_function_duration_seconds[5m]) > 10",
            "vercel_function_duration_seconds[5m]) >= 10",
        ),
    ),
    _rules(
        "rule-function-time-in-milliseconds",
        "the deployed function-time rule compares seconds with 10000 (milliseconds)",
        (
            "vercel_function_duration_seconds[5m]) > 10",
            "vercel_function_duration_seconds[5m]) > 10000",
        ),
    ),
    _rules(
        "rule-query-target-strict",
        "the deployed query-target rule fires above 100 ms, not at it",
        ("avg(supabase_query_mean_ms) >= 100", "avg(supabase_query_mean_ms) > 100"),
    ),
    _rules(
        "rule-query-target-in-seconds",
        "the deployed query-target rule compares milliseconds with 0.1 (seconds)",
        ("avg(supabase_query_mean_ms) >= 100", "avg(supabase_query_mean_ms) >= 0.1"),
    ),
    _rules(
        "rule-ai-response-strict",
        "the deployed AI response rule fires above 2 s, not at it",
        ("avg(openai_response_seconds) >= 2", "avg(openai_response_seconds) > 2"),
    ),
    _rules(
        "rule-ai-response-1.5s",
        "the deployed AI response rule fires at 1.5 s",
        ("avg(openai_response_seconds) >= 2", "avg(openai_response_seconds) >= 1.5"),
    ),
    _rules(
        "rule-function-error-rate-3-percent",
        "the deployed function error-rate rule fires above 3%",
        (ERROR_RATE, ERROR_RATE.replace("0.05", "0.03")),
    ),
    _rules(
        "rule-function-error-rate-7-percent",
        "the deployed function error-rate rule fires above 7%",
        (ERROR_RATE, ERROR_RATE.replace("0.05", "0.07")),
    ),
    _rules(
        "rule-function-error-rate-for-2m",
        "the deployed function error-rate rule fires after 2 minutes, not 5",
        (f"{ERROR_RATE}\n    for: 5m", f"{ERROR_RATE}\n    for: 2m"),
    ),
    _rules(
        "rule-function-error-rate-no-keep-firing",
        "the deployed function error-rate rule stops firing as soon as the rate recovers",
        (f"{ERROR_RATE}\n    for: 5m\n    keep_firing_for: 5m\n", f"{ERROR_RATE}\n    for: 5m\n"),
    ),
    _rules(
        "rule-function-error-rate-keep-firing-10m",
        "the deployed function error-rate rule keeps firing 10 minutes after recovery",
        (
            f"{ERROR_RATE}\n    for: 5m\n    keep_firing_for: 5m",
            f"{ERROR_RATE}\n    for: 5m\n    keep_firing_for: 10m",
        ),
    ),
    _rules(
        "rule-error-rate-target-2-percent",
        "the deployed error-rate target rule fires at 2%",
        (
            "sum(rate(http_requests_total[5m])) >= 0.01",
            "sum(rate(http_requests_total[5m])) >= 0.02",
        ),
    ),
    _rules(
        "rule-error-rate-target-half-percent",
        "the deployed error-rate target rule fires at 0.5%",
        (
            "sum(rate(http_requests_total[5m])) >= 0.01",
            "sum(rate(http_requests_total[5m])) >= 0.005",
        ),
    ),
    _rules(
        "rule-slow-statement-200ms",
        "the deployed slow-statement rule fires at 200 ms",
        ("max(supabase_statement_mean_ms) >= 100", "max(supabase_statement_mean_ms) >= 200"),
    ),
    _rules(
        "rule-slow-statement-1-microsecond",
        "the deployed slow-statement rule fires at 0.001 ms, below any statement's time",
        ("max(supabase_statement_mean_ms) >= 100", "max(supabase_statement_mean_ms) >= 0.001"),
    ),
    _rules(
        "rule-database-down-for-10m",
        "the deployed database-down rule waits 10 minutes before firing",
        ("supabase_db_up == 0\n    for: 1m", "supabase_db_up == 0\n    for: 10m"),
    ),
    _rules(
        "rule-database-down-severity-warning",
        "the deployed database-down rule is only a warning",
        (
            "supabase_db_up == 0\n    for: 1m\n    labels:\n      severity: critical",
            "supabase_db_up == 0\n    for: 1m\n    labels:\n      severity: warning",
        ),
    ),
    _rules(
        "rule-storage-quota-110-percent",
        "the deployed quota rule fires at 110% of the quota",
        ("supabase_storage_quota_bytes >= 1", "supabase_storage_quota_bytes >= 1.1"),
    ),
    _rules(
        "rule-storage-quota-90-percent",
        "the deployed quota rule fires at 90% of the quota",
        ("supabase_storage_quota_bytes >= 1", "supabase_storage_quota_bytes >= 0.9"),
    ),
    _rules(
        "rule-build-failures-always",
        "the deployed build-failure rule fires without a failure",
        ("vercel_build_failures_total[15m]) > 0", "vercel_build_failures_total[15m]) >= 0"),
    ),
    _rules(
        "rule-build-failures-two",
        "the deployed build-failure rule needs two failed builds",
        ("vercel_build_failures_total[15m]) > 0", "vercel_build_failures_total[15m]) > 1"),
    ),
    _rules(
        "rule-uptime-burn-always",
        "the deployed fast-burn uptime rule fires without an error",
        (
            "(1 - avg_over_time(probe_success[1h])) > 0.0144 and (1 - avg_over_time(probe_success[5m])) > 0.0144",
            "(1 - avg_over_time(probe_success[1h])) >= 0 and (1 - avg_over_time(probe_success[5m])) >= 0",
        ),
    ),
    _rules(
        "rule-external-failures-always",
        "the deployed OpenAI, Stripe and email rules fire without a failure",
        *_external(">= 0"),
    ),
    _rules(
        "rule-external-failures-need-four",
        "the deployed OpenAI, Stripe and email rules need four failures",
        *_external("> 3"),
    ),
    # -- servers, data, clients and simulations --
    _patched(
        "pg-stat-statements-not-loaded",
        "the drill server does not preload pg_stat_statements",
        ("drill_environment",),
        "runbook_lib.world.postgres:DRILL_SETTINGS",
        _without_pg_stat_statements,
    ),
    _patched(
        "seed-writes-19-emails-per-user",
        "the seeded dataset gives every user 19 emails",
        ("drill_environment",),
        "runbook_lib.world.dataset:EMAILS_PER_USER",
        lambda _original: 19,
    ),
    _patched(
        "seed-holds-a-card-number",
        "the seeded production data holds a card number in an email subject",
        ("security",),
        "runbook_lib.world.dataset:seed",
        _seed_with_card,
    ),
    _patched(
        "aws-cli-reaches-another-endpoint",
        "the aws CLI is pointed at a closed port instead of the simulated S3",
        ("drill_environment",),
        "runbook_lib.world.shell:run",
        _aws_cli_elsewhere,
    ),
    _patched(
        "supabase-accepts-any-credential",
        "the simulated Management API accepts any request, with any credential or none",
        ("drill_environment", "backup_recovery"),
        "runbook_lib.sim.supabase:SupabaseFake.authorized",
        _constant(True),
    ),
    _patched(
        "database-accepts-plain-connections",
        "the database's pg_hba.conf accepts connections without TLS",
        ("security",),
        "runbook_lib.procedures.security.encryption:TLS_ONLY_HBA",
        lambda _original: PLAIN_HBA,
    ),
    # -- what monitoring reads from the world --
    _patched(
        "probe-sees-no-outage",
        "the synthetic uptime check reports production up without asking it",
        ALERTS,
        f"{SIGNALS}:probe_url",
        _constant(1.0),
    ),
    _patched(
        "database-probe-sees-no-outage",
        "the database probe reports the database up without connecting",
        ALERTS,
        f"{SIGNALS}:database_up",
        _constant(1.0),
    ),
    _patched(
        "slow-statement-reading-blind",
        "the slowest-statement reading is always 0 ms",
        ALERTS,
        f"{SIGNALS}:slowest_statement_ms",
        _constant(0.0),
    ),
    _patched(
        "bucket-size-reading-blind",
        "the storage usage reading is always 0 bytes",
        ALERTS,
        f"{SIGNALS}:bucket_bytes",
        _constant(0.0),
    ),
    _patched(
        "build-failures-not-counted",
        "failed Vercel builds are not counted",
        ALERTS,
        f"{SIGNALS}:failed_builds",
        _constant(0.0),
    ),
    _patched(
        "openai-failures-not-counted",
        "failed OpenAI calls are not counted",
        ALERTS,
        f"{SIGNALS}:call_openai",
        _constant(0),
    ),
    _patched(
        "stripe-signature-check-disabled",
        "our Stripe endpoint accepts any signature, however old or forged",
        ALERTS,
        "runbook_lib.monitoring.webhooks:verify_stripe_signature",
        _constant(""),
    ),
)
