"""Steps of features/performance_optimization.feature (guide: Performance Optimization)."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from runbook_lib.drill import faults
from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.performance_optimization import database as performance
from runbook_lib.procedures.performance_optimization import index_locks
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer


def _slow_query(guide: Guide) -> str:
    return next(c.text for c in guide.optimization_sql if "pg_stat_statements" in c.text)


@when("the operator runs the guide's slow-query SQL as written", target_fixture="slow_query")
def slow_query(guide: Guide, drill_server: PostgresServer, database: str) -> performance.SqlOutcome:
    with drill_server.connect(database) as conn:  # some traffic for the report to show
        for user in range(1, 50):
            conn.execute("SELECT count(*) FROM emails WHERE user_id = %s", (user,))
    return performance.run_as_written(drill_server, database, _slow_query(guide))


@when("the refusal is reported and the working equivalent is run", target_fixture="slow_query")
def working_slow_query(
    slow_query: performance.SqlOutcome,
    drill_server: PostgresServer,
    database: str,
    evidence: ScenarioEvidence,
) -> performance.SqlOutcome:
    if slow_query.error is None:
        raise ThresholdBreached("the guide's SQL ran; there is nothing to correct")
    performance.renamed_column_or_fail(slow_query, drill_server)
    findings.report(evidence, "GUIDE-PGSS-MEAN-TIME", f"PostgreSQL says: {slow_query.error}")
    return performance.run_as_written(
        drill_server, database, performance.working_equivalent(slow_query.sql)
    )


@then("it lists the slowest statements")
def lists_slowest(
    slow_query: performance.SqlOutcome, drill_server: PostgresServer, evidence: ScenarioEvidence
) -> None:
    if slow_query.error is not None:
        performance.renamed_column_or_fail(slow_query, drill_server)
        findings.confirm(
            evidence,
            "GUIDE-PGSS-MEAN-TIME",
            f"on PostgreSQL {drill_server.version}: {slow_query.error}",
        )
    evidence.check("statements listed", len(slow_query.rows), ">=", 1)
    evidence.check("statements listed", len(slow_query.rows), "<=", 10)


def _index_sql(guide: Guide) -> list[str]:
    return [c.text for c in guide.optimization_sql if c.text.upper().startswith("CREATE INDEX")]


@when("the operator runs the guide's index SQL as written")
def create_indexes(
    guide: Guide, drill_server: PostgresServer, database: str, evidence: ScenarioEvidence
) -> None:
    for sql in _index_sql(guide):
        outcome = performance.run_as_written(drill_server, database, sql)
        if outcome.error:
            raise ThresholdBreached(f"the guide's `{sql}` failed: {outcome.error}")
        evidence.note(f"ran as written: {sql}")
    with drill_server.connect(database) as conn:
        conn.execute("ANALYZE users; ANALYZE emails")


@then(parsers.parse('the lookup of {lookup} uses "{index}"'))
def uses_index(
    drill_server: PostgresServer, database: str, evidence: ScenarioEvidence, lookup: str, index: str
) -> None:
    used, node = performance.plan_uses_index(
        drill_server, database, performance.LOOKUPS[lookup][1], index
    )
    evidence.check_true(f"plan for {lookup} uses {index}", used, detail=f"top plan node: {node}")


@then("both lookups average under the guide's database query target")
def under_target(
    guide: Guide,
    drill_server: PostgresServer,
    database: str,
    evidence: ScenarioEvidence,
    wall_clock: Clock,
) -> None:
    target = guide.key_metric("Database Performance")
    assert target.comparator is not None
    assert target.threshold is not None
    size, emails = performance.seeded_size(drill_server, database)
    evidence.measure("seeded database size", size, "bytes")
    evidence.measure("seeded emails", emails)
    for lookup, (sql, _, args) in performance.LOOKUPS.items():
        mean = performance.mean_query_ms(drill_server, database, sql, args, wall_clock)
        evidence.check(
            f"mean time of the lookup of {lookup}", mean, target.comparator, target.threshold, "ms"
        )


@when(
    parsers.re(
        r"a writer arrives while each of the guide's index statements is building"
        r"(?: and (?P<lock>a session holds a SHARE lock))?"
    ),
    target_fixture="index_locks_seen",
)
def writers_during_builds(
    guide: Guide, drill_server: PostgresServer, database: str, wall_clock: Clock, lock: str | None
) -> list[index_locks.IndexBuildLock]:
    holder = faults.find(faults.SESSIONS, lock).apply if lock else None
    return [
        index_locks.writer_behind_index_build(
            drill_server, database, ddl, clock=wall_clock, holder=holder
        )
        for ddl in _index_sql(guide)
    ]


@then("every writer got its lock at once")
def writers_got_locks(
    index_locks_seen: list[index_locks.IndexBuildLock], evidence: ScenarioEvidence
) -> None:
    for lock in index_locks_seen:
        refused = f"; {lock.writer_error}" if lock.writer_error else ""
        evidence.check_true(
            f"a writer got its lock on {lock.table} during the index build",
            lock.writer_got_lock,
            detail=f"the guide's statement took {lock.mode}{refused}",
        )


@then("a writer was kept waiting for its lock")
def a_writer_waited(
    index_locks_seen: list[index_locks.IndexBuildLock], evidence: ScenarioEvidence
) -> None:
    refused = [
        f"{lock.table}: {lock.writer_error}"
        for lock in index_locks_seen
        if not lock.writer_got_lock
    ]
    evidence.check_true(
        "a writer was refused its lock during an index build", bool(refused), "; ".join(refused)
    )
