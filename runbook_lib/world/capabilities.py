"""What a PostgreSQL server lets the drill do, and what a scenario does when it lacks that.

The drill's own servers (embedded, or a container it ran) are configured by the drill:
``pg_stat_statements`` preloaded, a superuser role, its settings. A setting missing there is a
defect of the drill's environment and stays a failure. A server the drill does not own
(``--pg dsn``, a target's DSN) may lack any of them for good reasons; there a scenario that
needs one is :class:`~runbook_lib.errors.NotRunnable` with the capability named, never a pass
and never a finding about the guide.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from runbook_lib.errors import NotRunnable
from runbook_lib.world.postgres import PostgresServer

PG_STAT_STATEMENTS = "pg_stat_statements loaded at server start (shared_preload_libraries)"
PGSS_EXTENSION = (
    "the pg_stat_statements extension in the drill's databases (CREATE EXTENSION needs a superuser)"
)
SUPERUSER = "a superuser role"
AMCHECK = "a superuser role, or the amcheck extension installed (pg_amcheck checks restored copies)"
CREATEROLE = "a role with CREATEROLE (the access drills create their own roles)"
PRIVILEGE = "a role with the privilege the server refused"

OBJECT_NOT_IN_PREREQUISITE_STATE = "55000"  # "pg_stat_statements must be loaded via ..."
UNDEFINED_TABLE = "42P01"
INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class Capabilities:
    """What one server grants the drill's role, read from the server itself (a setting the role
    may not read is None)."""

    superuser: bool
    createrole: bool
    createdb: bool
    preloaded: tuple[str, ...] | None  # shared_preload_libraries
    fsync: bool | None


def probe(server: PostgresServer) -> Capabilities:
    with server.connect() as conn:
        row = conn.execute(
            """SELECT rolsuper, rolcreaterole OR rolsuper, rolcreatedb OR rolsuper,
                      (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'),
                      (SELECT setting FROM pg_settings WHERE name = 'fsync')
               FROM pg_roles WHERE rolname = current_user"""
        ).fetchone()
    assert row is not None
    libraries = (
        None
        if row[3] is None
        else tuple(lib.strip().strip('"') for lib in str(row[3]).split(",") if lib.strip())
    )
    fsync = None if row[4] is None else str(row[4]) == "on"
    return Capabilities(bool(row[0]), bool(row[1]), bool(row[2]), libraries, fsync)


def require_statistics(server: PostgresServer, database: str) -> None:
    """pg_stat_statements must record ``database``'s statements: loaded at server start and
    installed there. Asked of the server itself (a role without pg_read_all_settings cannot
    read shared_preload_libraries), on servers the drill does not own only."""
    if server.owned:
        return
    try:
        with server.connect(database) as conn:
            conn.execute("SELECT count(*) FROM pg_stat_statements")
    except psycopg.Error as exc:
        missing = refused(server, exc)
        if missing is None:
            raise
        raise missing from None


def require_role(
    server: PostgresServer, *, superuser: bool = False, createrole: bool = False
) -> None:
    """The drill's role must be a superuser, or may create roles (servers it does not own only)."""
    if server.owned:
        return
    found = probe(server)
    if superuser and not found.superuser:
        raise NotRunnable(SUPERUSER, f"{server.user} is not a superuser on {server.host}")
    if createrole and not found.createrole:
        raise NotRunnable(CREATEROLE, f"{server.user} lacks CREATEROLE on {server.host}")


def refusal(server: PostgresServer, sqlstate: str | None, message: str) -> NotRunnable | None:
    """The capability a server's refusal names, on a server the drill does not own (None when
    the refusal is not about a missing capability, or the server is the drill's own)."""
    if server.owned or sqlstate is None:
        return None
    first = message.strip().splitlines()[0] if message.strip() else message
    if sqlstate == OBJECT_NOT_IN_PREREQUISITE_STATE and "pg_stat_statements" in message:
        return NotRunnable(PG_STAT_STATEMENTS, first)
    if sqlstate == UNDEFINED_TABLE and "pg_stat_statements" in message:
        # a superuser could install it: the seed left it out because the server does not load it
        return NotRunnable(PG_STAT_STATEMENTS if probe(server).superuser else PGSS_EXTENSION, first)
    if sqlstate == INSUFFICIENT_PRIVILEGE:
        return missing_privilege(first)
    return None


def missing_privilege(message: str) -> NotRunnable:
    """A privilege the server refused (``message``'s first line names it): the drill's role
    lacks a capability, which says nothing about the guide."""
    first = (message.strip().splitlines() or [""])[0]
    return NotRunnable(f"{PRIVILEGE} ({first})", "the drill's role on this server lacks it")


def refused(server: PostgresServer, error: psycopg.Error) -> NotRunnable | None:
    return refusal(server, error.sqlstate, str(error))
