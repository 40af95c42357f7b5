"""The guide model: the real guide's facts, and clear errors for missing or malformed parts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_lib.errors import GuideError
from runbook_lib.guide.model import DEFAULT_GUIDE, load_guide, parse_guide
from tests.helpers import runbook as _runbook

GUIDE_TEXT = DEFAULT_GUIDE.read_text(encoding="utf-8")


def test_recovery_objectives() -> None:
    guide = load_guide()
    assert guide.objective("Database").rto_seconds == 900
    assert guide.objective("database").rpo_seconds == 3600
    assert [o.component for o in guide.recovery_objectives] == [
        "Application",
        "Database",
        "File Storage",
        "External APIs",
    ]
    assert guide.objective("File Storage").line == 245


def test_severity_and_escalation() -> None:
    guide = load_guide()
    assert [(s.level, s.response_seconds) for s in guide.severity_levels] == [
        ("P0", 900),
        ("P1", 3600),
        ("P2", 14400),
        ("P3", 86400),
    ]
    assert guide.severity("P0").description == "Service completely down, data loss"
    assert [r.role for r in guide.escalation] == [
        "On-Call Engineer",
        "Senior Developer",
        "CTO",
        "CEO",
    ]
    assert [r.note for r in guide.escalation_procedures] == [
        "First Level",
        "Second Level",
        "Third Level",
        "Final Level",
    ]


def test_metrics_and_alerts() -> None:
    guide = load_guide()
    response = next(m for m in guide.key_metrics if m.metric == "Response Time")
    assert (response.comparator, response.threshold, response.unit) == ("<", 500, "ms")
    uptime = next(m for m in guide.key_metrics if m.metric == "Uptime")
    assert (uptime.comparator, uptime.threshold, uptime.unit) == (">=", 99.9, "%")
    assert [r.source for r in guide.alert_rules].count("External") == 3
    duration = guide.alert_rules[0]
    assert (duration.metric, duration.comparator, duration.threshold, duration.unit) == (
        "Function execution time",
        ">",
        10,
        "s",
    )
    assert next(r for r in guide.alert_rules if r.text == "Build failures").comparator is None


def test_procedures_and_commands() -> None:
    guide = load_guide()
    assert (
        guide.command("pg_restore", guide.recovery_commands).text
        == "pg_restore -h db.supabase.co -U postgres -d napoleon_ai backup.sql"
    )
    curl = guide.command("curl", guide.backup_commands)
    assert (
        '-H "Authorization: Bearer {SUPABASE_SERVICE_ROLE_KEY}"' in curl.text
    )  # continuation joined
    assert [s.number for s in guide.deployment_steps] == list(range(1, 9))
    assert guide.checklist[0] == "All tests passing"
    weekly = guide.maintenance_windows[0]
    assert (weekly.weekday, weekly.start_hour, weekly.end_hour, weekly.timezone) == (6, 2, 4, "UTC")
    assert [d.seconds for d in guide.post_incident_review] == [86400, 604800, 1209600]
    assert guide.section("Backup & Recovery").anchor == "backup--recovery"


def _without(text: str, start: str, end: str) -> str:
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return head + end + tail


@pytest.mark.parametrize(
    ("mutate", "section", "expected"),
    [
        (
            lambda t: t.replace("## Recovery Time Objectives (RTO)", "## Recovery Targets"),
            "Recovery Time Objectives (RTO)",
            "missing",
        ),
        (
            lambda t: t.replace(
                "| Database | 15 minutes | 1 hour |", "| Database | fast | 1 hour |"
            ),
            "Recovery Time Objectives (RTO)",
            "RTO column",
        ),
        (
            lambda t: t.replace("| Component | RTO | RPO |", "| Component | Target | RPO |"),
            "Recovery Time Objectives (RTO)",
            "Component | RTO | RPO",
        ),
        (lambda t: t.replace("- **P1**: Response within 1 hour\n", ""), "Response Timeline", "P1"),
        (
            lambda t: t.replace("- **P2**: Response within 4 hours", "- **P2**: Response soon"),
            "Response Timeline",
            "response time",
        ),
        (
            lambda t: t.replace("### Escalation Matrix", "### Escalation"),
            "Escalation Matrix",
            "missing",
        ),
        (
            lambda t: t.replace(
                "- **Response Time**: < 500ms average", "- **Response Time**: fast"
            ),
            "Key Metrics",
            "target",
        ),
        (lambda t: t.replace("# Vercel Alerts\n", ""), "Alerting Rules", "Source"),
        (
            lambda t: t.replace("# 3. Run full test suite", "# Run full test suite"),
            "Deployment Steps",
            "<n>. <title>",
        ),
        (
            lambda t: t.replace("- **Weekly**: Sunday 2-4 AM UTC", "- **Weekly**: when quiet"),
            "Scheduled Maintenance",
            "Weekly",
        ),
        (
            lambda t: _without(t, "### Pre-Deployment Checklist", "### Deployment Steps"),
            "Pre-Deployment Checklist",
            "missing",
        ),
    ],
    ids=[
        "no-rto-section",
        "rto-not-a-duration",
        "rto-header",
        "p1-missing",
        "p2-no-duration",
        "no-matrix",
        "metric-no-target",
        "alert-no-source",
        "step-unnumbered",
        "weekly-no-time",
        "no-checklist",
    ],
)
def test_a_broken_guide_is_rejected_with_section_and_expectation(
    mutate, section: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GuideError) as caught:
        parse_guide(mutate(GUIDE_TEXT), "guide.md")
    message = str(caught.value)
    assert f"section '{section}'" in message
    assert expected in message
    assert message.startswith("guide.md")


def test_a_malformed_row_names_its_line() -> None:
    text = GUIDE_TEXT.replace(
        "| File Storage | 30 minutes | 4 hours |", "| File Storage | 30 minutes | later |"
    )
    with pytest.raises(GuideError, match=r"^guide\.md:245: .*RPO column"):
        parse_guide(text, "guide.md")


def test_a_missing_or_binary_file_is_a_guide_error(tmp_path: Path) -> None:
    with pytest.raises(GuideError, match="cannot read the guide"):
        load_guide(tmp_path / "absent.md")
    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GuideError, match="UTF-8"):
        load_guide(binary)


LINES = GUIDE_TEXT.splitlines(keepends=True)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=80)
@given(
    st.lists(st.integers(min_value=0, max_value=len(LINES) - 1), max_size=12), st.text(max_size=40)
)
def test_any_mutation_parses_or_fails_with_a_guide_error(deleted: list[int], inserted: str) -> None:
    """Deleting random lines and inserting junk never crashes the parser with anything else."""
    lines = [line for i, line in enumerate(LINES) if i not in set(deleted)]
    lines.insert(len(lines) // 2, inserted + "\n")
    try:
        guide = parse_guide("".join(lines), "mutated.md")
    except GuideError as exc:
        message = str(exc)
    else:
        message = "mutated.md: parsed"
        assert guide.recovery_objectives
    assert message.startswith("mutated.md")


def test_cli_rejects_a_broken_guide_with_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "guide.md"
    broken.write_text(
        GUIDE_TEXT.replace("## Recovery Time Objectives (RTO)", "## Objectives"), encoding="utf-8"
    )
    for command in (["guide"], ["guide", "--json"], ["drill"]):
        done = _runbook(*command, "--guide", str(broken))
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert "Recovery Time Objectives (RTO)" in done.stderr


def test_cli_guide_json_shows_database_rto_900() -> None:
    import json

    done = _runbook("guide", "--json")
    model = json.loads(done.stdout)
    assert {
        "sections",
        "code_blocks",
        "recovery_objectives",
        "severity_levels",
        "escalation",
        "key_metrics",
        "alert_rules",
        "maintenance_windows",
        "post_incident_review",
        "deployment_steps",
    } <= model.keys()
    database = next(o for o in model["recovery_objectives"] if o["component"] == "Database")
    assert database["rto_seconds"] == 900
    assert model["severity_levels"][0]["response_seconds"] == 900


def test_cli_guide_summary_is_readable() -> None:
    done = _runbook("guide")
    assert done.returncode == 0
    assert "Database" in done.stdout
    assert "RTO   15 min" in done.stdout


def test_lookups_of_what_the_guide_lacks_are_guide_errors_naming_it() -> None:
    """Every expected failure goes through the error tree (no bare KeyError or StopIteration)."""
    guide = load_guide()
    for lookup in (
        lambda: guide.backup_schedule("Email Archive"),
        lambda: guide.objective("Email Archive"),
        lambda: guide.severity("P9"),
        lambda: guide.section("Nowhere"),
        lambda: guide.command("kubectl", guide.recovery_commands),
    ):
        with pytest.raises(GuideError) as raised:
            lookup()
        assert raised.value.exit_code == 2
        assert (
            "Email Archive" in str(raised.value)
            or "P9" in str(raised.value)
            or ("Nowhere" in str(raised.value) or "kubectl" in str(raised.value))
        )
