"""Guide edits: the numbers, names, commands and list items the scenarios take from the guide,
changed in a copy of the guide. A scenario that quotes the guide's figure, or whose procedure
follows the guide, must turn red; a ``@finding`` scenario must stop being a known gap when its
edit is the catalogue's fix (the day the guide is fixed)."""

from __future__ import annotations

from runbook_lib.drill.mutations.base import Edit, Mutation


def _edit(name: str, breaks: str, features: tuple[str, ...], *edits: Edit) -> Mutation:
    return Mutation(name, "guide edit", breaks, features, guide=edits)


RECOVERY_COMMAND = "pg_restore -h db.supabase.co -U postgres -d napoleon_ai backup.sql\n   ```"

GUIDE_EDITS: tuple[Mutation, ...] = (
    # -- Backup & Recovery --
    _edit(
        "fix-backup-trigger-endpoint",
        "the guide takes its on-demand backup with pg_dump and lists backups with the access "
        "token (GUIDE-BACKUP-TRIGGER-ENDPOINT's fix)",
        ("backup_recovery",),
        (
            'curl -X POST https://api.supabase.com/v1/projects/{PROJECT_ID}/backups \\\n  -H "Authorization: Bearer {SUPABASE_SERVICE_ROLE_KEY}"',
            'pg_dump -Fc "$DATABASE_URL" -f backup.dump\n# Check Supabase\'s own backups\ncurl https://api.supabase.com/v1/projects/{PROJECT_ID}/database/backups \\\n  -H "Authorization: Bearer {SUPABASE_ACCESS_TOKEN}"',
        ),
    ),
    _edit(
        "fix-backup-trigger-credential",
        "the backup trigger sends the Management API access token, not the service-role key",
        ("backup_recovery",),
        ("Bearer {SUPABASE_SERVICE_ROLE_KEY}", "Bearer {SUPABASE_ACCESS_TOKEN}"),
    ),
    _edit(
        "fix-restore-plain-sql",
        "the guide restores Supabase's plain SQL backup with psql (GUIDE-RESTORE-PLAIN-SQL's fix)",
        ("backup_recovery",),
        (
            RECOVERY_COMMAND,
            "psql -v ON_ERROR_STOP=1 -h db.supabase.co -U postgres -d napoleon_ai -f backup.sql\n   ```",
        ),
    ),
    _edit(
        "database-backups-hourly",
        "the guide says Supabase backs the database up hourly, not daily",
        ("backup_recovery", "recovery_objectives"),
        ("# Automated daily backups via Supabase", "# Automated hourly backups via Supabase"),
    ),
    _edit(
        "database-backups-weekly",
        "the guide says Supabase backs the database up weekly, so a 30-hour-old backup is on time",
        ("backup_recovery",),
        ("# Automated daily backups via Supabase", "# Automated weekly backups via Supabase"),
    ),
    _edit(
        "storage-backup-prefix-changed",
        "the guide's aws s3 sync writes under a dashed date (2026-03-01), not today's %Y%m%d",
        ("backup_recovery", "recovery_objectives"),
        ("s3://napoleon-ai-backup/$(date +%Y%m%d)", "s3://napoleon-ai-backup/$(date +%Y-%m-%d)"),
    ),
    _edit(
        "recovery-target-database-renamed",
        "the guide's pg_restore restores into napoleon_app, a database nobody created",
        ("backup_recovery",),
        (RECOVERY_COMMAND, RECOVERY_COMMAND.replace("-d napoleon_ai", "-d napoleon_app")),
    ),
    # -- Recovery Time Objectives (RTO) --
    _edit(
        "database-rto-2-minutes",
        "the guide promises a 2-minute database recovery",
        ("guide", "recovery_objectives"),
        ("| Database | 15 minutes | 1 hour |", "| Database | 2 minutes | 1 hour |"),
    ),
    _edit(
        "application-rto-5-seconds",
        "the guide promises a 5-second application recovery",
        ("guide", "deployment"),
        ("| Application | 5 minutes | 1 hour |", "| Application | 5 seconds | 1 hour |"),
    ),
    _edit(
        "file-storage-rto-5-minutes",
        "the guide promises a 5-minute file storage recovery",
        ("guide", "recovery_objectives"),
        ("| File Storage | 30 minutes | 4 hours |", "| File Storage | 5 minutes | 4 hours |"),
    ),
    _edit(
        "database-rpo-15-minutes",
        "the guide allows 15 minutes of database writes lost, not an hour",
        ("guide", "recovery_objectives"),
        ("| Database | 15 minutes | 1 hour |", "| Database | 15 minutes | 15 minutes |"),
    ),
    _edit(
        "file-storage-rpo-2-hours",
        "the guide allows 2 hours of uploads lost, not 4",
        ("guide", "recovery_objectives"),
        ("| File Storage | 30 minutes | 4 hours |", "| File Storage | 30 minutes | 2 hours |"),
    ),
    _edit(
        "fix-external-apis-rto",
        "the External APIs RTO fits the uptime budget (GUIDE-UPTIME-VS-RTO's fix)",
        ("guide", "monitoring_alerting"),
        ("| External APIs | 1 hour | 1 hour |", "| External APIs | 30 minutes | 1 hour |"),
    ),
    _edit(
        "fix-database-backups-hourly-pg-dump",
        "the guide backs the database up hourly with pg_dump (GUIDE-RPO-DAILY-BACKUPS's fix)",
        ("recovery_objectives",),
        (
            "# Automated daily backups via Supabase",
            "# Hourly backups with pg_dump -Fc (Supabase's automated backups run once a day)",
        ),
    ),
    _edit(
        "fix-storage-backup-schedule",
        "the guide backs file storage up every 4 hours (GUIDE-STORAGE-BACKUP-UNSCHEDULED's fix)",
        ("recovery_objectives",),
        ("# Backup user uploads and assets", "# Backup user uploads and assets every 4 hours"),
    ),
    # -- Incident Response --
    _edit(
        "severity-p0-p1-descriptions-swapped",
        "P0 is described as a major functionality break, P1 as the outage and data loss",
        ("incident_response",),
        (
            "- **P0 (Critical)**: Service completely down, data loss\n- **P1 (High)**: Major functionality broken",
            "- **P0 (Critical)**: Major functionality broken\n- **P1 (High)**: Service completely down, data loss",
        ),
    ),
    _edit(
        "severity-p2-p3-descriptions-swapped",
        "P2 is described as cosmetic issues and degradation, P3 as minor functionality issues",
        ("incident_response",),
        (
            "- **P2 (Medium)**: Minor functionality issues\n- **P3 (Low)**: Cosmetic issues, performance degradation",
            "- **P2 (Medium)**: Cosmetic issues, performance degradation\n- **P3 (Low)**: Minor functionality issues",
        ),
    ),
    _edit(
        "p0-response-20-minutes",
        "the guide gives a P0 20 minutes to respond, not 15",
        ("guide", "incident_response", "monitoring_alerting"),
        (
            "- **P0**: Immediate response (< 15 minutes)",
            "- **P0**: Immediate response (< 20 minutes)",
        ),
    ),
    _edit(
        "p1-response-2-hours",
        "the guide gives a P1 2 hours to respond, not 1",
        ("guide",),
        ("- **P1**: Response within 1 hour", "- **P1**: Response within 2 hours"),
    ),
    _edit(
        "p2-response-faster-than-p1",
        "the guide answers a P2 in 30 minutes, faster than a P1",
        ("guide",),
        ("- **P2**: Response within 4 hours", "- **P2**: Response within 30 minutes"),
    ),
    _edit(
        "escalation-matrix-reordered",
        "the escalation matrix pages the CTO before the Senior Developer",
        ("guide", "incident_response"),
        (
            "2. **Senior Developer** (Secondary)\n3. **CTO** (Tertiary)",
            "2. **CTO** (Secondary)\n3. **Senior Developer** (Tertiary)",
        ),
    ),
    _edit(
        "escalation-procedures-disagree",
        "the escalation procedures' second level is the CTO, unlike the matrix",
        ("guide",),
        ("2. **Second Level**: Senior developer", "2. **Second Level**: CTO"),
    ),
    _edit(
        "fix-ceo-contact",
        "the CEO level gets an emergency contact (GUIDE-CONTACT-MISSING's fix)",
        ("incident_response",),
        ("- **CTO**: +1-555-0125\n", "- **CTO**: +1-555-0125\n- **CEO**: +1-555-0126\n"),
    ),
    _edit(
        "support-address-invalid",
        "Vercel's support contact is no email address",
        ("incident_response",),
        ("- **Vercel Support**: support@vercel.com", "- **Vercel Support**: support at vercel.com"),
    ),
    _edit(
        "remediation-phase-renamed",
        "the security response's third phase is called Recovery, not Remediation",
        ("incident_response",),
        ("3. **Remediation**", "3. **Recovery**"),
    ),
    # -- Monitoring & Alerting --
    _edit(
        "incident-channel-renamed",
        "the guide's incident channel is Slack #ops-alerts, where the deployed Alertmanager posts nothing",
        ("monitoring_alerting",),
        ("- **Internal**: Slack #incidents", "- **Internal**: Slack #ops-alerts"),
    ),
    _edit(
        "response-time-target-600ms",
        "the guide's response time target is 600 ms, not 500 ms",
        ("guide", "monitoring_alerting"),
        ("- **Response Time**: < 500ms average", "- **Response Time**: < 600ms average"),
    ),
    _edit(
        "function-time-alert-15s",
        "the guide alerts on function execution over 15 s, not 10 s",
        ("guide", "monitoring_alerting"),
        ("- Function execution time > 10s", "- Function execution time > 15s"),
    ),
    _edit(
        "fix-function-error-rate-alert",
        "the function error-rate alert fires at the 1% target (GUIDE-ALERT-ERROR-RATE-GAP's fix)",
        ("guide", "monitoring_alerting"),
        ("- Function error rate > 5%", "- Function error rate >= 1%"),
    ),
    _edit(
        "alert-source-renamed",
        "the guide's third alert group is Partner Service Alerts",
        ("guide",),
        ("# External Service Alerts", "# Partner Service Alerts"),
    ),
    # -- Deployment Procedures --
    _edit(
        "deployment-step-runs-yarn",
        "the guide's step 3 runs `yarn test:ci`",
        ("guide", "deployment"),
        ("npm run test:ci", "yarn test:ci"),
    ),
    _edit(
        "deployment-build-script-renamed",
        "the guide's step 4 runs `npm run compile`, a script the app does not have",
        ("deployment",),
        ("# 4. Build and test\nnpm run build", "# 4. Build and test\nnpm run compile"),
    ),
    _edit(
        "backup-command-uses-rclone",
        "the guide's file storage backup runs rclone",
        ("guide",),
        ("aws s3 sync s3://napoleon-ai-storage", "rclone sync s3://napoleon-ai-storage"),
    ),
    _edit(
        "fix-release-branch",
        "the release branch is named after the version npm releases (GUIDE-RELEASE-VERSION-MISMATCH's fix)",
        ("deployment",),
        ("git checkout -b release/v1.2.0", "git checkout -b release/v1.1.10"),
    ),
    _edit(
        "checklist-item-renamed",
        "the checklist says 'Security scan passed', not 'Security scan clean'",
        ("deployment",),
        ("- [ ] Security scan clean", "- [ ] Security scan passed"),
    ),
    # -- Security Procedures --
    _edit(
        "api-keys-rotated-yearly",
        "the guide rotates API keys yearly, not quarterly",
        ("security",),
        ("- **API Keys**: Rotated quarterly", "- **API Keys**: Rotated yearly"),
    ),
    _edit(
        "compliance-statement-added",
        "the guide claims ISO 27001 compliance, which no scenario evidences",
        ("security",),
        (
            "- **HIPAA**: Healthcare data handling (if applicable)",
            "- **HIPAA**: Healthcare data handling (if applicable)\n"
            "- **ISO 27001**: Information security management system",
        ),
    ),
    _edit(
        "production-access-widened",
        "the guide opens production access to support engineers",
        ("security",),
        (
            "- **Production Access**: Limited to senior developers",
            "- **Production Access**: Limited to senior developers and support engineers",
        ),
    ),
    # -- Performance Optimization --
    _edit(
        "fix-slow-query-columns",
        "the guide's slow-query SQL uses PostgreSQL 13's column names (GUIDE-PGSS-MEAN-TIME's fix)",
        ("performance_optimization",),
        ("SELECT query, mean_time, calls", "SELECT query, mean_exec_time, calls"),
        ("ORDER BY mean_time DESC", "ORDER BY mean_exec_time DESC"),
    ),
    _edit(
        "email-index-on-another-column",
        "the guide's idx_users_email indexes users(created_at)",
        ("performance_optimization",),
        (
            "CREATE INDEX CONCURRENTLY idx_users_email ON users(email);",
            "CREATE INDEX CONCURRENTLY idx_users_email ON users(created_at);",
        ),
    ),
    _edit(
        "index-built-without-concurrently",
        "the guide builds idx_emails_user_id without CONCURRENTLY",
        ("performance_optimization",),
        (
            "CREATE INDEX CONCURRENTLY idx_emails_user_id ON emails(user_id);",
            "CREATE INDEX idx_emails_user_id ON emails(user_id);",
        ),
    ),
    _edit(
        "database-query-target-10-microseconds",
        "the guide's database performance target is 0.01 ms",
        ("guide", "performance_optimization"),
        (
            "- **Database Performance**: < 100ms queries",
            "- **Database Performance**: < 0.01ms queries",
        ),
    ),
    # -- Post-Incident Review, Table of Contents --
    _edit(
        "debrief-within-12h",
        "the technical debrief is due within 12 hours, not 24",
        ("guide", "post_incident_review"),
        ("Technical debrief within 24h", "Technical debrief within 12h"),
    ),
    _edit(
        "debrief-within-48h",
        "the technical debrief is due within 48 hours, not 24",
        ("post_incident_review",),
        ("Technical debrief within 24h", "Technical debrief within 48h"),
    ),
    _edit(
        "detailed-review-within-10-days",
        "the full review is due within 10 days, not a week",
        ("guide", "post_incident_review"),
        ("Full review within 1 week", "Full review within 10 days"),
    ),
    _edit(
        "action-items-within-3-weeks",
        "action items are due within 3 weeks, not 2",
        ("post_incident_review",),
        ("Implementation within 2 weeks", "Implementation within 3 weeks"),
    ),
    _edit(
        "action-items-before-detailed-review",
        "action items are due within 3 days, before the full review",
        ("guide",),
        ("Implementation within 2 weeks", "Implementation within 3 days"),
    ),
    _edit(
        "review-documentation-sixth-part",
        "a review document needs a sixth part, customer communication",
        ("post_incident_review",),
        ("- Prevention measures\n", "- Prevention measures\n- Customer communication\n"),
    ),
    _edit(
        "review-documentation-part-renamed",
        "the guide's review part is 'Root cause', not 'Root cause analysis'",
        ("post_incident_review",),
        ("- Root cause analysis", "- Root cause"),
    ),
    _edit(
        "fix-table-of-contents",
        "the table of contents lists every section (GUIDE-TOC-INCOMPLETE's fix)",
        ("guide",),
        (
            "6. [Performance Optimization](#performance-optimization)\n",
            "6. [Performance Optimization](#performance-optimization)\n"
            "7. [Emergency Contacts](#emergency-contacts)\n"
            "8. [Maintenance Windows](#maintenance-windows)\n"
            "9. [Recovery Time Objectives (RTO)](#recovery-time-objectives-rto)\n"
            "10. [Post-Incident Review](#post-incident-review)\n",
        ),
    ),
    # -- Maintenance Windows --
    _edit(
        "weekly-window-1-to-3-am",
        "the weekly window is Sunday 1-3 AM UTC",
        ("guide", "maintenance_windows"),
        ("- **Weekly**: Sunday 2-4 AM UTC", "- **Weekly**: Sunday 1-3 AM UTC"),
    ),
    _edit(
        "weekly-window-2-to-5-am",
        "the weekly window is Sunday 2-5 AM UTC",
        ("maintenance_windows",),
        ("- **Weekly**: Sunday 2-4 AM UTC", "- **Weekly**: Sunday 2-5 AM UTC"),
    ),
    _edit(
        "weekly-window-on-monday",
        "the weekly window is on Monday",
        ("maintenance_windows",),
        ("- **Weekly**: Sunday 2-4 AM UTC", "- **Weekly**: Monday 2-4 AM UTC"),
    ),
    _edit(
        "monthly-window-second-sunday",
        "the monthly window is the second Sunday of the month",
        ("maintenance_windows",),
        ("- **Monthly**: First Sunday of month", "- **Monthly**: Second Sunday of month"),
    ),
    _edit(
        "fix-monthly-window-time",
        "the monthly window names its time (GUIDE-MONTHLY-UNTIMED's fix)",
        ("maintenance_windows",),
        (
            "- **Monthly**: First Sunday of month",
            "- **Monthly**: First Sunday of month, 2-4 AM UTC",
        ),
    ),
    _edit(
        "fix-quarterly-window",
        "the quarterly window names its day and time (GUIDE-QUARTERLY-UNSCHEDULED's fix)",
        ("maintenance_windows",),
        (
            "- **Quarterly**: Security updates and audits",
            "- **Quarterly**: First Sunday of Jan/Apr/Jul/Oct, 2-4 AM UTC (security updates and audits)",
        ),
    ),
)
