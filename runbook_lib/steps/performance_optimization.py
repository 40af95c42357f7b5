"""Steps of features/performance_optimization.feature (guide: Performance Optimization)."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from runbook_lib.drill import faults
from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures import performance_optimization as performance
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
    performance.renamed_column_or_fail(slow_query)
    findings.report(evidence, "GUIDE-PGSS-MEAN-TIME", f"PostgreSQL says: {slow_query.error}")
    return performance.run_as_written(
        drill_server, database, performance.working_equivalent(slow_query.sql)
    )


@then("it lists the slowest statements")
def lists_slowest(
    slow_query: performance.SqlOutcome, drill_server: PostgresServer, evidence: ScenarioEvidence
) -> None:
    if slow_query.error is not None:
        performance.renamed_column_or_fail(slow_query)
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


_LOOKUPS = {
    "a user by email": (
        "SELECT id FROM users WHERE email = %s",
        "SELECT id FROM users WHERE email = 'user77@example.com'",
    ),
    "emails by user": (
        "SELECT id, subject FROM emails WHERE user_id = %s",
        "SELECT id, subject FROM emails WHERE user_id = 77",
    ),
}


@then(parsers.parse('the lookup of {lookup} uses "{index}"'))
def uses_index(
    drill_server: PostgresServer, database: str, evidence: ScenarioEvidence, lookup: str, index: str
) -> None:
    used, node = performance.plan_uses_index(drill_server, database, _LOOKUPS[lookup][1], index)
    evidence.check_true(f"plan for {lookup} uses {index}", used, detail=f"top plan node: {node}")


@then("both lookups average under the guide's database query target")
def under_target(
    guide: Guide,
    drill_server: PostgresServer,
    database: str,
    evidence: ScenarioEvidence,
    wall_clock: Clock,
) -> None:
    target = next(m for m in guide.key_metrics if m.metric == "Database Performance")
    assert target.comparator is not None
    assert target.threshold is not None
    with drill_server.connect(database) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), (SELECT count(*) FROM emails)"
        ).fetchone()
    evidence.measure("seeded database size", float(str(row[0])) if row else 0, "bytes")
    evidence.measure("seeded emails", float(str(row[1])) if row else 0)
    args: dict[str, list[tuple[object, ...]]] = {
        "a user by email": [(f"user{i}@example.com",) for i in range(1, 200)],
        "emails by user": [(i,) for i in range(1, 200)],
    }
    for lookup, (sql, _) in _LOOKUPS.items():
        evidence.check(
            f"mean time of the lookup of {lookup}",
            performance.mean_query_ms(drill_server, database, sql, args[lookup], wall_clock),
            target.comparator,
            target.threshold,
            "ms",
        )


@when(
    parsers.re(
        r"the guide's index SQL runs while a writer keeps inserting emails(?: and (?P<lock>a session holds a SHARE lock))?"
    ),
    target_fixture="latency",
)
def index_under_load(
    guide: Guide,
    drill_server: PostgresServer,
    database: str,
    lock: str | None,
    wall_clock: Clock,
) -> performance.WriteLatency:
    sql = next(s for s in _index_sql(guide) if "emails" in s)
    blocker = faults.find(faults.SESSIONS, lock).apply if lock else None
    return performance.index_while_writing(
        drill_server, database, sql, clock=wall_clock, blocker=blocker
    )


@then("no write failed")
def no_failures(latency: performance.WriteLatency, evidence: ScenarioEvidence) -> None:
    evidence.measure("writes during the index build", latency.writes)
    evidence.measure("index build time", latency.index_seconds, "s")
    evidence.check("failed writes", latency.failed, "==", 0)


@then(parsers.re(r"(?P<outcome>no write|a write) waited longer than (?P<seconds>\d+) seconds?"))
def write_wait(
    latency: performance.WriteLatency, evidence: ScenarioEvidence, outcome: str, seconds: str
) -> None:
    bound = float(seconds) * 1000
    if outcome == "no write":
        evidence.check("slowest write during the index build", latency.max_ms, "<=", bound, "ms")
    else:
        evidence.check("slowest write while a SHARE lock is held", latency.max_ms, ">", bound, "ms")
