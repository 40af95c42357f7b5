"""``runbook drill``: the Gherkin drills through pytest, with live progress and a summary.

The drill is plain pytest underneath (run in a child process) (``tests/drills``), so a laptop ``pytest`` and a CI drill
run the same scenarios; this module adds the evidence directory, the report files, one line of
progress per scenario and a summary table at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.errors import ConfigurationError
from runbook_lib.evidence import EVIDENCE_FILE, new_run_id

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / "features"
DRILLS = ROOT / "tests" / "drills"


@dataclass(frozen=True)
class DrillOptions:
    only: tuple[str, ...] = ()
    guide: str | None = None
    pg: str = "auto"
    report_dir: Path | None = None
    workers: str | None = None
    fault: str | None = None
    target: str | None = None
    allow_production: bool = False
    stand_ins: bool = False
    extra_args: tuple[str, ...] = field(default_factory=tuple)


def available_features() -> list[str]:
    return sorted(p.stem for p in FEATURES.glob("*.feature"))


def pytest_args(options: DrillOptions, report_dir: Path) -> list[str]:
    unknown = [
        stem for stem in options.only if stem.removesuffix(".feature") not in available_features()
    ]
    if unknown:
        raise ConfigurationError(
            f"--only: no feature named {', '.join(unknown)}; available: {', '.join(available_features())}"
        )
    # "--opt=value" keeps pytest's early argument scan from taking a value for a test path,
    # and "-c" pins the ini file whatever the current directory is.
    args = [
        str(DRILLS),
        "-q",
        "--no-header",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--rootdir={ROOT}",
        f"--evidence-dir={report_dir}",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--cucumberjson={report_dir / 'cucumber.json'}",
        f"--pg={options.pg}",
        "-o",
        "junit_suite_name=runbook-drill",
    ]
    if options.guide:
        args.append(f"--guide={options.guide}")
    args += [f"--only={stem.removesuffix('.feature')}" for stem in options.only]
    if options.workers not in (None, "auto") and not options.workers.isdigit():
        raise ConfigurationError(
            f"--workers {options.workers!r}: give auto, a number of workers, or 0 for serial"
        )
    if options.workers and options.workers != "0":
        # worksteal: idle workers take queued scenarios from busy ones (durations vary 0.01-8 s)
        args += [f"--numprocesses={options.workers}", "--dist=worksteal"]
    if options.fault:
        args.append(f"--game-day-fault={options.fault}")
    if options.target:
        args.append(f"--target={options.target}")
    if options.allow_production:
        args.append("--allow-production")
    if options.stand_ins:
        args.append("--stand-ins")
    return args + list(options.extra_args)


def run_drill(options: DrillOptions) -> tuple[int, Path]:
    """Run the drills; returns pytest's exit code and the report directory."""
    run_id = new_run_id()
    report_dir = options.report_dir or ROOT / "reports" / run_id
    report_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *pytest_args(options, report_dir),
        "-p",
        "runbook_lib.progress",
    ]
    process = subprocess.Popen(argv, cwd=ROOT)
    try:
        code = process.wait()
    except KeyboardInterrupt:  # pytest got the same SIGINT: let it tear down the servers
        process.wait(timeout=120)
        raise
    if options.report_dir is None:
        _point_latest(report_dir)
    return code, report_dir


def _point_latest(report_dir: Path) -> None:
    latest = report_dir.parent / "latest"
    partial = report_dir.parent / ".latest.partial"
    partial.unlink(missing_ok=True)
    partial.symlink_to(report_dir.name)
    os.replace(partial, latest)


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
