"""The day the guide is fixed (issue: "for every finding, a test proves the day-the-guide-is-fixed
path"). For each ``@finding:<ID>`` scenario, a copy of the guide with that one gap corrected, as
the findings catalogue's fix says, makes the scenario pass, and the strict xfail turns the run
red naming the tag to remove. The unedited guide shows every gap for the same selections, and
a half-made fix stays red for its own reason, never as the gap or as fixed.

Each case is one serial child drill of one scenario (``--only`` its feature, ``-k`` its test
name); the guide as written runs all the selections in one child drill.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.evidence.findings import CATALOGUE
from runbook_lib.paths import DEFAULT_FEATURES
from tests.helpers import child_drill, edited_guide

Edit = tuple[str, str]  # (old, new): an exact replacement in the guide's Markdown, made once


@dataclass(frozen=True)
class Fix:
    finding: str
    edits: tuple[Edit, ...]
    feature: str  # the feature file's stem (--only)
    scenario: str  # the scenario's pytest name (-k selects exactly it)


# The Management API has no endpoint that creates a backup (restore-point is internal and makes
# a restore point, not a backup): the catalogue's fix takes the on-demand backup with pg_dump and
# lists Supabase's own backups with the access token. The scenario then passes because the
# guide's curl is a request the API accepts; its words ("starts a backup") describe the old
# guide, so with the tag gone it should be rewritten around the pg_dump.
ON_DEMAND_BACKUP = (
    'curl -X POST https://api.supabase.com/v1/projects/{PROJECT_ID}/backups \\\n  -H "Authorization: Bearer {SUPABASE_SERVICE_ROLE_KEY}"',
    'pg_dump -Fc "$DATABASE_URL" -f backup.dump\n# Check Supabase\'s own backups\ncurl https://api.supabase.com/v1/projects/{PROJECT_ID}/database/backups \\\n  -H "Authorization: Bearer {SUPABASE_ACCESS_TOKEN}"',
)
# An existing route (restore-point, which the simulation serves), and the Management API's
# credential: what SimulatedCloud.environment() fills ({SUPABASE_ACCESS_TOKEN}, an sbp_ token).
RESTORE_POINT_ROUTE = (
    "/v1/projects/{PROJECT_ID}/backups",
    "/v1/projects/{PROJECT_ID}/database/backups/restore-point",
)
ACCESS_TOKEN = ("Bearer {SUPABASE_SERVICE_ROLE_KEY}", "Bearer {SUPABASE_ACCESS_TOKEN}")

FIXES = (
    Fix(
        "GUIDE-TOC-INCOMPLETE",
        (
            (
                "6. [Performance Optimization](#performance-optimization)\n",
                "6. [Performance Optimization](#performance-optimization)\n"
                "7. [Emergency Contacts](#emergency-contacts)\n"
                "8. [Maintenance Windows](#maintenance-windows)\n"
                "9. [Recovery Time Objectives (RTO)](#recovery-time-objectives-rto)\n"
                "10. [Post-Incident Review](#post-incident-review)\n",
            ),
        ),
        "guide",
        "test_the_table_of_contents_leads_to_every_procedure_section",
    ),
    Fix(
        "GUIDE-BACKUP-TRIGGER-ENDPOINT",
        (ON_DEMAND_BACKUP,),
        "backup_recovery",
        "test_the_guides_manual_backup_trigger_starts_a_backup",
    ),
    Fix(
        "GUIDE-BACKUP-TRIGGER-CREDENTIAL",
        (ACCESS_TOKEN,),
        "backup_recovery",
        "test_the_credential_in_the_guides_backup_trigger_is_accepted_by_the_management_api",
    ),
    Fix(
        "GUIDE-RESTORE-PLAIN-SQL",
        (
            (
                "pg_restore -h db.supabase.co -U postgres -d napoleon_ai backup.sql\n   ```",
                "psql -v ON_ERROR_STOP=1 -h db.supabase.co -U postgres -d napoleon_ai -f backup.sql\n   ```",
            ),
        ),
        "backup_recovery",
        "test_the_guides_pg_restore_command_as_written_restores_supabases_logical_backup",
    ),
    Fix(
        "GUIDE-RPO-DAILY-BACKUPS",
        (
            (
                "# Automated daily backups via Supabase",
                "# Hourly backups with pg_dump -Fc (Supabase's automated backups run once a day)",
            ),
        ),
        "recovery_objectives",
        "test_the_guides_daily_database_backups_meet_the_database_rpo",
    ),
    Fix(
        "GUIDE-STORAGE-BACKUP-UNSCHEDULED",
        (("# Backup user uploads and assets", "# Backup user uploads and assets every 4 hours"),),
        "recovery_objectives",
        "test_the_guide_states_how_often_file_storage_is_backed_up",
    ),
    Fix(
        "GUIDE-RELEASE-VERSION-MISMATCH",
        # the drill's app repository is at 1.1.9 (deployment.feature), so `npm version patch`
        # releases 1.1.10; the other fix, `npm version minor`, is a step the drill cannot run
        # (see MISFIXES)
        (("git checkout -b release/v1.2.0", "git checkout -b release/v1.1.10"),),
        "deployment",
        "test_the_release_branch_is_named_after_the_version_the_steps_release",
    ),
    Fix(
        "GUIDE-PGSS-MEAN-TIME",
        (
            ("SELECT query, mean_time, calls", "SELECT query, mean_exec_time, calls"),
            ("ORDER BY mean_time DESC", "ORDER BY mean_exec_time DESC"),
        ),
        "performance_optimization",
        "test_the_guides_slowquery_report_runs_as_written",
    ),
    Fix(
        "GUIDE-ALERT-ERROR-RATE-GAP",
        (("- Function error rate > 5%", "- Function error rate >= 1%"),),
        "monitoring_alerting",
        "test_the_alerting_rules_catch_every_breach_of_the_key_metric_targets",
    ),
    Fix(
        "GUIDE-UPTIME-VS-RTO",
        (("| External APIs | 1 hour | 1 hour |", "| External APIs | 30 minutes | 1 hour |"),),
        "monitoring_alerting",
        "test_every_recovery_time_objective_fits_in_the_uptime_targets_monthly_error_budget",
    ),
    Fix(
        "GUIDE-CONTACT-MISSING",
        (("- **CTO**: +1-555-0125\n", "- **CTO**: +1-555-0125\n- **CEO**: +1-555-0126\n"),),
        "incident_response",
        "test_every_escalation_level_has_an_emergency_contact",
    ),
    Fix(
        "GUIDE-QUARTERLY-UNSCHEDULED",
        (
            (
                "- **Quarterly**: Security updates and audits",
                "- **Quarterly**: First Sunday of Jan/Apr/Jul/Oct, 2-4 AM UTC (security updates and audits)",
            ),
        ),
        "maintenance_windows",
        "test_the_guide_states_when_the_quarterly_window_is",
    ),
    Fix(
        "GUIDE-MONTHLY-UNTIMED",
        (
            (
                "- **Monthly**: First Sunday of month",
                "- **Monthly**: First Sunday of month, 2-4 AM UTC",
            ),
        ),
        "maintenance_windows",
        "test_the_guide_states_when_the_monthly_window_is",
    ),
)
BY_ID = {fix.finding: fix for fix in FIXES}


@dataclass(frozen=True)
class Misfix:
    """A fix that is not (yet) the fix: the scenario fails, with ``error`` in its evidence."""

    name: str
    fix: Fix
    error: str
    said: str = ""  # what the run's output says besides


MISFIXES = (
    # (a) the route exists now, but the service-role key is still the bearer: the credential
    # finding, which this scenario is not tagged with
    Misfix(
        "existing-route-service-role-key",
        Fix(
            "GUIDE-BACKUP-TRIGGER-ENDPOINT",
            (RESTORE_POINT_ROUTE,),
            "backup_recovery",
            BY_ID["GUIDE-BACKUP-TRIGGER-ENDPOINT"].scenario,
        ),
        "FindingConfirmed: finding GUIDE-BACKUP-TRIGGER-CREDENTIAL",
        "tagged @finding:GUIDE-BACKUP-TRIGGER-ENDPOINT, but the scenario confirmed another "
        "finding: finding GUIDE-BACKUP-TRIGGER-CREDENTIAL",
    ),
    # route and credential right, yet restore-point (internal; a restore point, not a backup)
    # wants a {"name": ...} body that the guide's curl does not send: a plain failure, neither
    # gap nor fixed
    Misfix(
        "existing-route-access-token",
        Fix(
            "GUIDE-BACKUP-TRIGGER-ENDPOINT",
            (RESTORE_POINT_ROUTE, ACCESS_TOKEN),
            "backup_recovery",
            BY_ID["GUIDE-BACKUP-TRIGGER-ENDPOINT"].scenario,
        ),
        "ProcedureFailed: the guide's backup trigger failed: POST https://api.supabase.com/v1/projects/",
        '/database/backups/restore-point answered 400 {"message":"name is required"}',
    ),
    # a bump the drill cannot run releases no version: that is no release-branch mismatch
    Misfix(
        "npm-version-minor",
        Fix(
            "GUIDE-RELEASE-VERSION-MISMATCH",
            (("npm version patch", "npm version minor"),),
            "deployment",
            BY_ID["GUIDE-RELEASE-VERSION-MISMATCH"].scenario,
        ),
        "ProcedureFailed: the guide's deployment steps released no version. step 2 (`npm version minor`)",
    ),
)


@dataclass(frozen=True)
class Drill:
    returncode: int
    stdout: str
    scenarios: dict[str, dict[str, Any]]  # pytest name -> its evidence record


def drill(guide: Path, selected: Sequence[Fix], evidence_dir: Path) -> Drill:
    """One child drill of the selected scenarios, serial, on the embedded PostgreSQL."""
    done, document = child_drill(
        f"--guide={guide}",
        *sorted({f"--only={fix.feature}" for fix in selected}),
        "-k",
        " or ".join(fix.scenario for fix in selected),
        evidence_dir=evidence_dir,
    )
    records = document["scenarios"]
    scenarios = {str(r["node_id"]).rpartition("::")[2]: r for r in records}
    assert sorted(scenarios) == sorted(fix.scenario for fix in selected), done.stdout[-3000:]
    return Drill(done.returncode, done.stdout, scenarios)


def test_every_finding_scenario_has_a_corrected_guide() -> None:
    tags = {
        tag
        for feature in DEFAULT_FEATURES.glob("*.feature")
        for tag in re.findall(r"@finding:(\S+)", feature.read_text(encoding="utf-8"))
    }
    assert tags == set(BY_ID)
    assert set(BY_ID) <= set(CATALOGUE)
    assert len(BY_ID) == len(FIXES)


@pytest.mark.parametrize("fix", FIXES, ids=lambda fix: fix.finding)
def test_the_corrected_guide_turns_the_run_red_naming_the_tag(fix: Fix, tmp_path: Path) -> None:
    run = drill(edited_guide(tmp_path, fix.edits), [fix], tmp_path / "evidence")
    record = run.scenarios[fix.scenario]
    assert f"finding:{fix.finding}" in record["tags"]
    assert (run.returncode, record["status"]) == (1, "failed"), run.stdout[-3000:]
    assert f"remove the @finding:{fix.finding} tag" in run.stdout, run.stdout[-3000:]


def test_the_guide_as_written_shows_every_gap(tmp_path: Path) -> None:
    run = drill(edited_guide(tmp_path, []), FIXES, tmp_path / "evidence")
    status = {name: record["status"] for name, record in run.scenarios.items()}
    assert status == {fix.scenario: "gap" for fix in FIXES}, run.stdout[-3000:]
    assert run.returncode == 0, run.stdout[-3000:]
    for fix in FIXES:
        assert f"FindingConfirmed: finding {fix.finding}:" in str(
            run.scenarios[fix.scenario]["error"]
        )


@pytest.mark.parametrize("misfix", MISFIXES, ids=lambda misfix: misfix.name)
def test_a_fix_that_is_not_the_fix_stays_red_for_its_own_reason(
    misfix: Misfix, tmp_path: Path
) -> None:
    run = drill(edited_guide(tmp_path, misfix.fix.edits), [misfix.fix], tmp_path / "evidence")
    record = run.scenarios[misfix.fix.scenario]
    assert (run.returncode, record["status"]) == (1, "failed"), run.stdout[-3000:]
    assert misfix.error in str(record["error"]), record["error"]
    assert misfix.said in run.stdout, run.stdout[-3000:]
    assert "remove the @finding" not in run.stdout
