"""``runbook drill``: the Gherkin drills through pytest, with live progress and a summary.

The drill is plain pytest underneath, run in a child process on the packaged binding module
(``drill/scenarios.py``) with the packaged pytest configuration (``drill/drill-pytest.ini``), so a
laptop ``pytest`` and a CI drill run the same scenarios, and an installed tool runs from any
directory. This module adds the report directory, one line of progress per scenario
(``drill/progress.py``) and the per-feature summary at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runbook_lib.drill.options import DrillOptions, Settings
from runbook_lib.errors import RunbookError
from runbook_lib.evidence.records import EVIDENCE_FILE, new_run_id
from runbook_lib.evidence.report import overall_verdict
from runbook_lib.monitoring import alertmanager_server
from runbook_lib.paths import PACKAGE, PYTEST_INI, SCENARIOS, default_reports, user_cache
from runbook_lib.world import postgres
from runbook_lib.world.files import symlink_atomic


def pytest_argv(options: DrillOptions) -> list[str]:
    """The child pytest's command line for ``options`` (whose evidence_dir is set)."""
    assert options.evidence_dir is not None
    report_dir = options.evidence_dir
    return [
        sys.executable,
        "-m",
        "pytest",
        str(SCENARIOS),
        "-q",
        "--no-header",
        "-c",
        str(PYTEST_INI),
        f"--rootdir={PACKAGE.parent}",
        "-p",
        "runbook_lib.drill.progress",
        "-p",
        "runbook_lib.drill.plugin",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--cucumberjson={report_dir / 'cucumber.json'}",
        "-o",
        "junit_suite_name=runbook-drill",
        *options.to_args(),
    ]


def drill_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The child pytest's environment: this one, with compiled bytecode kept in runbook's user
    cache (``PYTHONPYCACHEPREFIX``), never in the source tree. Where ``PYTHONDONTWRITEBYTECODE``
    is set (to keep trees clean), every xdist worker would compile boto3, moto and the drill
    again: 2-3 s per process, a sixth of a drill."""
    env = dict(environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(user_cache(environ) / "pycache"))
    return env


def run_drill(options: DrillOptions, extra_args: tuple[str, ...] = ()) -> tuple[int, Path]:
    """Run the drills; returns pytest's exit code and the report directory.

    Without an evidence directory the run writes ``reports/<run-id>/`` under the current
    directory and points ``reports/latest`` at it.
    """
    report_dir = options.evidence_dir or default_reports() / new_run_id()
    report_dir.mkdir(parents=True, exist_ok=True)
    argv = pytest_argv(dataclasses.replace(options, evidence_dir=report_dir.resolve()))
    process = subprocess.Popen([*argv, *extra_args], env=drill_environment(os.environ))
    try:
        code = process.wait()
    except KeyboardInterrupt:  # pytest got the same SIGINT: let it tear down the servers
        process.wait(timeout=120)
        raise
    finally:
        sweep_leftovers(os.environ)
    if options.evidence_dir is None:
        _point_latest(report_dir)
    return code, report_dir


def sweep_leftovers(environ: Mapping[str, str]) -> None:
    """After the child pytest has exited: stop and delete every throwaway cluster and
    Alertmanager whose owning process is gone. Each owner cleans up after itself, also on
    Ctrl-C; this catches a worker that was killed before its teardown ran (xdist kills a
    worker that is slow to stop), so an interrupted drill leaves nothing running."""
    with contextlib.suppress(RunbookError):
        tmpdir = Settings.from_environ(environ).pg_tmpdir
        postgres.reap_orphans(parent=tmpdir)
    alertmanager_server.reap_orphans()


def _point_latest(report_dir: Path) -> None:
    symlink_atomic(report_dir.parent / "latest", report_dir.name)


def run_verdict(report_dir: Path) -> str | None:
    """The run's overall verdict from its evidence.json (None when there is none)."""
    path = report_dir / EVIDENCE_FILE
    if not path.exists():
        return None
    return overall_verdict(json.loads(path.read_text(encoding="utf-8")))


def summary_rows(
    report_dir: Path,
) -> tuple[list[tuple[str, int, int, int, int]], list[dict[str, Any]]]:
    """Per feature: (name, passed, failed, gaps, other) and the findings, from evidence.json."""
    path = report_dir / EVIDENCE_FILE
    if not path.exists():
        return [], []
    document = json.loads(path.read_text(encoding="utf-8"))
    rows: dict[str, list[int]] = {}
    for scenario in document["scenarios"]:
        counts = rows.setdefault(scenario["feature_file"], [0, 0, 0, 0])
        index = {"passed": 0, "failed": 1, "gap": 2}.get(scenario["status"], 3)
        counts[index] += 1
    return [(name, *counts) for name, counts in sorted(rows.items())], document["findings"]  # type: ignore[misc]
