"""Every rewrite of a guide command is judged against the real service (issue: truthful
evidence): a rewrite may never hide a defect of the guide."""

from __future__ import annotations

import pytest

from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.world import rewrites

RESTORE = "pg_restore -h db.supabase.co -U postgres -d napoleon_ai backup.sql"


@pytest.mark.parametrize(
    ("host", "could_work"),
    [
        ("db.supabase.co", False),  # the guide's: no project's host
        ("db.abcdefghijklmnopqrst.supabase.co", True),  # a project ref: 20 lowercase letters
        ("db.napoleon.supabase.co", False),  # not a ref
        ("aws-0-us-east-1.pooler.supabase.com", True),
        ("db.internal.napoleon.ai", True),  # the operator's own server
    ],
)
def test_the_database_host_is_judged_by_supabases_host_form(host: str, could_work: bool) -> None:
    rewrite = rewrites.database_host(RESTORE, host, "-h 127.0.0.1 -p 5432")
    assert rewrite.could_work is could_work
    assert rewrite.original == f"-h {host}"


def test_filled_placeholders_are_defects_of_the_guide() -> None:
    command = 'curl -X POST https://api.supabase.com/v1/projects/{PROJECT_ID}/backups -H "Authorization: Bearer {KEY}"'
    judged = rewrites.placeholders(command, {"PROJECT_ID": "abc", "KEY": "k", "OTHER": "x"})
    assert [r.original for r in judged] == ["{PROJECT_ID}", "{KEY}"]
    assert not any(r.could_work for r in judged)
    assert rewrites.placeholders("curl https://x/$PROJECT_REF", {"PROJECT_REF": "a"}) == []


def test_a_rewrite_that_could_not_work_is_a_finding_and_one_that_could_is_recorded_only() -> None:
    evidence = ScenarioEvidence(name="s")
    findings.judge(
        evidence, rewrites.database_host(RESTORE, "db.supabase.co", "-h x"), "GUIDE-RESTORE-HOST"
    )
    findings.judge(
        evidence,
        rewrites.program(RESTORE, "pg_restore", "/usr/bin/pg_restore"),
        "GUIDE-RESTORE-HOST",
    )
    assert [f.id for f in evidence.findings] == ["GUIDE-RESTORE-HOST"]
    assert len(evidence.rewrites) == 2
