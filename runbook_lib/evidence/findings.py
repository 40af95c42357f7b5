"""The catalogue of runbook gaps the drills can report, each with what to change in the guide.

A scenario reports a finding with the detail it observed (status codes, error messages,
figures). Scenarios tagged ``@finding:<ID>`` *confirm* it (the scenario is expected to fail
with FindingConfirmed); others *report* it and carry on with the corrected procedure.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.world.rewrites import Rewrite


@dataclass(frozen=True)
class KnownFinding:
    id: str
    section: str
    title: str
    fix: str


CATALOGUE: dict[str, KnownFinding] = {
    f.id: f
    for f in (
        KnownFinding(
            "GUIDE-TOC-INCOMPLETE",
            "Table of Contents",
            "the table of contents omits procedure sections",
            "list every top-level section in the table of contents",
        ),
        KnownFinding(
            "GUIDE-BACKUP-TRIGGER-ENDPOINT",
            "Database Backups",
            "the manual backup trigger posts to an endpoint the Supabase Management API does not have",
            "the Management API has no endpoint that creates a backup (restore-point is internal "
            "and creates a restore point, not a backup): take an on-demand backup with pg_dump "
            'against the database (pg_dump -Fc "$DATABASE_URL"), and check Supabase\'s own '
            "with GET /v1/projects/{ref}/database/backups",
        ),
        KnownFinding(
            "GUIDE-BACKUP-TRIGGER-CREDENTIAL",
            "Database Backups",
            "the backup trigger authenticates with the service-role key, which the Management API refuses",
            "send a personal access token (SUPABASE_ACCESS_TOKEN, sbp_...) as the bearer",
        ),
        KnownFinding(
            "GUIDE-RESTORE-PLAIN-SQL",
            "Recovery Procedures",
            "pg_restore cannot read Supabase's logical backup, which is a plain SQL file",
            "restore plain SQL with psql -v ON_ERROR_STOP=1 -f backup.sql, or take custom-format "
            "dumps (pg_dump -Fc) and restore them with pg_restore -j",
        ),
        KnownFinding(
            "GUIDE-RPO-DAILY-BACKUPS",
            "Recovery Time Objectives (RTO)",
            "daily database backups cannot meet the 1-hour database RPO",
            "enable point-in-time recovery (WAL archiving) or back up at least as often as the RPO",
        ),
        KnownFinding(
            "GUIDE-RTO-RESTORE-PATH",
            "Recovery Time Objectives (RTO)",
            "the guide's database recovery path does not restore the database within the Database RTO",
            "take custom-format dumps (pg_dump -Fc) and restore them with pg_restore -j N where the "
            "drill shows that path within the RTO; where it is not either, restore a physical "
            "backup (Supabase point-in-time recovery) or set a Database RTO a restore can meet",
        ),
        KnownFinding(
            "GUIDE-STORAGE-BACKUP-UNSCHEDULED",
            "File Storage Backups",
            "the guide states no schedule for file storage backups, so the File Storage RPO is unproven",
            "state how often the aws s3 sync runs (at most every 4 hours for a 4-hour RPO)",
        ),
        KnownFinding(
            "GUIDE-NO-STORAGE-RECOVERY",
            "Recovery Procedures",
            "the guide has no procedure to restore file storage, though it sets a File Storage RTO",
            "add the restore command: aws s3 sync s3://napoleon-ai-backup/<YYYYMMDD> s3://napoleon-ai-storage",
        ),
        KnownFinding(
            "GUIDE-RELEASE-VERSION-MISMATCH",
            "Deployment Steps",
            "the release branch name cannot match the version `npm version patch` creates",
            "name the branch after the bumped version, or bump with the part the release needs (npm version minor)",
        ),
        KnownFinding(
            "GUIDE-PGSS-MEAN-TIME",
            "Database Optimization",
            "the slow-query SQL uses pg_stat_statements columns that PostgreSQL 13 renamed",
            "use mean_exec_time (and total_exec_time) instead of mean_time",
        ),
        KnownFinding(
            "GUIDE-ALERT-ERROR-RATE-GAP",
            "Alerting Rules",
            "error rates between the 1% target and the 5% alert threshold break the target silently",
            "alert at the target (error rate >= 1%, with a for duration), or derive burn-rate alerts from it",
        ),
        KnownFinding(
            "GUIDE-UPTIME-VS-RTO",
            "Recovery Time Objectives (RTO)",
            "a single outage within a component's RTO can exceed the 99.9% uptime target's monthly error budget",
            "shorten that RTO below 43.2 minutes, or state the uptime target per component",
        ),
        KnownFinding(
            "GUIDE-CONTACT-MISSING",
            "Emergency Contacts",
            "an escalation level has no emergency contact",
            "add a phone number for every level of the Escalation Matrix under Technical Team",
        ),
        KnownFinding(
            "GUIDE-RESTORE-HOST",
            "Recovery Procedures",
            "the recovery commands connect to a host that is no Supabase project's database",
            "connect to the project's own host, e.g. pg_restore -h db.$PROJECT_REF.supabase.co "
            "(Project Settings > Database), or to its connection pooler",
        ),
        KnownFinding(
            "GUIDE-PLACEHOLDER-SYNTAX",
            "Database Backups",
            "the backup trigger writes {NAME} placeholders, which neither the shell nor curl fills in",
            'use shell variables: .../v1/projects/$PROJECT_REF/... -H "Authorization: Bearer '
            '$SUPABASE_ACCESS_TOKEN" (curl also reads {braces} as a URL glob)',
        ),
        KnownFinding(
            "GUIDE-VERCEL-ROLLBACK-PROD",
            "Rollback Procedures",
            "`vercel rollback --prod` is refused by the Vercel CLI (unknown option --prod)",
            "`vercel rollback <deployment-url>` naming the previous production deployment (find "
            "it with `vercel ls --environment production`); without an argument `vercel rollback` "
            "only reports the status of a rollback",
        ),
        KnownFinding(
            "GUIDE-VERCEL-LOGS-PROD",
            "Deployment Steps",
            "`vercel logs --prod` is refused by the Vercel CLI (unknown option --prod)",
            "`vercel logs <production-deployment-url>` (or `vercel logs --environment production`)",
        ),
        KnownFinding(
            "GUIDE-REDEPLOY-AFTER-ROLLBACK",
            "Recovery Procedures",
            "after a rollback, `vercel --prod` builds the fix but does not take production back",
            "follow the redeploy with `vercel promote <deployment-url>` (Vercel stops assigning "
            "production to new deployments after a rollback until one is promoted)",
        ),
        KnownFinding(
            "GUIDE-QUARTERLY-UNSCHEDULED",
            "Scheduled Maintenance",
            "the quarterly security window names no day or time",
            "state it like the others, e.g. 'first Sunday of Jan/Apr/Jul/Oct, 2-4 AM UTC'",
        ),
        KnownFinding(
            "GUIDE-MONTHLY-UNTIMED",
            "Scheduled Maintenance",
            "the monthly window names its day but no time, so its hours can only be guessed",
            "give it hours and a zone like the weekly one, e.g. 'First Sunday of month, 2-4 AM UTC'",
        ),
    )
}


def judge(evidence: ScenarioEvidence, rewrite: Rewrite, finding_id: str) -> None:
    """Record a rewrite of a guide command; when the guide's original could not have worked
    against the real service, report ``finding_id`` (the rewrite then proves the fix)."""
    evidence.rewrite(rewrite)
    if not rewrite.could_work:
        report(evidence, finding_id, f"`{rewrite.command}`: {rewrite.original}: {rewrite.why}")


def report(evidence: ScenarioEvidence, finding_id: str, detail: str) -> None:
    """Record the finding; the scenario goes on (with the corrected procedure)."""
    known = CATALOGUE[finding_id]
    evidence.finding(known.id, known.section, known.title, f"{detail}. Fix: {known.fix}")


def confirm(evidence: ScenarioEvidence, finding_id: str, detail: str) -> None:
    """Record the finding and fail with FindingConfirmed (for ``@finding:<ID>`` scenarios)."""
    known = CATALOGUE[finding_id]
    evidence.confirm_finding(known.id, known.section, known.title, f"{detail}. Fix: {known.fix}")
