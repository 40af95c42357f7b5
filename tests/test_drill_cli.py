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


def test_doctor_reports_and_exits_zero_here() -> None:
    done = _runbook("doctor")
    assert done.returncode == 0, done.stdout
    assert "PostgreSQL binaries" in done.stdout
    assert "the default drill can run here" in done.stdout


def test_a_bad_worker_count_is_one_line_and_exit_2() -> None:
    done = _runbook("drill", "-n", "lots")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "runbook: --workers 'lots': give auto, a number of workers, or 0 for serial",
    )
