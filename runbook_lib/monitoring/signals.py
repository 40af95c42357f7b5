"""Real signals for the alert rules: probes of the real database, the simulated S3, the Vercel
deployment URLs and the external APIs, recorded as samples on the drill's clock.

A :class:`Recorder` collects samples the way a Prometheus scrape would (one per minute per
series); :meth:`Recorder.series` hands them to the evaluator. Each probe returns what the
exporter of that system would report.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from runbook_lib.monitoring.promql import Series
from runbook_lib.procedures.backup_recovery.storage import list_objects
from runbook_lib.world.http import http
from runbook_lib.world.postgres import PostgresServer


@dataclass
class Recorder:
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]] = field(
        default_factory=dict
    )
    counters: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, t: float, value: float, **labels: str) -> None:
        self.samples.setdefault((name, tuple(sorted(labels.items()))), []).append((t, float(value)))

    def count(self, name: str, increment: float = 1.0) -> None:
        self.counters[name] = self.counters.get(name, 0.0) + increment

    def scrape_counters(self, t: float) -> None:
        for name, value in self.counters.items():
            self.record(name, t, value)

    def series(self) -> Series:
        result = Series()
        for (name, labels), samples in self.samples.items():
            result.add(name, dict(labels), samples)
        return result


def database_up(server: PostgresServer, database: str) -> float:
    """supabase_db_up: 1 when a real connection answers a query, else 0."""
    try:
        with psycopg.connect(server.dsn(database), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return 0.0
    return 1.0


def slowest_statement_ms(server: PostgresServer, database: str) -> float:
    """supabase_statement_mean_ms: the worst mean_exec_time in pg_stat_statements for the database."""
    with server.connect(database) as conn:
        row = conn.execute(
            """SELECT coalesce(max(mean_exec_time), 0) FROM pg_stat_statements s
               JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()
               AND query NOT ILIKE '%pg_stat_statements%'"""
        ).fetchone()
    return float(str(row[0])) if row else 0.0


def bucket_bytes(s3: Any, bucket: str) -> float:
    return float(sum(o["size"] for o in list_objects(s3, bucket).values()))


def probe_url(url: str) -> float:
    """probe_success, as UptimeRobot or Pingdom see it: 1 for a 2xx answer in time, else 0."""
    try:
        return 1.0 if http().get(url, timeout=5).status_code < 300 else 0.0
    except httpx.HTTPError:
        return 0.0


def stripe_signature(secret: str, payload: bytes, timestamp: int) -> str:
    """Stripe's webhook signature scheme: ``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_stripe_signature(
    secret: str, payload: bytes, header: str, now: int, tolerance: int = 300
) -> bool:
    """What the webhook endpoint does before trusting an event (constant-time compare, 5 min tolerance)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = stripe_signature(secret, payload, timestamp).split("v1=")[1]
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


def failed_builds(token: str, deployment_ids: list[str]) -> float:
    """How many of the deployments ended ERROR, read from the Vercel REST API."""
    headers = {"Authorization": f"Bearer {token}"}
    states = [
        http()
        .get(f"https://api.vercel.com/v13/deployments/{d}", headers=headers)
        .json()["readyState"]
        for d in deployment_ids
    ]
    return float(states.count("ERROR"))


def call_openai(api_key: str, calls: int) -> int:
    """Summarize ``calls`` emails through the OpenAI API; returns how many calls failed (5xx, 429, timeout)."""
    failures = 0
    for _ in range(calls):
        try:
            answer = http().post(
                "https://api.openai.com/v1/chat/completions",
                headers={"Authorization": f"Bearer {api_key}"},
                json={
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": "Summarize"}],
                },
            )
            failures += answer.status_code != 200
        except httpx.TimeoutException:
            failures += 1
    return failures


def deliver_stripe_webhooks(
    deliveries: int, forged: int, now: int, secret: str = "whsec_drill"
) -> int:
    """Deliver signed invoice.paid events, the first ``forged`` signed with the wrong secret;
    returns how many the endpoint rejected."""
    import json

    rejected = 0
    for index in range(deliveries):
        payload = json.dumps({"id": f"evt_{index}", "type": "invoice.paid"}).encode()
        header = stripe_signature("whsec_forged" if index < forged else secret, payload, now)
        rejected += not verify_stripe_signature(secret, payload, header, now)
    return rejected
