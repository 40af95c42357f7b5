"""Evidence reports, manifest verification and game-day bookkeeping."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from runbook_lib.evidence.records import ScenarioEvidence, write_evidence
from runbook_lib.evidence.report import verify_manifest, write_report
from runbook_lib.paths import DEFAULT_FEATURES
from runbook_lib.world.redact import Redactor
from tests.helpers import run_info

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, status: str = "passed", fault_name: str | None = None) -> Path:
    run_dir = tmp_path / "reports" / "20260101T000000Z-abc123"
    record = ScenarioEvidence(
        feature="Backup",
        feature_file="features/backup_recovery.feature",
        name="Restore meets the RTO",
        tags=("guide:backup--recovery", "control:SOC2-A1.3"),
        status=status,
    )
    record.measure("database recovery time (measured)", 4.2, "s", "<=", 900)
    record.finding("GUIDE-X", "Database Backups", "a gap", "what was seen")
    run = run_info(run_dir.name, fault_name, {"backup--recovery": "Backup & Recovery"})
    write_evidence(run_dir, run, [record], Redactor())
    write_report(run_dir)
    return run_dir


def test_html_report_is_self_contained_and_says_what_was_simulated(tmp_path: Path) -> None:
    html = (_run(tmp_path) / "evidence.html").read_text()
    assert "<svg" in html
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)=", html), (
        "no external scripts or stylesheets"
    )
    assert "http://" not in html
    assert "https://" not in html
    for text in (
        "Backup &amp; Recovery",
        "SOC2-A1.3",
        "GUIDE-X",
        "simulations",
        "not its operating effectiveness",
        "15 min",
    ):
        assert text in html, text


def test_a_finding_seen_by_several_scenarios_is_one_row_naming_them(tmp_path: Path) -> None:
    records = []
    for name in ("First scenario", "Second scenario"):
        record = ScenarioEvidence(feature="Backup", feature_file="f.feature", name=name)
        record.finding("GUIDE-X", "Database Backups", "a gap", "what was seen")
        records.append(record)
    run_dir = tmp_path / "reports" / "run"
    write_evidence(run_dir, run_info("run"), records, Redactor())
    write_report(run_dir)
    html = (run_dir / "evidence.html").read_text()
    assert html.count("<code>GUIDE-X</code>") == 1
    assert "seen in: First scenario; Second scenario" in html


def test_live_and_rehearsed_targets_are_stated(tmp_path: Path) -> None:
    import dataclasses

    for mode, expected in (("live", "live systems</strong> of target"), ("simulated", "rehearsed")):
        run_dir = tmp_path / mode
        run = dataclasses.replace(run_info(mode), mode=mode, target="staging")
        write_evidence(run_dir, run, [], Redactor())
        write_report(run_dir)
        html = (run_dir / "evidence.html").read_text()
        assert expected in html, mode
        assert "<strong>staging</strong>" in html or "Target staging" in html


def test_game_day_runs_are_marked(tmp_path: Path) -> None:
    html = (_run(tmp_path, "failed", "supabase-outage") / "evidence.html").read_text()
    assert "Game day" in html
    assert "supabase-outage" in html


def test_manifest_names_an_altered_file(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    assert verify_manifest(run_dir) == []
    (run_dir / "evidence.json").write_text(
        (run_dir / "evidence.json").read_text().replace("4.2", "3.2")
    )
    (run_dir / "summary.md").unlink()
    assert verify_manifest(run_dir) == [
        "evidence.json: altered (sha256 differs)",
        "summary.md: missing",
    ]


def test_history_keeps_one_line_per_run(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    write_report(run_dir, record_history=True)
    lines = (run_dir.parent / "history.jsonl").read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["database_recovery_seconds"] == 4.2


def test_cli_verify_evidence_and_report(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    ok = subprocess.run(
        [sys.executable, "-m", "runbook_lib.drill.cli", "verify-evidence", str(run_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0
    (run_dir / "junit.xml").write_text("<tampered/>")
    bad = subprocess.run(
        [sys.executable, "-m", "runbook_lib.drill.cli", "verify-evidence", str(run_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "junit.xml: not in the manifest" in bad.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "runbook_lib.drill.cli", "report", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "no evidence.json" in missing.stderr


def test_the_workflow_runs_in_the_weekly_window() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "dr-drill.yml").read_text())
    cron = workflow[True]["schedule"][0]["cron"]  # YAML 1.1 reads the key "on" as True
    from runbook_lib.guide.model import load_guide

    weekly = load_guide().maintenance_windows[0]
    _minute, hour, _, _, weekday = cron.split()
    assert int(weekday) == (weekly.weekday + 1) % 7  # cron counts from Sunday = 0
    assert weekly.start_hour <= int(hour) < weekly.end_hour
    assert "workflow_dispatch" in workflow[True]


def test_the_workflows_shell_steps_parse_and_pass_inputs_through_the_environment() -> None:
    import subprocess

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "dr-drill.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    assert steps
    for step in steps:
        script = step["run"].replace("${{", "").replace("}}", "")
        parsed = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert parsed.returncode == 0, (step.get("name"), parsed.stderr)
        # inputs reach the shell as variables, never spliced into the script text
        assert "inputs." not in step["run"], step.get("name")


def test_coverage_lists_every_section_and_fails_below_the_floor(tmp_path: Path) -> None:
    from runbook_lib.guide.coverage import coverage, covered_share
    from runbook_lib.guide.model import load_guide

    guide = load_guide()
    rows = coverage(guide, DEFAULT_FEATURES)
    assert len(rows) == len(guide.sections)
    assert covered_share(rows) == 1.0
    assert {r.anchor for r in rows if r.reason} >= {"dashboard-urls", "application-optimization"}
    (tmp_path / "guide.feature").write_text((DEFAULT_FEATURES / "guide.feature").read_text())
    partial = coverage(guide, tmp_path)
    assert covered_share(partial) < 1.0
    assert "UNCOVERED" in {r.status for r in partial}
    done = subprocess.run(
        [sys.executable, "-m", "runbook_lib.drill.cli", "coverage", "--features", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1


def test_alert_checks_are_drawn_as_a_state_timeline(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    record = ScenarioEvidence(
        feature="Alerting",
        feature_file="features/monitoring_alerting.feature",
        name="pending then firing",
        tags=("guide:key-metrics", "control:SOC2-CC7.2"),
        status="passed",
    )
    record.measure("ResponseTimeTargetBreached at minute 5 (pending)", 1)
    record.measure("ResponseTimeTargetBreached at minute 6 (firing)", 2)
    run = run_info("run")
    write_evidence(run_dir, run, [record], Redactor())
    html = (write_report(run_dir)).read_text()
    assert 'aria-label="alert states over time"' in html
    assert "ResponseTimeTargetBreached: firing at minute 6" in html


def test_a_recorded_value_shows_as_recorded_not_met(tmp_path: Path) -> None:
    run_dir = tmp_path / "reports" / "run"
    record = ScenarioEvidence(
        feature="F", feature_file="features/f.feature", name="S", status="passed"
    )
    record.measure("backup trigger status", 404)
    write_evidence(run_dir, run_info(run_dir.name), [record], Redactor())
    html = write_report(run_dir).read_text()
    row = html[html.index("backup trigger status") :].split("</tr>")[0]
    assert ">recorded<" in row
    assert ">met<" not in row
    assert (
        json.loads((run_dir / "evidence.json").read_text())["scenarios"][0]["measurements"][0][
            "passed"
        ]
        is None
    )
