"""Database Optimization (guide: Performance Optimization > Database Optimization).

The guide's SQL runs as written against the real database. A statement that cannot run on the
PostgreSQL version the platform uses is a finding carrying the server's own error; the working
equivalent then runs so the rest of the procedure is still proven. :func:`plan_uses_index` reads
``EXPLAIN (FORMAT JSON)``; :func:`mean_query_ms` times the lookups the guide's indexes serve.
Whether the guide's index builds let writers in is :mod:`.index_locks`.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from typing import Any

import psycopg

from runbook_lib.errors import ProcedureFailed
from runbook_lib.world import capabilities
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer

# What each column of pg_stat_statements was renamed to in PostgreSQL 13.
RENAMED_COLUMNS = {
    "mean_time": "mean_exec_time",
    "total_time": "total_exec_time",
    "min_time": "min_exec_time",
    "max_time": "max_exec_time",
    "stddev_time": "stddev_exec_time",
}


UNDEFINED_COLUMN = "42703"  # SQLSTATE undefined_column


@dataclass(frozen=True)
class SqlOutcome:
    sql: str
    error: str | None
    rows: tuple[tuple[Any, ...], ...] = ()
    sqlstate: str | None = None  # the server's SQLSTATE when it refused the statement

    def renamed_column(self) -> str | None:
        """The pre-13 pg_stat_statements column the server refused, when that and nothing else
        is why the statement failed: SQLSTATE 42703 naming one of :data:`RENAMED_COLUMNS`."""
        if self.sqlstate != UNDEFINED_COLUMN or self.error is None:
            return None
        for old in RENAMED_COLUMNS:
            if f'column "{old}" does not exist' in self.error:
                return old
        return None


def run_as_written(server: PostgresServer, database: str, sql: str) -> SqlOutcome:
    """Run one of the guide's statements unchanged (autocommit, as psql would)."""
    try:
        with server.connect(database) as conn:
            cursor = conn.execute(sql)
            rows = tuple(cursor.fetchall()) if cursor.description else ()
    except psycopg.Error as exc:
        return SqlOutcome(sql, str(exc).strip().splitlines()[0], (), exc.sqlstate)
    return SqlOutcome(sql, None, rows)


def renamed_column_or_fail(outcome: SqlOutcome, server: PostgresServer | None = None) -> str:
    """The renamed column that made the guide's statement fail; any other failure is never the
    guide's finding: on a ``server`` the drill does not own, a missing capability (SQLSTATE
    55000, pg_stat_statements not preloaded; 42P01, the extension not installed; 42501, no
    permission) is NotRunnable naming it, anything else a ProcedureFailed with the server's own
    words and SQLSTATE."""
    column = outcome.renamed_column()
    missing = (
        capabilities.refusal(server, outcome.sqlstate, outcome.error or "")
        if server is not None and column is None
        else None
    )
    if missing is not None:
        raise missing
    if column is None:
        raise ProcedureFailed(
            f"the slow-query SQL failed for a reason other than the guide's column names "
            f"(SQLSTATE {outcome.sqlstate}): {outcome.error}"
        )
    return column


def working_equivalent(sql: str) -> str:
    """The statement with pg_stat_statements' pre-13 column names replaced."""
    for old, new in RENAMED_COLUMNS.items():
        sql = re.sub(rf"\b{old}\b", new, sql)
    return sql


def plan_uses_index(
    server: PostgresServer, database: str, query: str, index: str
) -> tuple[bool, str]:
    with server.connect(database) as conn:
        row = conn.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchone()
    plan: Any = row[0] if row else []
    text = json.dumps(plan)
    return f'"Index Name": "{index}"' in text, str(plan[0]["Plan"]["Node Type"]) if plan else "none"


# The lookups the guide's indexes serve: a parameterised query, timed over many arguments, and
# one literal query whose plan is read with EXPLAIN.
LOOKUPS: dict[str, tuple[str, str, list[tuple[Any, ...]]]] = {
    "a user by email": (
        "SELECT id FROM users WHERE email = %s",
        "SELECT id FROM users WHERE email = 'user77@example.com'",
        [(f"user{i}@example.com",) for i in range(1, 200)],
    ),
    "emails by user": (
        "SELECT id, subject FROM emails WHERE user_id = %s",
        "SELECT id, subject FROM emails WHERE user_id = 77",
        [(i,) for i in range(1, 200)],
    ),
}


def seeded_size(server: PostgresServer, database: str) -> tuple[float, float]:
    """(database size in bytes, rows of emails): what the lookup timings were measured on."""
    with server.connect(database) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), (SELECT count(*) FROM emails)"
        ).fetchone()
    return (float(str(row[0])), float(str(row[1]))) if row else (0.0, 0.0)


def mean_query_ms(
    server: PostgresServer,
    database: str,
    query: str,
    params: list[tuple[Any, ...]],
    clock: Clock,
) -> float:
    """Mean milliseconds (on ``clock``) of ``query`` run once with each of ``params``."""
    with server.connect(database) as conn:
        timings = []
        for args in params:
            started = clock.monotonic()
            conn.execute(query, args).fetchall()
            timings.append((clock.monotonic() - started) * 1000)
    return statistics.fmean(timings)
