"""Steps of features/deployment.feature (guide: Deployment Procedures, Rollback Procedures,
Application Recovery)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from runbook_lib.drill import faults
from runbook_lib.errors import ProcedureFailed, ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.backup_recovery import verify
from runbook_lib.procedures.deployment import deploy
from runbook_lib.procedures.deployment.vercel import Deployment, VercelClient
from runbook_lib.procedures.deployment.vercel_cli import VercelCli
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.steps.common import (
    Attempt,
    PreparedBackup,
    attempt,
    comma_list,
    expect_failure,
)
from runbook_lib.world import rewrites
from runbook_lib.world.postgres import PostgresServer


@pytest.fixture
def vercel(cloud: SimulatedCloud, http_client: httpx.Client) -> VercelClient:
    """The REST client of the drill's checks; it passes the project's protection with its
    automation bypass secret, as a CI smoke test does."""
    return cloud.vercel_client(http_client, bypass=True)


@pytest.fixture
def live(vercel: VercelClient) -> list[Deployment]:
    """Production deployments made before the scenario's release, oldest first."""
    return []


@given(parsers.parse("Napoleon AI's app repository at version {version}"), target_fixture="release")
def app_repository(
    tmp_path: Path,
    vercel: VercelClient,
    vercel_cli: VercelCli,
    cloud: SimulatedCloud,
    version: str,
) -> deploy.Release:
    """The app's repository, linked to the project (``.vercel/project.json``) for the CLI."""
    repo = deploy.make_app_repo(tmp_path / "app", version)
    team = cloud.vercel.backend.account.team_id
    cli = vercel_cli.link(repo, cloud.target.vercel_project, team)
    return deploy.Release(repo, deploy.Vercel(vercel, cli), arrange=cloud.vercel.doom)


def _record_cli(release: deploy.Release, evidence: ScenarioEvidence, finding: str | None) -> None:
    """Every CLI run in the evidence (line, argv, version, outcome); each refused line judged,
    in the CLI's words, as the finding it confirms (``finding``: the one this step expects)."""
    for line in deploy.vercel_runs(release.vercel.cli.runs):
        evidence.note(line)
    for command in dict.fromkeys(run.command for run in release.vercel.cli.runs):
        evidence.rewrite(rewrites.program(command, "vercel", str(release.vercel.cli.program)))
    for refusal in deploy.refusals(release.vercel.cli.runs):
        if finding is None or refusal.finding == finding:
            findings.judge(evidence, refusal.rewrite(), refusal.finding)


_BOX = re.compile(r"^\s*[-*]\s*\[([ xX])\]\s*(.+?)\s*$", re.MULTILINE)


@given("the release's checklist reads:", target_fixture="release_checklist")
def release_checklist(docstring: str) -> dict[str, bool]:
    """The release's own ticked boxes (written in the feature, apart from the guide)."""
    return {box.group(2): box.group(1) in "xX" for box in _BOX.finditer(docstring)}


@when("the release gate judges it against the guide's checklist", target_fixture="gate")
def checklist(guide: Guide, release_checklist: dict[str, bool]) -> Attempt:
    """An item of the guide's Pre-Deployment Checklist the release does not tick is unmet."""
    return attempt(lambda: deploy.readiness_gate(guide.checklist, release_checklist))


@then("the release is allowed")
def allowed(gate: Attempt, guide: Guide, evidence: ScenarioEvidence) -> None:
    """Red: the guide's checklist has an item the release did not tick (a sixth item)."""
    gate.unwrap()
    evidence.measure("checklist items checked", len(guide.checklist))


@then(parsers.parse('the release is refused naming "{items}"'))
def refused(
    gate: Attempt, release_checklist: dict[str, bool], evidence: ScenarioEvidence, items: str
) -> None:
    """Red: a gate that lets unticked or unlisted items pass, or names ticked ones."""
    for item in comma_list(items):
        expect_failure(gate, evidence, item)
    named = [i for i, met in release_checklist.items() if met and i in str(gate.error)]
    evidence.check("met items named as unmet", len(named), "==", 0, detail=", ".join(named))


def _go_live(
    vercel: VercelClient, live: list[Deployment], meta: dict[str, bool] | None = None
) -> Deployment:
    deployment = vercel.wait_ready(vercel.deploy("production", f"{len(live) + 1:040x}", meta))
    live.append(deployment)
    return deployment


@given("a healthy production deployment is live")
def healthy_live(vercel: VercelClient, live: list[Deployment]) -> None:
    _go_live(vercel, live)


@given("an unhealthy release reached production")
def unhealthy_live(vercel: VercelClient, live: list[Deployment]) -> None:
    _go_live(vercel, live, {"simulateUnhealthy": True})


@given(parsers.re("(?P<fault>" + "|".join(re.escape(f.says) for f in faults.RELEASE) + ")"))
def release_fault(release: deploy.Release, fault: str) -> None:
    faults.find(faults.RELEASE, fault).apply(release)


@given(parsers.parse("the Vercel API {fault}"))
def vercel_fault(cloud: SimulatedCloud, fault: str) -> None:
    faults.find(faults.CLOUD, f"the Vercel API {fault}").apply(cloud)


@when("the operator runs the guide's deployment steps")
@when(parsers.parse('the operator runs the guide\'s deployment steps up to "{command}"'))
@when(parsers.parse('the operator runs the guide\'s deployment steps from "{start}"'))
def run_steps(
    guide: Guide,
    release: deploy.Release,
    evidence: ScenarioEvidence,
    command: str | None = None,
    start: str | None = None,
) -> None:
    release.stop_after, release.start_at = command, start
    deploy.run_release(guide, release)
    for step in release.steps:
        evidence.note(
            f"step {step.number} {step.title} (`{step.command}`): {step.status} {step.detail[:200]}"
        )
    _record_cli(release, evidence, "GUIDE-VERCEL-LOGS-PROD")


@then(parsers.parse("all {count:d} deployment steps passed in the guide's order"))
def all_passed(
    release: deploy.Release, guide: Guide, evidence: ScenarioEvidence, count: int
) -> None:
    evidence.check(
        "deployment steps passed", sum(s.status == "passed" for s in release.steps), "==", count
    )
    if [s.number for s in release.steps] != [s.number for s in guide.deployment_steps]:
        raise ThresholdBreached("the steps did not run in the guide's order")


@then("production serves the released commit")
def serves_release(
    vercel: VercelClient, release: deploy.Release, evidence: ScenarioEvidence
) -> None:
    current = vercel.production()
    assert release.production is not None
    assert current is not None
    evidence.check_true(
        "production is the released deployment", current.id == release.production.id
    )
    evidence.check_true("production is healthy", vercel.healthy(current))


@then("the release branch names the released version")
def branch_names_version(release: deploy.Release, guide: Guide, evidence: ScenarioEvidence) -> None:
    branch = guide.deployment_steps[0].command.split()[-1]
    failed = release.failed_step
    if not release.version:  # no step bumped the version (one failed first): not this finding
        cause = f"step {failed.number} (`{failed.command}`): {failed.detail}" if failed else ""
        raise ProcedureFailed(f"the guide's deployment steps released no version. {cause}")
    evidence.note(f"branch {branch}, npm version patch released {release.version}")
    if branch.removeprefix("release/v") != release.version:
        findings.confirm(
            evidence,
            "GUIDE-RELEASE-VERSION-MISMATCH",
            f"step 1 creates {branch}, step 2 (`npm version patch`) releases v{release.version}",
        )


@then(parsers.parse("step {number:d} failed and every later step did not run"))
def stopped(release: deploy.Release, evidence: ScenarioEvidence, number: int) -> None:
    failed = release.failed_step
    evidence.check(
        "failed step",
        failed.number if failed else 0,
        "==",
        number,
        detail=failed.detail if failed else "",
    )
    later = [s for s in release.steps if s.number > number]
    evidence.check("later steps that ran", sum(s.status != "not run" for s in later), "==", 0)


@then(parsers.parse('step {number:d} failed naming "{words}"'))
def failed_naming(
    release: deploy.Release, evidence: ScenarioEvidence, number: int, words: str
) -> None:
    failed = release.failed_step
    evidence.check("failed step", failed.number if failed else 0, "==", number)
    assert failed is not None
    if words.lower() not in failed.detail.lower():
        raise ThresholdBreached(
            f"step {number} failed with {failed.detail!r}, which does not name {words!r}"
        )


@then("production still serves the deployment that was live")
def still_live(vercel: VercelClient, live: list[Deployment], evidence: ScenarioEvidence) -> None:
    current = vercel.production()
    evidence.check_true("production unchanged", current is not None and current.id == live[-1].id)


@when("the operator runs the guide's rollback command", target_fixture="rollback")
def run_rollback(guide: Guide, release: deploy.Release, evidence: ScenarioEvidence) -> Attempt:
    """The guide's line through the real CLI; refused, the corrected line runs (and is judged)."""
    command = guide.command("vercel", guide.rollback_commands).text
    outcome = attempt(lambda: deploy.rollback_production(release.vercel, command))
    _record_cli(release, evidence, "GUIDE-VERCEL-ROLLBACK-PROD")
    return outcome


def _production_is(
    vercel: VercelClient, deployment_id: str, what: str, evidence: ScenarioEvidence
) -> None:
    current = vercel.production()
    evidence.check_true(
        f"production is {what}", current is not None and current.id == deployment_id
    )
    evidence.check_true("production is healthy", current is not None and vercel.healthy(current))


@then("production serves the deployment that was live before the bad release")
def rolled_back(
    rollback: Attempt, vercel: VercelClient, live: list[Deployment], evidence: ScenarioEvidence
) -> None:
    """Red: a rollback that leaves production where it was, or picks an unhealthy deployment."""
    result: deploy.Rollback = rollback.unwrap()
    _production_is(vercel, live[0].id, "the last healthy deployment", evidence)
    evidence.note(f"rolled back from {result.from_id} to {result.to.id}")


@then("the rollback took no longer than the Application RTO")
def rollback_rto(rollback: Attempt, guide: Guide, evidence: ScenarioEvidence) -> None:
    evidence.check(
        "rollback time (simulated clock)",
        rollback.unwrap().seconds,
        "<=",
        guide.objective("Application").rto_seconds,
        "s",
    )


@then(parsers.parse('the rollback fails with "{words}"'))
def rollback_fails(rollback: Attempt, evidence: ScenarioEvidence, words: str) -> None:
    expect_failure(rollback, evidence, words)


@when("the release's migration damages the data")
def damaging_migration(drill_server: PostgresServer, database: str) -> None:
    fault = faults.find(faults.DATABASE, "the release's migration damages the data")
    fault.apply(faults.Database(drill_server, database))


@then("the recovered database equals the pre-release state")
def pre_release_state(
    recovery: Attempt,
    prepared: PreparedBackup,
    drill_server: PostgresServer,
    recovery_target: str,
    evidence: ScenarioEvidence,
) -> None:
    recovery.unwrap()
    problems = verify.differences(
        prepared.source, verify.fingerprint(drill_server, recovery_target)
    )
    evidence.check(
        "differences from the pre-release state",
        len(problems),
        "==",
        0,
        detail="; ".join(problems[:3]),
    )


@when(
    "the operator runs the guide's application recovery command for the last good commit",
    target_fixture="redeployed",
)
def redeploy(guide: Guide, release: deploy.Release, evidence: ScenarioEvidence) -> deploy.Redeploy:
    """The guide's line through the real CLI in the app's repository (at the last good commit)."""
    command = guide.command("vercel", guide.recovery_commands).text
    redeployed = deploy.redeploy(release.vercel, command)
    _record_cli(release, evidence, None)
    if redeployed.promoted:
        findings.report(
            evidence,
            "GUIDE-REDEPLOY-AFTER-ROLLBACK",
            f"`{command}` built {redeployed.deployment.id}, which production did not take until "
            f"`{redeployed.promote.command if redeployed.promote else 'vercel promote'}` ran",
        )
    return redeployed


@then("production is healthy again")
def healthy_again(
    redeployed: deploy.Redeploy, vercel: VercelClient, evidence: ScenarioEvidence
) -> None:
    _production_is(vercel, redeployed.deployment.id, "the redeployment", evidence)


@then("the redeploy took no longer than the Application RTO")
def redeploy_rto(redeployed: deploy.Redeploy, guide: Guide, evidence: ScenarioEvidence) -> None:
    evidence.check(
        "redeploy time (simulated clock)",
        redeployed.seconds,
        "<=",
        guide.objective("Application").rto_seconds,
        "s",
    )
