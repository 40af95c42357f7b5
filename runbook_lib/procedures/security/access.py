"""Access Management on real PostgreSQL roles (guide: Security Procedures > Access Management).

"Production Access: Limited to senior developers" and "Database Access: Emergency access only"
become a role model: senior developers are members of ``production_access``; everyone else,
including emergency responders, has no login until an emergency grant, which is time-boxed with
``VALID UNTIL`` and revoked by the procedure when the window closes.

:func:`who_can_read` reads the real catalog (``pg_roles``, memberships, table privileges) and
:func:`policy_violations` names every role that can reach production data without being allowed.

Roles are cluster-wide, so every role the drill creates lives in the server's namespace
(``server.scoped("bob_dev")``: ``rb_3fa2c1_gw0_bob_dev``): parallel workers on one server never
drop each other's roles, and a shared server's own roles (its real ``napoleon_app``) are never
touched. Messages name the roles as the policy does (``bob_dev``); the access check judges the
session's own roles, plus the role the drill connects as, which owns the data it created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from runbook_lib.world import capabilities
from runbook_lib.world.postgres import PostgresServer

PRODUCTION_GROUP = "production_access"
SERVICE_ROLES = ("napoleon_app",)  # the application itself: needs the data to serve users


@dataclass(frozen=True)
class Person:
    role: str
    title: str  # "senior developer", "developer", "support engineer", ...
    password: str


def create_role_model(server: PostgresServer, database: str, people: list[Person]) -> None:
    """Roles as the guide's policy wants them: only senior developers reach production data
    (on a server the drill does not own, its role needs CREATEROLE, else NotRunnable)."""
    capabilities.require_role(server, createrole=True)
    group = server.scoped(PRODUCTION_GROUP)
    with server.connect(database) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {group}")
        conn.execute(f"CREATE ROLE {group} NOLOGIN")
        conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {group}"
        )
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {group}")
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {group}")
        for service in SERVICE_ROLES:
            _recreate(conn, server.scoped(service), "LOGIN")
            conn.execute(f"GRANT {group} TO {server.scoped(service)}")
        for person in people:
            senior = person.title == "senior developer"
            _recreate(
                conn,
                server.scoped(person.role),
                "LOGIN PASSWORD %s" if senior else "NOLOGIN PASSWORD %s",
                person.password,
            )
            if senior:
                conn.execute(f"GRANT {group} TO {server.scoped(person.role)}")


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
    """Roles of this session (all roles, outside a drill) that can log in and SELECT ``table``
    right now (directly or through membership), named as the policy names them."""
    with server.connect(database) as conn:
        rows = conn.execute(
            """SELECT rolname FROM pg_roles
               WHERE rolcanlogin AND (rolvaliduntil IS NULL OR rolvaliduntil > now())
                 AND has_table_privilege(oid, %s, 'SELECT')""",
            (f"public.{table}",),
        ).fetchall()
    names = {str(r[0]) for r in rows}
    if server.namespace:
        names = {n for n in names if n.startswith(server.namespace) or n == server.user}
    return {server.unscoped(n) for n in names}


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
        | {server.user}  # the drill's own role: it created (owns) the data
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
    own, group = server.scoped(role), server.scoped(PRODUCTION_GROUP)
    with server.connect(database) as conn:
        conn.execute(f"ALTER ROLE {own} LOGIN VALID UNTIL '{until.isoformat()}'")
        conn.execute(f"GRANT {group} TO {own}")
    return until


def revoke_emergency_access(server: PostgresServer, database: str, role: str) -> None:
    own = server.scoped(role)
    with server.connect(database) as conn:
        conn.execute(f"REVOKE {server.scoped(PRODUCTION_GROUP)} FROM {own}")
        conn.execute(f"ALTER ROLE {own} NOLOGIN")
        # end sessions that are still open: revoking does not disconnect them. Only this
        # session's role (scoped): never another worker's or the server's own sessions
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (own,)
        )


def try_connect(server: PostgresServer, database: str, role: str, password: str) -> str | None:
    """Connect as ``role`` and read a production table; None on success, else the server's refusal."""
    try:
        with psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.scoped(role),
            password=password,
            dbname=database,
            connect_timeout=5,
        ) as conn:
            conn.execute("SELECT count(*) FROM users").fetchone()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[-1]
    return None
