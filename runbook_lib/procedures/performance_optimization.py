"""Database Optimization (guide: Performance Optimization > Database Optimization).

The guide's SQL runs as written against the real database. A statement that cannot run on the
PostgreSQL version the platform uses is a finding carrying the server's own error; the working
equivalent then runs so the rest of the procedure is still proven. :func:`plan_uses_index` reads
``EXPLAIN (FORMAT JSON)``; :func:`index_while_writing` builds an index while a writer commits and
reports the slowest write.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from runbook_lib.errors import ProcedureFailed
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


def renamed_column_or_fail(outcome: SqlOutcome) -> str:
    """The renamed column that made the guide's statement fail; any other failure (the
    extension not preloaded or not installed, no permission, ...) is a ProcedureFailed with
    the server's own words and SQLSTATE, never the guide's finding."""
    column = outcome.renamed_column()
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


@dataclass(frozen=True)
class WriteLatency:
    writes: int
    failed: int
    max_ms: float
    index_seconds: float


def index_while_writing(
    server: PostgresServer,
    database: str,
    ddl: str,
    *,
    clock: Clock,
    blocker: Callable[[psycopg.Connection[tuple[object, ...]]], object] | None = None,
) -> WriteLatency:
    """Run ``ddl`` while a writer inserts emails in its own transactions; ``blocker`` (a fault)
    acts in a third session whose transaction stays open while the index builds. Latencies,
    the build time and the pauses are on ``clock`` (a wall clock: the writer really waits)."""
    stop, latencies, failures = threading.Event(), [], [0]

    def writer() -> None:
        with server.connect(database) as conn:
            while not stop.is_set():
                started = clock.monotonic()
                try:
                    conn.execute(
                        "INSERT INTO emails (user_id, thread_id, sender, subject, body, received_at, priority) "
                        "VALUES (1, 'thr_w', 'w@mail.example', 'write', 'body', now(), 1)"
                    )
                except psycopg.Error:
                    failures[0] += 1
                latencies.append((clock.monotonic() - started) * 1000)
                clock.sleep(0.005)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    clock.sleep(0.2)
    blocking = server.connect(database) if blocker else None
    try:
        if blocking is not None and blocker is not None:
            blocking.execute("BEGIN")
            blocker(blocking)
            threading.Timer(1.5, blocking.close).start()
        started = clock.monotonic()
        with server.connect(database) as conn:
            conn.execute(ddl)
        index_seconds = clock.monotonic() - started
        clock.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=30)
    return WriteLatency(len(latencies), failures[0], max(latencies, default=0.0), index_seconds)
