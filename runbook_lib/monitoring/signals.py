"""Real signals for the alert rules: probes of the real database, the simulated S3, the Vercel
deployment URLs and the external APIs, taken once a minute on the drill's clock.

Each probe returns what the exporter of that system would report; the drill situations below
(a workload, a database outage, a filled bucket, a production outage, failing builds) return
one reading a minute, which the rule catalogue's signals turn into series
(:mod:`runbook_lib.monitoring.catalog` names the metrics). Emails sent through SendGrid and
Stripe's webhook deliveries are counted where they arrive: by our receivers
(:mod:`runbook_lib.monitoring.webhooks`), from what the simulations really posted to them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
import psycopg

from runbook_lib.errors import ConfigurationError, ServiceError
from runbook_lib.monitoring.webhooks import SENDGRID_API, SendGridEvents, StripeEndpoint
from runbook_lib.procedures.backup_recovery.storage import list_objects
from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.sim.external import StripeFake, forge_delivery, replay_delivery
from runbook_lib.world import capabilities
from runbook_lib.world.clock import Clock, VirtualClock
from runbook_lib.world.http import ApiClient
from runbook_lib.world.postgres import PostgresServer, kill_server, require_owned, restart_server

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MINUTE = 60.0
WORKLOADS = {  # the feature's words -> the statement the application runs
    "lookups that take about 1 ms": "SELECT id FROM users WHERE id = {n}",
    "a report that sleeps 150 ms per statement": "SELECT pg_sleep(0.15), count(*) FROM users WHERE id > {n}",
}
DRILL_QUOTA_BYTES = 200_000.0  # the storage bucket's quota in the drills
STRIPE_EVENT = "invoice.paid"  # what our Stripe endpoint subscribes to in the drills


def database_up(server: PostgresServer, database: str) -> float:
    """Database up: 1 when a real connection answers a query, else 0."""
    try:
        with psycopg.connect(server.dsn(database).reveal(), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return 0.0
    return 1.0


def slowest_statement_ms(server: PostgresServer, database: str) -> float:
    """Slowest statement: the worst mean_exec_time in pg_stat_statements for the database."""
    with server.connect(database) as conn:
        row = conn.execute(
            """SELECT coalesce(max(mean_exec_time), 0) FROM pg_stat_statements s
               JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()
               AND query NOT ILIKE '%pg_stat_statements%'"""
        ).fetchone()
    return float(str(row[0])) if row else 0.0


def bucket_bytes(s3: S3Client, bucket: str) -> float:
    return float(sum(o["size"] for o in list_objects(s3, bucket).values()))


def probe_url(url: str, http: httpx.Client) -> float:
    """Probe success, as UptimeRobot or Pingdom see it: 1 for a 2xx answer in time, else 0."""
    try:
        return 1.0 if http.get(url, timeout=5).status_code < 300 else 0.0
    except httpx.HTTPError:
        return 0.0


def failed_builds(vercel: VercelClient, deployment_ids: list[str]) -> float:
    """How many of the deployments ended ERROR, read from the Vercel REST API."""
    return float([vercel.get(d).state for d in deployment_ids].count("ERROR"))


def call_openai(api_key: str, calls: int, http: httpx.Client) -> int:
    """Summarize ``calls`` emails through the OpenAI API; returns how many calls failed (5xx, 429,
    a timeout or no answer)."""
    failures = 0
    for _ in range(calls):
        try:
            answer = http.post(
                "https://api.openai.com/v1/chat/completions",
                headers={"Authorization": f"Bearer {api_key}"},
                json={
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": "Summarize"}],
                },
            )
            failures += answer.status_code != 200
        except (httpx.TimeoutException, httpx.RemoteProtocolError):
            failures += 1
    return failures


@dataclass
class Outbox:
    """The application's sends through SendGrid: those it took (X-Message-Id, recipient) and
    why it refused the others (after the client's retries)."""

    accepted: list[tuple[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def customers(count: int) -> list[str]:
    """``count`` recipients, one mailbox each."""
    return [f"customer-{n:03d}@example.com" for n in range(1, count + 1)]


def send_emails(
    recipients: list[str], sendgrid_key: str, http: httpx.Client, clock: Clock
) -> Outbox:
    """Send one email to each recipient through SendGrid's v3 API, as the application does."""
    client = ApiClient("SendGrid API", SENDGRID_API, sendgrid_key, "SENDGRID_API_KEY", http, clock)
    outbox = Outbox()
    for email in recipients:
        body = {
            "personalizations": [{"to": [{"email": email}]}],
            "from": {"email": "no-reply@napoleon.ai"},
            "subject": "Your daily summary",
            "content": [{"type": "text/plain", "value": "Summary."}],
        }
        try:
            answer = client.request("POST", "/v3/mail/send", json=body, expect=(202,))
        except ServiceError as refused:
            outbox.refused.append(str(refused))
            continue
        outbox.accepted.append((answer.headers.get("X-Message-Id", ""), email))
    return outbox


def email_delivery_failures(outbox: Outbox, events: SendGridEvents) -> float:
    """Email delivery failures: sends SendGrid refused, plus the emails its Event Webhook told our
    receiver bounced or were dropped. A SendGrid that takes no email is a delivery failure too:
    counting bounce events alone would leave an outage of SendGrid silent (no email, no event)."""
    return float(len(outbox.refused) + events.failures())


def stripe_webhook_failures(endpoint: StripeEndpoint) -> float:
    """Stripe webhook failures: the deliveries our endpoint did not answer with a 2xx (a signature
    that does not verify with its secret, a timestamp past the tolerance, a body that is no
    event); each is one Stripe retries, or one that was not Stripe's."""
    return float(endpoint.refused)


def stripe_events(stripe: StripeFake, http: httpx.Client, events: int, at: datetime) -> None:
    """``events`` :data:`STRIPE_EVENT` events happen at ``at``; Stripe delivers them through
    ``http`` to every endpoint registered for them (ours is served: the deliveries cross HTTP)."""
    for _ in range(events):
        stripe.trigger(STRIPE_EVENT, at)
    stripe.deliver(http, at)


def forged_deliveries(http: httpx.Client, url: str, count: int, at: datetime) -> None:
    """Someone who is not Stripe posts ``count`` events to ``url``, signed with a secret of its own."""
    for _ in range(count):
        forge_delivery(http, url, at)


def replayed_delivery(
    stripe: StripeFake, http: httpx.Client, clock: VirtualClock, minutes: int
) -> None:
    """``minutes`` later, someone posts again the last delivery Stripe made."""
    clock.advance(minutes * MINUTE)
    replay_delivery(http, stripe.webhooks.deliveries[-1])


def parse_faults(text: str) -> list[int | None]:
    """ "500, 429 and no answer" -> [500, 429, None]: the answers an API gives instead of 200
    (None: the connection closes unanswered)."""
    words = [w.strip() for w in re.split(r",| and ", text) if w.strip()]
    if not all(w.isdigit() or w == "no answer" for w in words):
        raise ConfigurationError(
            f"{text!r} is not a list of statuses such as '500, 429 and no answer'"
        )
    return [int(w) if w.isdigit() else None for w in words]


# -- drill situations: one reading a minute ---------------------------------------------------


def run_workload(server: PostgresServer, database: str, load: str, minutes: int) -> list[float]:
    """Run ``load`` (a :data:`WORKLOADS` phrase) once a minute; the slowest statement after each."""
    if load not in WORKLOADS:
        raise ConfigurationError(f"no workload {load!r}; known: {', '.join(WORKLOADS)}")
    capabilities.require_statistics(server, database)
    readings = []
    with server.connect(database) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
        for minute in range(minutes + 1):
            conn.execute(WORKLOADS[load].format(n=minute))
            readings.append(slowest_statement_ms(server, database))
    return readings


def database_outage(
    server: PostgresServer, database: str, stop: int, restart: int, minutes: int = 11
) -> list[float]:
    """Probe the database once a minute to ``minutes``: killed at ``stop``, back at ``restart``
    (a server the drill owns only: NotRunnable on any other, before anything is probed)."""
    require_owned(server, "kill and restart")
    readings = []
    for minute in range(minutes + 1):
        if minute == stop:
            kill_server(server)
            time.sleep(0.3)
        if minute == restart:
            restart_server(server)
        readings.append(database_up(server, database))
    return readings


def fill_bucket(s3: S3Client, bucket: str, percent: int, quota: float = DRILL_QUOTA_BYTES) -> float:
    """Upload until ``bucket`` holds ``percent`` of ``quota`` bytes; its size afterwards."""
    missing = int(quota * percent / 100 - bucket_bytes(s3, bucket))
    if missing > 0:
        s3.put_object(Bucket=bucket, Key="uploads/large-video.mp4", Body=b"\0" * missing)
    return bucket_bytes(s3, bucket)


def production_outage(
    vercel: VercelClient, minutes: int, outage: int, break_all: Callable[[], None]
) -> list[float]:
    """Deploy production and probe its health URL once a minute to ``minutes`` (on the client's
    clock); ``break_all`` starts an outage for the last ``outage`` minutes."""
    vercel.wait_ready(vercel.deploy("production", "0" * 40))
    readings = []
    for minute in range(minutes + 1):
        if outage and minute == minutes - outage:
            break_all()
        readings.append(
            probe_url(f"https://{vercel.project_name}.vercel.app/api/health", vercel.http)
        )
        vercel.clock.sleep(MINUTE)
    return readings


def run_builds(vercel: VercelClient, builds: int, failed: int) -> float:
    """Start ``builds`` production builds, the first ``failed`` failing; how many ended ERROR."""
    meta = [{"simulateBuildFailure": index < failed} for index in range(builds)]
    ids = [vercel.deploy("production", "0" * 40, m).id for m in meta]
    vercel.clock.sleep(2 * MINUTE)
    return failed_builds(vercel, ids)
