"""Access Management on real PostgreSQL roles (guide: Security Procedures > Access Management).

"Production Access: Limited to senior developers" and "Database Access: Emergency access only"
become a role model: senior developers are members of ``production_access``; everyone else,
including emergency responders, has no login until an emergency grant, which is time-boxed with
``VALID UNTIL`` and revoked by the procedure when the window closes.

:func:`who_can_read` reads the real catalog (``pg_roles``, memberships, table privileges) and
:func:`policy_violations` names every role that can reach production data without being allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from runbook_lib.world.postgres import PostgresServer

PRODUCTION_GROUP = "production_access"
SERVICE_ROLES = ("napoleon_app",)  # the application itself: needs the data to serve users


@dataclass(frozen=True)
class Person:
    role: str
    title: str  # "senior developer", "developer", "support engineer", ...
    password: str


def create_role_model(server: PostgresServer, database: str, people: list[Person]) -> None:
    """Roles as the guide's policy wants them: only senior developers reach production data."""
    with server.connect(database) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {PRODUCTION_GROUP}")
        conn.execute(f"CREATE ROLE {PRODUCTION_GROUP} NOLOGIN")
        conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {PRODUCTION_GROUP}"
        )
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {PRODUCTION_GROUP}")
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {PRODUCTION_GROUP}")
        for service in SERVICE_ROLES:
            _recreate(conn, service, "LOGIN")
            conn.execute(f"GRANT {PRODUCTION_GROUP} TO {service}")
        for person in people:
            senior = person.title == "senior developer"
            _recreate(
                conn,
                person.role,
                "LOGIN PASSWORD %s" if senior else "NOLOGIN PASSWORD %s",
                person.password,
            )
            if senior:
                conn.execute(f"GRANT {PRODUCTION_GROUP} TO {person.role}")


def _recreate(
    conn: psycopg.Connection[tuple[object, ...]],
    role: str,
    options: str,
    password: str | None = None,
) -> None:
    conn.execute(f"DROP OWNED BY {role}" if _exists(conn, role) else "SELECT 1")
    conn.execute(f"DROP ROLE IF EXISTS {role}")
    sql = f"CREATE ROLE {role} {options}"
    if password is not None:
        conn.execute(sql.replace("%s", "'" + password.replace("'", "''") + "'"))
    else:
        conn.execute(sql)


def _exists(conn: psycopg.Connection[tuple[object, ...]], role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def who_can_read(server: PostgresServer, database: str, table: str) -> set[str]:
    """Roles that can log in and SELECT ``table`` right now (directly or through membership)."""
    with server.connect(database) as conn:
        rows = conn.execute(
            """SELECT rolname FROM pg_roles
               WHERE rolcanlogin AND (rolvaliduntil IS NULL OR rolvaliduntil > now())
                 AND has_table_privilege(oid, %s, 'SELECT')""",
            (f"public.{table}",),
        ).fetchall()
    return {str(r[0]) for r in rows}


def policy_violations(
    server: PostgresServer,
    database: str,
    people: list[Person],
    tables: tuple[str, ...],
    emergency: set[str] | None = None,
) -> list[str]:
    """Roles that can read production tables but are neither senior developers, the app, a
    superuser, nor holders of a current emergency grant."""
    allowed = (
        {p.role for p in people if p.title == "senior developer"}
        | set(SERVICE_ROLES)
        | (emergency or set())
    )
    with server.connect(database) as conn:
        allowed |= {
            str(r[0])
            for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolsuper").fetchall()
        }
    problems = []
    for table in tables:
        for role in sorted(who_can_read(server, database, table) - allowed):
            problems.append(f"role {role} can read {table} but is not allowed production access")
    return problems


def grant_emergency_access(
    server: PostgresServer, database: str, role: str, now: datetime, minutes: int
) -> datetime:
    """Emergency access: login plus membership, expiring by itself at ``now + minutes``."""
    until = now + timedelta(minutes=minutes)
    with server.connect(database) as conn:
        conn.execute(f"ALTER ROLE {role} LOGIN VALID UNTIL '{until.isoformat()}'")
        conn.execute(f"GRANT {PRODUCTION_GROUP} TO {role}")
    return until


def revoke_emergency_access(server: PostgresServer, database: str, role: str) -> None:
    with server.connect(database) as conn:
        conn.execute(f"REVOKE {PRODUCTION_GROUP} FROM {role}")
        conn.execute(f"ALTER ROLE {role} NOLOGIN")
        # end sessions that are still open: revoking does not disconnect them
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )


def try_connect(server: PostgresServer, database: str, role: str, password: str) -> str | None:
    """Connect as ``role`` and read a production table; None on success, else the server's refusal."""
    dsn = f"postgresql://{role}:{password}@{server.host}:{server.port}/{database}"
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            conn.execute("SELECT count(*) FROM users").fetchone()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[-1]
    return None
