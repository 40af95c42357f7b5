"""`runbook drill` end to end: evidence written, secrets masked, nothing left running."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import all_clusters, leftover_clusters
from tests.helpers import runbook as _runbook

ROOT = Path(__file__).resolve().parent.parent
_clusters = leftover_clusters


def test_drill_writes_evidence_and_masks_secrets(tmp_path: Path) -> None:
    before = _clusters()
    done = _runbook(
        "drill",
        "--only",
        "drill_environment",
        "--only",
        "guide",
        "--pg",
        "embedded",
        "--report-dir",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "drill_environment > The real aws CLI reaches the simulated S3  PASS" in done.stdout
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert evidence["run"]["postgres_backend"] == "embedded"
    assert evidence["run"]["postgres_version"].startswith(("15", "16", "17", "18"))
    assert {s["feature_file"] for s in evidence["scenarios"]} == {
        "features/drill_environment.feature",
        "features/guide.feature",
    }
    assert {f["id"] for f in evidence["findings"]} == {"GUIDE-TOC-INCOMPLETE"}
    assert (tmp_path / "junit.xml").exists()
    assert (tmp_path / "cucumber.json").exists()
    for artifact in tmp_path.iterdir():
        text = artifact.read_text()
        assert not re.search(r"sbp_[0-9a-f]{20,}", text), artifact
        assert not re.search(r"Bearer (?!\*\*\*)[A-Za-z0-9]", text), artifact
    assert _clusters() == before


def test_unknown_feature_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _runbook("drill", "--only", "no_such_feature", "--report-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().startswith(
        "runbook: --only: no feature named no_such_feature; available:"
    )
    assert "Traceback" not in done.stderr


def test_ctrl_c_during_a_drill_stops_cleanly(tmp_path: Path) -> None:
    before, present = _clusters(), all_clusters()
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runbook_lib.drill.cli",
            "drill",
            "--only",
            "drill_environment",
            "--pg",
            "embedded",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as drill:
        deadline = time.monotonic() + 60
        while not (all_clusters() - present) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all_clusters() - present, "the drill never started its cluster"
        time.sleep(1.0)
        os.killpg(drill.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, stderr = drill.communicate(timeout=120)
    assert drill.returncode != 0
    assert "Traceback" not in stderr
    assert _clusters() == before


def test_an_interrupted_drill_never_reads_as_passed(tmp_path: Path) -> None:
    """Ctrl-C after the first scenario: every artifact says the run is incomplete and names
    the scenarios that never ran; the exit code is not 0."""
    with subprocess.Popen(
        [
            *(sys.executable, "-m", "runbook_lib.drill.cli", "drill", "--only", "guide"),
            *("--pg", "embedded", "-n", "0", "--report-dir", str(tmp_path)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as drill:
        assert drill.stdout is not None
        for line in drill.stdout:
            if line.startswith("[  1/"):
                break
        os.killpg(drill.pid, signal.SIGINT)
        drill.communicate(timeout=120)
    assert drill.returncode != 0
    run = json.loads((tmp_path / "evidence.json").read_text())["run"]
    assert run["complete"] is False
    assert run["not_run"], run
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith(f"## Runbook drill {run['id']}: incomplete")
    assert "INCOMPLETE" in summary
    assert "passed" not in summary.splitlines()[0]
    html = (tmp_path / "evidence.html").read_text()
    assert 'class="verdict failed">incomplete<' in html
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="run.complete" value="false"' in junit
    assert "the drill run is complete" in junit


def test_a_subset_says_so_in_every_artifact(tmp_path: Path) -> None:
    done = _runbook(
        "drill", "--only", "guide", "--pg", "embedded", "-n", "0", "--report-dir", str(tmp_path)
    )
    assert done.returncode == 0, done.stdout[-2000:]
    run = json.loads((tmp_path / "evidence.json").read_text())["run"]
    assert run["complete"] is True
    assert run["selection"]["subset"] is True
    assert "a SUBSET: only the features guide" in (tmp_path / "summary.md").read_text()
    assert "a SUBSET: only the features guide" in (tmp_path / "evidence.html").read_text()
    assert 'name="run.subset" value="true"' in (tmp_path / "junit.xml").read_text()
    assert "[example=" not in done.stdout or "]  PASS" in done.stdout


def test_outline_examples_are_told_apart_everywhere(tmp_path: Path) -> None:
    done = _runbook(
        "drill",
        "--only",
        "deployment",
        "--pg",
        "embedded",
        "-n",
        "0",
        "--report-dir",
        str(tmp_path),
        "-k",
        "failing_step",
    )
    lines = [
        line for line in done.stdout.splitlines() if "A failing step stops every later step" in line
    ]
    assert len(lines) == len(set(lines)) >= 2, lines
    scenarios = json.loads((tmp_path / "evidence.json").read_text())["scenarios"]
    examples = [tuple(sorted(s["example"].items())) for s in scenarios]
    assert len(set(examples)) == len(examples)
    assert all(s["node_id"] for s in scenarios)


def test_doctor_reports_and_exits_zero_here() -> None:
    done = _runbook("doctor")
    assert done.returncode == 0, done.stdout
    assert "PostgreSQL 15 server" in done.stdout
    assert "the default drill can run here" in done.stdout


def test_a_bad_worker_count_is_one_line_and_exit_2() -> None:
    done = _runbook("drill", "-n", "lots")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "runbook: --workers 'lots': give auto, a number of workers, or 0 for serial",
    )


def test_the_drill_keeps_compiled_bytecode_in_the_user_cache_not_the_tree(tmp_path: Path) -> None:
    """Broken world: a child drill that inherits PYTHONDONTWRITEBYTECODE compiles boto3, moto and
    the drill again in every xdist worker; one that drops it without a prefix litters the tree."""
    from runbook_lib.drill.runner import drill_environment

    env = drill_environment(
        {"PYTHONDONTWRITEBYTECODE": "1", "XDG_CACHE_HOME": str(tmp_path), "A": "b"}
    )
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "runbook" / "pycache")
    assert env["A"] == "b"
    assert (
        drill_environment({"PYTHONPYCACHEPREFIX": "/elsewhere"})["PYTHONPYCACHEPREFIX"]
        == "/elsewhere"
    )


def test_a_scenario_does_not_see_what_an_earlier_one_recovered(tmp_path: Path) -> None:
    """Broken world: the recovered database outlives its scenario. A recovery that succeeded
    left the session's recovery target behind, and a later damaged-backup scenario on the same
    worker then found a database "promoted as recovered" that its own restore never made (a
    false red that depended on the scenarios' order)."""
    done = _runbook(
        *("drill", "--only", "backup_recovery", "--only", "deployment", "--pg", "embedded"),
        *("-n", "0", "-k", "rolled_back_to_the_prerelease or never_promoted and truncated]"),
        *("--report-dir", str(tmp_path)),
        env={
            "PYTEST_ADDOPTS": "-p tests.order_plugin",
            "RUNBOOK_TEST_ORDER": "prerelease_backup|refused_and_never_promoted",
        },
    )
    assert done.returncode == 0, done.stdout[-3000:]
    ran = [line for line in done.stdout.splitlines() if line.startswith("[")]  # in run order
    assert len(ran) == 2
    assert "A migration that damaged data is rolled back to the pre-release backup  PASS" in ran[0]
    assert "A damaged backup is refused and never promoted [damage=truncated]  PASS" in ran[1]


def test_setting_the_cli_up_is_no_scenarios_run_of_it(tmp_path: Path) -> None:
    """The session asks the Vercel CLI its version once, when the first scenario needs the CLI.
    Broken world: that scenario (here the checklist gate, which runs no vercel line) is
    credited with having exercised the real CLI."""
    done = _runbook(
        *("drill", "--only", "deployment", "--pg", "embedded", "-n", "0"),
        *("-k", "every_checklist_item_met", "--report-dir", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout[-3000:]
    (scenario,) = json.loads((tmp_path / "evidence.json").read_text())["scenarios"]
    assert scenario["status"] == "passed"
    assert "vercel" not in scenario["exercised"]["real"], scenario["exercised"]
