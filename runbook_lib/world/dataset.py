"""A seeded "production" dataset: Napoleon AI's schema and a deterministic generator.

The schema is what an AI email product on Supabase implies: users, their emails, AI
summaries, Stripe subscriptions, attachments stored in S3 and an audit log, plus the
``drill_heartbeat`` table the RPO writer commits to. The guide's own indexes
(``idx_users_email``, ``idx_emails_user_id``; Performance Optimization) are deliberately *not*
created here: the performance drill creates them with the guide's SQL.

Rows are generated in SQL from ``generate_series`` and ``md5``, so the same size always
gives byte-identical data, and a gigabyte seeds in seconds rather than minutes.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

import psycopg

# Supabase installs pg_stat_statements in every project; creating it needs a superuser, which a
# server the drill does not own may not grant (the scenarios that read it then say so).
STATISTICS = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
SCHEMA = """
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL,
    plan        text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'team')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE emails (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    thread_id    text NOT NULL,
    sender       text NOT NULL,
    subject      text NOT NULL,
    body         text NOT NULL,
    received_at  timestamptz NOT NULL,
    priority     smallint NOT NULL CHECK (priority BETWEEN 0 AND 3)
);
CREATE TABLE ai_summaries (
    id          bigserial PRIMARY KEY,
    email_id    bigint NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    model       text NOT NULL,
    summary     text NOT NULL,
    latency_ms  integer NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE TABLE subscriptions (
    id                  bigserial PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stripe_customer_id  text NOT NULL UNIQUE,
    status              text NOT NULL CHECK (status IN ('active', 'past_due', 'canceled')),
    current_period_end  timestamptz NOT NULL
);
CREATE TABLE attachments (
    id           bigserial PRIMARY KEY,
    email_id     bigint NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    storage_key  text NOT NULL UNIQUE,
    size_bytes   integer NOT NULL
);
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    user_id  bigint REFERENCES users(id) ON DELETE CASCADE,
    action   text NOT NULL,
    at       timestamptz NOT NULL
);
CREATE TABLE drill_heartbeat (
    id            bigserial PRIMARY KEY,
    committed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    note          text NOT NULL DEFAULT ''
);
CREATE INDEX emails_received_at ON emails (received_at);
CREATE VIEW active_subscribers AS
    SELECT u.id, u.email, s.current_period_end
    FROM users u JOIN subscriptions s ON s.user_id = u.id WHERE s.status = 'active';
"""

TABLES = (
    "users",
    "emails",
    "ai_summaries",
    "subscriptions",
    "attachments",
    "audit_log",
    "drill_heartbeat",
)
EMAILS_PER_USER = 20
ATTACHMENT_EVERY = 50  # one attachment per 50 emails
BYTES_PER_EMAIL = 730  # measured: emails + summaries + other tables + indexes, per email row


@dataclass(frozen=True)
class DatasetSize:
    users: int

    @property
    def emails(self) -> int:
        return self.users * EMAILS_PER_USER

    @property
    def attachments(self) -> int:
        return self.emails // ATTACHMENT_EVERY

    @classmethod
    def from_megabytes(cls, megabytes: float) -> DatasetSize:
        emails = megabytes * 1024 * 1024 / BYTES_PER_EMAIL
        return cls(max(5, int(emails / EMAILS_PER_USER)))


def _statistics(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """pg_stat_statements, when this server can have it: a role that may not create it, or a
    server that does not preload it (its view then refuses every read), gets none. Only a
    server the drill does not own can lack it; the scenarios that read statistics say so."""
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        conn.execute(STATISTICS)
        try:
            conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
        except psycopg.errors.ObjectNotInPrerequisiteState:
            conn.execute("DROP EXTENSION pg_stat_statements")


def seed(conn: psycopg.Connection[tuple[object, ...]], size: DatasetSize) -> dict[str, int]:
    """Create the schema (with pg_stat_statements when the role may create it) and fill it;
    returns the row count per table."""
    users, emails = size.users, size.emails
    _statistics(conn)
    conn.execute(SCHEMA)
    conn.execute(
        """INSERT INTO users (id, email, name, plan, created_at)
           SELECT i, 'user' || i || '@example.com', 'User ' || i, (ARRAY['free','pro','team'])[1 + i %% 3],
                  timestamptz '2025-01-01 00:00Z' + i * interval '17 minutes'
           FROM generate_series(1, %s) i""",
        (users,),
    )
    conn.execute(
        """INSERT INTO emails (id, user_id, thread_id, sender, subject, body, received_at, priority)
           SELECT e, 1 + (e %% %s), 'thr_' || (e / 3), 'sender' || (e %% 997) || '@mail.example',
                  'Subject ' || md5(e::text), repeat(md5(e::text || 'body'), 12),
                  timestamptz '2025-06-01 00:00Z' + e * interval '37 seconds', e %% 4
           FROM generate_series(1, %s) e""",
        (users, emails),
    )
    conn.execute(
        """INSERT INTO ai_summaries (id, email_id, model, summary, latency_ms, created_at)
           SELECT e, e, 'gpt-4o-mini', 'Summary ' || md5(e::text || 'sum'), 200 + (e::bigint * 7919) %% 1800,
                  timestamptz '2025-06-01 00:01Z' + e * interval '37 seconds'
           FROM generate_series(1, %s, 2) e""",
        (emails,),
    )
    conn.execute(
        """INSERT INTO subscriptions (id, user_id, stripe_customer_id, status, current_period_end)
           SELECT i, i, 'cus_' || substr(md5(i::text || 'stripe'), 1, 14),
                  (ARRAY['active','past_due','canceled'])[1 + i %% 3],
                  timestamptz '2026-01-01 00:00Z' + (i %% 28) * interval '1 day'
           FROM generate_series(1, %s, 3) i""",
        (users,),
    )
    conn.execute(
        """INSERT INTO attachments (id, email_id, user_id, storage_key, size_bytes)
           SELECT a, a * %s, 1 + ((a * %s) %% %s),
                  'users/' || (1 + ((a * %s) %% %s)) || '/attachments/' || a || '.bin', 256 + (a * 31) %% 1024
           FROM generate_series(1, %s) a""",
        (ATTACHMENT_EVERY, ATTACHMENT_EVERY, users, ATTACHMENT_EVERY, users, size.attachments),
    )
    conn.execute(
        """INSERT INTO audit_log (id, user_id, action, at)
           SELECT i, 1 + i %% %s, (ARRAY['login','export','settings'])[1 + i %% 3],
                  timestamptz '2025-07-01 00:00Z' + i * interval '5 minutes'
           FROM generate_series(1, %s) i""",
        (users, users * 2),
    )
    for table in TABLES:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
        )
    conn.execute("ANALYZE")
    return row_counts(conn)


def row_counts(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts[table] = int(row[0]) if row else 0  # type: ignore[call-overload]
    return counts


def attachment_object(key: str, size: int) -> bytes:
    """Deterministic content of an uploaded file (the S3 object behind ``storage_key``)."""
    seed_bytes = hashlib.sha256(key.encode()).digest()
    return (seed_bytes * (size // len(seed_bytes) + 1))[:size]
