"""Faults of the simulated services: the Supabase Management API (guide: Database Backups),
the Vercel API (guide: Deployment Procedures), Slack and the status page (guide: Incident
Response), SendGrid and Stripe (guide: Alerting Rules, External Service Alerts). Each acts on a
:class:`~runbook_lib.sim.cloud.SimulatedCloud`."""

from __future__ import annotations

from runbook_lib.drill.faults.base import Fault
from runbook_lib.sim.cloud import SimulatedCloud

EVERY = 10**9  # requests: more than any run makes


def _supabase_down(cloud: SimulatedCloud) -> None:
    cloud.supabase.inject(503, times=EVERY)


def _supabase_token_revoked(cloud: SimulatedCloud) -> None:
    cloud.supabase.tokens.clear()


def _supabase_never_answers(cloud: SimulatedCloud) -> None:
    cloud.supabase.inject(None, times=100)


def _supabase_blip(cloud: SimulatedCloud) -> None:
    cloud.supabase.inject(502, times=1)


def _vercel_builds_fail(cloud: SimulatedCloud) -> None:
    cloud.vercel.backend.fail_all_builds = True


def _vercel_down(cloud: SimulatedCloud) -> None:
    cloud.vercel.inject(503, times=1000, method="POST")


def _vercel_never_answers(cloud: SimulatedCloud) -> None:
    cloud.vercel.inject(None, times=1000, method="POST")


def _vercel_token_revoked(cloud: SimulatedCloud) -> None:
    cloud.vercel.tokens.clear()


def _vercel_build_hangs(cloud: SimulatedCloud) -> None:
    cloud.vercel.backend.build_seconds = EVERY


def _slack_revoked(cloud: SimulatedCloud) -> None:
    cloud.slack.channels.clear()


def _statuspage_down(cloud: SimulatedCloud) -> None:
    cloud.statuspage.inject(503, times=EVERY)


def _sendgrid_refuses_sends(cloud: SimulatedCloud) -> None:
    cloud.sendgrid.inject(500, times=EVERY, path_contains="/v3/mail/send")


def _sendgrid_events_stalled(cloud: SimulatedCloud) -> None:
    cloud.sendgrid.event_webhook.stalled = True


def _stripe_webhooks_paused(cloud: SimulatedCloud) -> None:
    cloud.stripe.paused = True


FAULTS: tuple[Fault[SimulatedCloud, None], ...] = (
    Fault(
        "supabase-outage",
        "the Supabase Management API answers 503 to every request",
        "detected",
        _supabase_down,
        says="the Management API answers 503 to every request",
        run_wide=True,
    ),
    Fault(
        "supabase-token-revoked",
        "the Supabase Management API rejects the access token (401)",
        "detected",
        _supabase_token_revoked,
        says="the Management API rejects the access token",
    ),
    Fault(
        "supabase-no-answer",
        "every Supabase Management API request goes unanswered (the connection closes)",
        "detected",
        _supabase_never_answers,
        says="the Management API never answers a request",
    ),
    Fault(
        "supabase-blip",
        "the Supabase Management API answers 502 once",
        "survived",
        _supabase_blip,
        says="the Management API answers 502 once and then recovers",
    ),
    Fault(
        "vercel-builds-fail",
        "every new Vercel deployment fails its build",
        "detected",
        _vercel_builds_fail,
        run_wide=True,
    ),
    Fault(
        "vercel-outage",
        "the Vercel API answers 503 to every deployment request",
        "detected",
        _vercel_down,
        says="the Vercel API answers 503 to every request",
    ),
    Fault(
        "vercel-no-answer",
        "every Vercel deployment request goes unanswered (the connection closes)",
        "detected",
        _vercel_never_answers,
        says="the Vercel API never answers a request",
    ),
    Fault(
        "vercel-token-revoked",
        "the Vercel API rejects the token (403, invalidToken)",
        "detected",
        _vercel_token_revoked,
        says="the Vercel API rejects the token",
    ),
    Fault(
        "vercel-build-hangs",
        "a Vercel build never finishes",
        "detected",
        _vercel_build_hangs,
        says="the Vercel API keeps the build running forever",
    ),
    Fault(
        "slack-webhook-revoked",
        "the Slack #incidents webhook is revoked (404 no_service)",
        "detected",
        _slack_revoked,
        run_wide=True,
    ),
    Fault(
        "statuspage-down",
        "the status page API answers 503 to every request",
        "detected",
        _statuspage_down,
        run_wide=True,
    ),
    Fault(
        "sendgrid-outage",
        "SendGrid answers 500 to every mail send",
        "detected",
        _sendgrid_refuses_sends,
        says="SendGrid answers 500 to every send",
        run_wide=True,
    ),
    Fault(
        "sendgrid-events-stalled",
        "SendGrid accepts every send but its Event Webhook never posts an event",
        "detected",
        _sendgrid_events_stalled,
        run_wide=True,
    ),
    Fault(
        "stripe-webhooks-paused",
        "Stripe delivers no webhook event",
        "detected",
        _stripe_webhooks_paused,
        run_wide=True,
    ),
)
