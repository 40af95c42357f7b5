"""Each finding is confirmed by its own cause, never by "some error happened" (issue:
truthful evidence): the slow-query finding only on SQLSTATE 42703 naming a renamed column, the
backup-trigger endpoint finding only when the route does not exist."""

from __future__ import annotations

import pytest

from runbook_lib.errors import ProcedureFailed
from runbook_lib.guide.model import load_guide
from runbook_lib.procedures.backup_recovery.backup import CurlRequest, TriggerResult, route_missing
from runbook_lib.procedures.performance_optimization import database as performance
from runbook_lib.world.postgres import embedded_cluster

SLOW_QUERY = next(c.text for c in load_guide().optimization_sql if "pg_stat_statements" in c.text)


def _slow_query(settings: dict[str, str] | None, sql: str) -> performance.SqlOutcome:
    with embedded_cluster(settings) as server:
        with server.connect("postgres") as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return performance.run_as_written(server, "postgres", sql)


def test_the_renamed_column_confirms_the_finding() -> None:
    outcome = _slow_query(None, SLOW_QUERY)
    assert outcome.sqlstate == "42703"
    assert performance.renamed_column_or_fail(outcome) == "mean_time"


def test_pg_stat_statements_not_preloaded_is_a_plain_failure_not_the_finding() -> None:
    """Seen in a rehearsal against a server with default settings: the corrected statement
    then fails because the extension is not preloaded, which is the server's gap, not the
    guide's."""
    corrected = performance.working_equivalent(SLOW_QUERY)
    outcome = _slow_query({"shared_preload_libraries": "''"}, corrected)
    assert outcome.sqlstate == "55000"
    assert "shared_preload_libraries" in (outcome.error or "")
    with pytest.raises(ProcedureFailed, match="SQLSTATE 55000"):
        performance.renamed_column_or_fail(outcome)


@pytest.mark.parametrize(
    ("sqlstate", "error"),
    [
        ("42P01", 'relation "pg_stat_statements" does not exist'),  # extension not installed
        ("42501", "permission denied for view pg_stat_statements"),
        ("42703", 'column "nonsense" does not exist'),  # another column: not the rename
    ],
)
def test_other_failures_of_the_slow_query_are_not_the_finding(sqlstate: str, error: str) -> None:
    outcome = performance.SqlOutcome(SLOW_QUERY, error, (), sqlstate)
    assert outcome.renamed_column() is None
    with pytest.raises(ProcedureFailed, match=sqlstate):
        performance.renamed_column_or_fail(outcome)


def _trigger(status: int, body: str, path: str = "/v1/projects/abc/backups") -> TriggerResult:
    request = CurlRequest("POST", f"https://api.supabase.com{path}", {}, ())
    return TriggerResult(request, status, body)


def test_the_endpoint_finding_needs_the_router_to_say_the_route_does_not_exist() -> None:
    assert route_missing(_trigger(404, '{"message":"Cannot POST /v1/projects/abc/backups"}'))
    assert not route_missing(_trigger(404, '{"message":"Project not found"}'))
    assert not route_missing(_trigger(401, '{"message":"Unauthorized"}'))
    assert not route_missing(
        _trigger(404, '{"message":"Cannot POST /v1/projects/abc/backups"}', "/v1/other")
    )
