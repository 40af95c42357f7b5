"""Does the guide's index statement let writers in? Observed from the locks, not from timing.

Guide: Performance Optimization > Database Optimization, "CREATE INDEX CONCURRENTLY ...". A
plain ``CREATE INDEX`` takes a SHARE lock on its table, which waits for, and then blocks,
every writer (ROW EXCLUSIVE); ``CREATE INDEX CONCURRENTLY`` takes SHARE UPDATE EXCLUSIVE, which
writers pass. On a small drill table the difference is a few milliseconds and a timing check
passes either way, so :func:`writer_behind_index_build` makes it deterministic:

1. a *holder* session keeps a write transaction open on the table (as a busy application does);
2. the guide's statement starts in a second session and, whichever lock it takes, parks: the
   plain build waits for its SHARE lock behind the holder, the concurrent build waits for the
   holder's transaction before its second phase;
3. while it is parked, a *writer* asks for the lock every INSERT takes, with a lock timeout:
   behind a pending SHARE request it cannot get it (PostgreSQL queues it behind the build), next
   to SHARE UPDATE EXCLUSIVE it gets it at once.

The lock the statement took or waited for is read from ``pg_locks`` and recorded too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from runbook_lib.errors import ProcedureFailed
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer

Session = psycopg.Connection[tuple[object, ...]]
# Lock modes that conflict with ROW EXCLUSIVE, the lock every INSERT/UPDATE/DELETE takes.
BLOCKS_WRITERS = frozenset(
    {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
)


@dataclass(frozen=True)
class IndexBuildLock:
    table: str
    mode: str  # the statement's lock on the table, granted or awaited (pg_locks.mode)
    writer_got_lock: bool
    writer_error: str  # the writer's refusal (lock timeout) when it did not get the lock

    @property
    def blocks_writers(self) -> bool:
        return self.mode in BLOCKS_WRITERS or not self.writer_got_lock


def index_table(ddl: str) -> str:
    match = re.search(r"\bON\s+(?:ONLY\s+)?([\w.\"]+)\s*\(", ddl, re.IGNORECASE)
    if match is None:
        raise ProcedureFailed(f"cannot tell which table the index statement builds on: {ddl}")
    return match.group(1)


def writer_behind_index_build(
    server: PostgresServer,
    database: str,
    ddl: str,
    *,
    clock: Clock,
    writer_timeout_ms: int = 1000,
    holder: Callable[[Session], object] | None = None,
) -> IndexBuildLock:
    """Run ``ddl`` (the guide's, unchanged) against an open write transaction and report
    whether a writer still gets its lock while the build is in progress. ``holder`` (a fault)
    replaces what the open transaction does (by default: the lock every write takes)."""
    table = index_table(ddl)
    with server.connect(database) as open_tx, server.connect(database) as builder:
        row = builder.execute("SELECT pg_backend_pid()").fetchone()
        builder_pid = int(str(row[0])) if row else 0
        open_tx.execute("BEGIN")
        (holder or _write_lock(table))(open_tx)
        failure: list[str] = []
        build = threading.Thread(target=_run, args=(builder, ddl, failure), daemon=True)
        build.start()
        try:
            mode = _parked_lock(server, database, builder_pid, table, clock, build.is_alive)
            if failure:
                raise ProcedureFailed(f"`{ddl}` failed: {failure[0]}")
            got, error = _writer_gets_lock(server, database, table, writer_timeout_ms)
        finally:
            open_tx.execute("ROLLBACK")
            build.join(timeout=60)
    return IndexBuildLock(table, mode or "none: the build finished first", got, error)


def _write_lock(table: str) -> Callable[[Session], object]:
    return lambda session: session.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")


def _run(conn: Session, ddl: str, failure: list[str]) -> None:
    try:
        conn.execute(ddl)
    except psycopg.Error as exc:  # kept for the caller; what matters is the writer's outcome
        failure.append(str(exc).strip().splitlines()[0])


def _parked_lock(
    server: PostgresServer,
    database: str,
    pid: int,
    table: str,
    clock: Clock,
    running: Callable[[], bool],
) -> str:
    """Wait until the build session waits on a lock; its lock on ``table`` (held or awaited),
    or "" when the statement ended first."""
    deadline = clock.monotonic() + 30
    with server.connect(database) as observer:
        while clock.monotonic() < deadline and running():
            waiting = observer.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if waiting and waiting[0] == "Lock":
                row = observer.execute(
                    "SELECT mode FROM pg_locks WHERE pid = %s AND relation = %s::regclass "
                    "ORDER BY granted LIMIT 1",
                    (pid, table),
                ).fetchone()
                return str(row[0]) if row else "none"
            clock.sleep(0.02)
    if running():
        raise ProcedureFailed(
            f"the index statement on {table} never waited for the open transaction"
        )
    return ""


def _writer_gets_lock(
    server: PostgresServer, database: str, table: str, timeout_ms: int
) -> tuple[bool, str]:
    with server.connect(database) as writer:
        try:
            writer.execute("BEGIN")
            writer.execute(f"SET LOCAL lock_timeout = '{int(timeout_ms)}ms'")
            writer.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
            writer.execute("ROLLBACK")
        except psycopg.Error as exc:
            return False, str(exc).strip().splitlines()[0]
    return True, ""
