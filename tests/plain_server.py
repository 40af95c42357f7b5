"""A plain PostgreSQL server as a user's staging runs it, owned by the test, not by the drill.

initdb's default postgresql.conf (fsync on, nothing preloaded) but for a loopback port and DDL
logging with each line's role and database (so a test can read which sessions did what),
password (SCRAM) authentication over TCP, and what a staging server already holds: the
application's databases and role, a ``napoleon_ai`` database of its own, and a database another
drill run left behind. A :class:`Staging` hands out DSNs for its superuser or for an owner role
without superuser.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from runbook_lib.world.postgres import PostgresServer, embedded_cluster
from runbook_lib.world.secrets import Secret

# What the staging server holds before any drill: none of it may be dropped or changed
EXISTING_DATABASES = ("app_staging", "napoleon_ai", "rb_0ther0_gw0_napoleon_seed")
EXISTING_ROLES = ("napoleon_app", "staging_owner")
MARKER = "staging data, not the drill's"


@dataclass(frozen=True)
class Staging:
    server: PostgresServer  # as its superuser
    owner_password: str

    @property
    def log(self) -> Path:
        return Path(self.server.extras["datadir"]).parent / "server.log"

    def superuser_dsn(self, database: str = "app_staging") -> str:
        return self.server.dsn(database).reveal()

    def owner_dsn(self, database: str = "app_staging") -> str:
        """An owner role with CREATEDB and CREATEROLE but no superuser (as on managed hosts)."""
        password = quote(self.owner_password, safe="")
        return f"postgresql://staging_owner:{password}@127.0.0.1:{self.server.port}/{database}"

    def databases(self) -> set[str]:
        with self.server.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database").fetchall()
        return {str(r[0]) for r in rows}

    def roles(self) -> set[str]:
        with self.server.connect() as conn:
            rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_'").fetchall()
        return {str(r[0]) for r in rows}

    def marker(self, database: str) -> str | None:
        with self.server.connect(database) as conn:
            row = conn.execute("SELECT note FROM staging_marker").fetchone()
        return str(row[0]) if row else None


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextlib.contextmanager
def plain_server(
    owner_password: str | None = None, superuser_password: str | None = None
) -> Iterator[Staging]:
    """The staging server, started for the test and removed afterwards (passwords given are
    set without reaching its log)."""
    password = owner_password or "Own3r-" + secrets.token_urlsafe(12)
    logging = {"log_statement": "'ddl'", "log_line_prefix": "'%m [%p] %u@%d '"}
    with embedded_cluster(settings=logging, drill_settings=False) as server:
        if superuser_password is not None:
            with server.connect() as conn:
                conn.execute("SET log_statement = 'none'")
                conn.execute(f"ALTER ROLE postgres PASSWORD {_literal(superuser_password)}")
            server = dataclasses.replace(server, password=Secret(superuser_password))
        with server.connect() as conn:
            conn.execute("SET log_statement = 'none'")
            conn.execute("CREATE ROLE napoleon_app LOGIN PASSWORD 'app-password-of-staging'")
            conn.execute(
                f"CREATE ROLE staging_owner LOGIN CREATEDB CREATEROLE PASSWORD {_literal(password)}"
            )
            for name in EXISTING_DATABASES:
                conn.execute(f'CREATE DATABASE "{name}" OWNER staging_owner')
        for name in EXISTING_DATABASES:
            with psycopg.connect(server.dsn(name).reveal(), autocommit=True) as conn:
                conn.execute("CREATE TABLE staging_marker (note text)")
                conn.execute("INSERT INTO staging_marker VALUES (%s)", (MARKER,))
                conn.execute("ALTER TABLE staging_marker OWNER TO staging_owner")
        yield Staging(server, password)
