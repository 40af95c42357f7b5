"""Steps of features/live_checks.feature: the weekly read-only checks of a target (guide:
Database Backups, Recovery Time Objectives, Rollback Procedures, Access Management, Compliance,
Alerting Rules).

In a live run the Given steps arrange nothing (the target is what it is) and the checks read
its own endpoints; in a simulated run they arrange a good week's staging in the simulations
(:mod:`runbook_lib.sim.staging`). Either way the checks go through
:class:`~runbook_lib.procedures.live_checks.TargetServices`, whose clients refuse to write.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from pytest_bdd import given, then, when

from runbook_lib.drill.options import DrillOptions
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.live_checks import (
    ReadOnlyHttp,
    TargetServices,
    backups,
    live_services,
    production,
    rules,
)
from runbook_lib.procedures.security import buckets as promised
from runbook_lib.sim import staging
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world.clock import Clock
from runbook_lib.world.targets import Target

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def stand_in(request: pytest.FixtureRequest, live_endpoints: bool) -> SimulatedCloud | None:
    """The simulations standing in for the target; None in a live run (nothing stands in)."""
    return None if live_endpoints else request.getfixturevalue("cloud")


@pytest.fixture
def target_services(
    stand_in: SimulatedCloud | None,
    drill_target: Target,
    http_client: httpx.Client,
    s3: S3Client,
    wall_clock: Clock,
) -> Iterator[TargetServices]:
    """The target as the checks read it, through read-only clients (made after the Given
    steps: a simulated run's arrangement writes, the checks never do)."""
    with ReadOnlyHttp(http_client) as http:
        if stand_in is None:
            yield live_services(drill_target, wall_clock, http, s3)
        else:
            yield staging.stand_in_services(stand_in, http, s3)


@given("the target's Supabase project as it stands")
def supabase_as_it_stands(stand_in: SimulatedCloud | None) -> None:
    if stand_in is not None:
        staging.arrange_backups(stand_in)


@given("the target's Vercel project as it stands")
def vercel_as_it_stands(stand_in: SimulatedCloud | None, http_client: httpx.Client) -> None:
    if stand_in is not None:
        staging.arrange_production(stand_in, staging.operator_vercel(stand_in, http_client))


@given("the target's buckets as they stand")
def buckets_as_they_stand(
    live_endpoints: bool, s3: S3Client, guide: Guide, drill_target: Target
) -> None:
    if not live_endpoints:
        staging.arrange_buckets(s3, guide, drill_target.buckets)


@when(
    "the operator reads the project's backups and backup schedule",
    target_fixture="backup_reading",
)
def read_backups(
    target_services: TargetServices, evidence: ScenarioEvidence
) -> backups.BackupReading:
    services = target_services
    reading = backups.read_backups(
        services.supabase, services.names.supabase_project, services.clock.now()
    )
    evidence.note(backups.schedule_note(reading))
    return reading


@then("the newest completed backup is younger than the guide's database backup interval")
def newest_backup_recent(
    backup_reading: backups.BackupReading, guide: Guide, evidence: ScenarioEvidence
) -> None:
    """Red: the newest completed backup is as old as the guide's interval (a missed backup)."""
    schedule = guide.backup_schedule("Database")
    assert schedule.interval_seconds is not None, (
        f"the guide states no database backup schedule (line {schedule.line})"
    )
    age = backups.newest_backup_age(backup_reading).total_seconds()
    said = f"the guide: '{schedule.text}' (line {schedule.line})"
    evidence.check(
        "age of the newest Supabase backup", age, "<", schedule.interval_seconds, "s", said
    )


@then("the newest point a restore can reach is within the Database RPO")
def recovery_point_within_rpo(
    backup_reading: backups.BackupReading, guide: Guide, evidence: ScenarioEvidence
) -> None:
    """Red: PITR on but its window ends more than the RPO ago. PITR off, with a schedule that
    cannot meet the RPO: the RPO finding, reported (the scenario does not fail for it)."""
    cover = backups.rpo_cover(backup_reading, guide)
    if cover.gap is not None:
        evidence.measure(cover.measured, cover.seconds, "s")
        findings.report(evidence, "GUIDE-RPO-DAILY-BACKUPS", cover.gap)
        return
    evidence.check(cover.measured, cover.seconds, "<=", cover.rpo_seconds, "s")


@when("the operator reads the production deployment", target_fixture="production_reading")
def read_production(target_services: TargetServices) -> production.ProductionReading:
    return production.read_production(target_services.vercel)


@then("production is READY and every domain of it answers healthy")
def production_healthy(
    production_reading: production.ProductionReading, evidence: ScenarioEvidence
) -> None:
    """Red: production not READY, no domain, or a domain's health endpoint not answering 200."""
    for health in production_reading.health:
        evidence.note(f"https://{health.domain}{production.HEALTH_PATH}: {health.status}")
    problems = production_reading.problems()
    evidence.check_true(
        "production is READY and answers healthy", not problems, "; ".join(problems)
    )


@then("an earlier READY production deployment is there to roll back to")
def rollback_candidate(
    production_reading: production.ProductionReading,
    target_services: TargetServices,
    evidence: ScenarioEvidence,
) -> None:
    """Red: no earlier production deployment is READY (none, or their builds failed)."""
    current = production_reading.deployment
    assert current is not None, "nothing is in production: there is nothing to roll back from"
    candidate = production.rollback_candidate(target_services.vercel, current)
    evidence.check_true(
        "an earlier READY production deployment to roll back to",
        candidate is not None,
        f"{candidate.id} ({candidate.url})" if candidate else f"none before {current.id}",
    )


@when("the operator reads both buckets' configuration", target_fixture="postures")
def read_buckets(target_services: TargetServices) -> dict[str, promised.BucketPosture]:
    names = target_services.names.buckets
    return {
        name: promised.read_posture(target_services.s3, name)
        for name in (names.storage, names.backup)
    }


@then("every bucket keeps every promise the guide makes of it")
def buckets_keep_promises(
    postures: dict[str, promised.BucketPosture],
    guide: Guide,
    drill_target: Target,
    evidence: ScenarioEvidence,
) -> None:
    """Red: a bucket unversioned, unencrypted, open to the public, or without an expiring
    lifecycle rule where the guide promises (or implies) it."""
    promises = promised.promises(guide, drill_target.buckets)
    broken = [(p, why) for p in promises if (why := promised.broken(p, postures[p.bucket]))]
    for promise in promises:
        evidence.note(f"{promise.bucket} {promise.property}: {promise.because}")
    detail = "; ".join(f"{why} (the guide: {p.because})" for p, why in broken)
    evidence.check("bucket promises broken", len(broken), "==", 0, detail=detail)


@then("the deployed rule file holds exactly the rules the guide generates")
def deployed_rules(guide: Guide, drill_options: DrillOptions, evidence: ScenarioEvidence) -> None:
    """Red: a rule of the deployed file edited, removed or added by hand."""
    drift = rules.rule_drift(guide, drill_options.config_dir.rule_file)
    evidence.check(
        "deployed rules that differ from the guide's", len(drift), "==", 0, detail="; ".join(drift)
    )
