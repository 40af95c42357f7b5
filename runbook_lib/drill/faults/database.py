"""Faults of the PostgreSQL side: a restore that loses data or whose server is killed (guide:
Recovery Procedures), a stray grant and a card number in the data (guide: Security Procedures),
a migration that damages data (guide: Rollback Procedures), each acting on a :class:`Database`;
and a SHARE lock held during an index build (guide: Performance Optimization), acting on the
session the procedure holds open for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from runbook_lib.drill.faults.base import Fault
from runbook_lib.world.postgres import PostgresServer, kill_server

Session = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class Database:
    """One database of a drill server (for a restore: the scratch copy being restored)."""

    server: PostgresServer
    name: str


def _lose_rows(table: str, where: str) -> Callable[[Database], None]:
    """A restore that silently misses rows of ``table`` (applied to the restored copy)."""

    def damage(database: Database) -> None:
        with database.server.connect(database.name) as conn:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            conn.execute(f"DELETE FROM {table} WHERE {where}")
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")

    return damage


def _lose_table(table: str) -> Callable[[Database], None]:
    """A restore that silently misses a whole table."""

    def damage(database: Database) -> None:
        with database.server.connect(database.name) as conn:
            conn.execute(f"DROP TABLE {table} CASCADE")

    return damage


def kill_when_copying(database: Database, timeout: float = 30) -> None:
    """Watch until a restore is copying data into ``database``, then SIGKILL its server."""
    server = database.server
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(server.dsn().reveal(), autocommit=True, connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'COPY %%'",
                    (database.name,),
                ).fetchone()
        except psycopg.OperationalError:
            return
        if row and int(str(row[0])) > 0:
            kill_server(server)
            return
        time.sleep(0.02)


def _stray_grant(role: str) -> Callable[[Database], None]:
    def grant(database: Database) -> None:
        own = database.server.scoped(role)  # the drill session's role of that name
        with database.server.connect(database.name) as conn:
            conn.execute(f"ALTER ROLE {own} LOGIN")
            conn.execute(f"GRANT USAGE ON SCHEMA public TO {own}")
            conn.execute(f"GRANT SELECT ON users TO {own}")

    return grant


def _paste_card(number: str) -> Callable[[Database], None]:
    def paste(database: Database) -> None:
        with database.server.connect(database.name) as conn:
            conn.execute(
                "UPDATE emails SET subject = %s WHERE id = 1", (f"my card is {number} thanks",)
            )

    return paste


def _damaging_migration(database: Database) -> None:
    with database.server.connect(database.name) as conn:
        conn.execute("UPDATE users SET plan = 'free' WHERE id % 7 = 0")
        conn.execute("DELETE FROM subscriptions WHERE status = 'canceled'")


def _share_lock(session: Session) -> None:
    session.execute("LOCK TABLE emails IN SHARE MODE")


FAULTS: tuple[Fault[Database, None], ...] = (
    Fault(
        "lossy-restore-rows",
        "a restore silently loses every tenth row of emails",
        "detected",
        _lose_rows("emails", "id % 10 = 0"),
        says="the restore silently loses every tenth row of emails",
    ),
    Fault(
        "lossy-restore-table",
        "a restore silently loses the table audit_log",
        "detected",
        _lose_table("audit_log"),
        says="the restore silently loses the table audit_log",
    ),
    Fault(
        "lossy-restore-row",
        "a restore silently loses one subscription",
        "detected",
        _lose_rows("subscriptions", "id = (SELECT min(id) FROM subscriptions)"),
        says="the restore silently loses one subscription",
    ),
    Fault(
        "server-killed",
        "PostgreSQL killed in the middle of a restore",
        "detected",
        kill_when_copying,
        says="the server is killed while the restore copies data",
    ),
    Fault(
        "damaging-migration",
        "a release's migration rewrites plans and deletes subscriptions",
        "survived",
        _damaging_migration,
        says="the release's migration damages the data",
    ),
    Fault(
        "stray-grant",
        "a junior developer granted SELECT on production data, able to log in",
        "detected",
        _stray_grant("bob_dev"),
        says='"bob_dev" is granted SELECT on users directly and can log in',
    ),
    Fault(
        "card-number-pasted",
        "a card number pasted into an email subject",
        "detected",
        _paste_card("4111111111111111"),
        says='a user pastes the card number "4111111111111111" into an email subject',
    ),
)

SESSIONS: tuple[Fault[Session, None], ...] = (
    Fault(
        "share-lock",
        "a session holds a SHARE lock on emails during an index build",
        "detected",
        _share_lock,
        says="a session holds a SHARE lock",
    ),
)
