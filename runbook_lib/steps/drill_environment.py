"""Steps of features/drill_environment.feature: what a green drill stands on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from pytest_bdd import given, parsers, then, when

from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.procedures.backup_recovery.storage import Buckets, list_objects
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world import capabilities, dataset, shell
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@given("the guide's storage buckets", target_fixture="buckets")
def guides_buckets(storage_buckets: Buckets) -> Buckets:
    return storage_buckets


@given("the simulated cloud", target_fixture="sim")
def simulated_cloud(cloud: SimulatedCloud) -> SimulatedCloud:
    return cloud


@then(parsers.parse("the database server is PostgreSQL {major:d} or newer"))
def server_version(
    pg_server: PostgresServer, production_db: str, evidence: ScenarioEvidence, major: int
) -> None:
    with pg_server.connect(production_db) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    evidence.check("server major version", int(str(row[0])) // 10000, ">=", major)


@then("pg_stat_statements records the queries the drill runs")
def statements_recorded(
    pg_server: PostgresServer, production_db: str, evidence: ScenarioEvidence
) -> None:
    capabilities.require_statistics(pg_server, production_db)  # another's server may lack it
    with pg_server.connect(production_db) as conn:
        conn.execute("SELECT count(*) FROM emails WHERE priority = 3 AND subject LIKE 'Subject a%'")
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%priority = $1%'"
        ).fetchone()
    evidence.check("recorded statements", int(str(row[0])) if row else 0, ">=", 1)


@then(parsers.parse("every seeded user has {emails:d} emails"))
def emails_per_user(
    pg_server: PostgresServer, production_db: str, evidence: ScenarioEvidence, emails: int
) -> None:
    with pg_server.connect(production_db) as conn:
        counts = dataset.row_counts(conn)
    evidence.measure("users", counts["users"])
    evidence.check("emails", counts["emails"], "==", counts["users"] * emails)


@when(parsers.parse('the operator lists "{url}" with the aws CLI'), target_fixture="listing")
def aws_ls(url: str) -> list[str]:
    result = shell.run(["aws", "s3", "ls", "--recursive", url]).check()
    return [line.split()[-1] for line in result.stdout.splitlines() if line.strip()]


@then("the listing shows every object in the storage bucket")
def listing_complete(
    listing: list[str], s3: S3Client, evidence: ScenarioEvidence, buckets: Buckets
) -> None:
    expected = sorted(list_objects(s3, buckets.storage))
    evidence.check("objects listed by the aws CLI", len(listing), "==", len(expected))
    if sorted(listing) != expected:
        raise ThresholdBreached(
            f"aws CLI listed {sorted(set(listing) ^ set(expected))[:5]} differently"
        )


def _list_backups(cloud: SimulatedCloud, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(
        f"https://api.supabase.com/v1/projects/{cloud.target.supabase_project}/database/backups",
        headers=headers,
    )


@then(parsers.parse("listing backups without a token is refused with {status:d}"))
def no_token(sim: SimulatedCloud, evidence: ScenarioEvidence, status: int) -> None:
    evidence.check("status without a token", _list_backups(sim, {}).status_code, "==", status)


@then(
    parsers.parse("listing backups with the project's service-role key is refused with {status:d}")
)
def service_role_key(sim: SimulatedCloud, evidence: ScenarioEvidence, status: int) -> None:
    key = sim.credentials.supabase_service_role_key
    evidence.check(
        "status with the service-role key",
        _list_backups(sim, {"Authorization": f"Bearer {key}"}).status_code,
        "==",
        status,
    )


@then("listing backups with the access token succeeds")
def access_token(sim: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    response = _list_backups(
        sim, {"Authorization": f"Bearer {sim.credentials.supabase_access_token}"}
    )
    evidence.check("status with the access token", response.status_code, "==", 200)
    evidence.check_true("backups key in the answer", "backups" in response.json())
