"""The benchmarks run end to end (tiny sizes; speed is reported, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_restore_benchmark_runs_and_reports_ratios(tmp_path: Path) -> None:
    output = tmp_path / "restore.json"
    done = bench(
        "restore",
        "--size-mb",
        "40",
        "--predict-from-mb",
        "16",
        "--repeat",
        "1",
        "--output",
        str(output),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(output.read_text())
    assert result["single_copy_mib_per_second"] > 0
    assert set(result["assumptions"]) == {"storage", "network", "parallelism", "model"}
    assert result["storage"].startswith("disk (")  # never the RAM disk: timings include disk I/O
    paths = result["paths"]
    assert paths["guide"]["label"] == "guide's path: plain SQL through psql, single stream"
    assert paths["corrected"]["label"].startswith("corrected path: custom format, pg_restore -j ")
    for path in paths.values():
        for key in ("raw_seconds", "drill_restore_over_raw", "verify_over_restore"):
            assert path[key] > 0
        assert set(path["prediction"]["phases"]) == {"restore", "verify"}
        assert "error" in path["prediction"]
        assert path["label"] in done.stdout
    assert done.stdout.count("x raw (target <= 1.05)") == 2


def test_benchmark_rejects_bad_arguments() -> None:
    done = bench("restore", "--repeat", "0")
    assert done.returncode == 2
    assert "must be positive" in done.stderr


def test_alerting_benchmark_runs(tmp_path: Path) -> None:
    output = tmp_path / "alerting.json"
    done = bench("alerting", "--days", "1", "--output", str(output))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(output.read_text())
    assert result["samples_per_series"] == 1441
    assert result["evaluator_seconds"] > 0
    assert result["firing_rule_minutes"] > 0


def test_drill_speed_benchmark_runs_and_reports_its_baseline(tmp_path: Path) -> None:
    output = tmp_path / "drill.json"
    done = bench(
        "drill",
        "--repeat",
        "1",
        "--workers",
        "0",
        "--only",
        "post_incident_review",
        "--output",
        str(output),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(output.read_text())
    assert result["scenarios"] == 8
    assert result["workers"] == "serial"
    assert len(result["runs_seconds"]) == 1
    assert result["collect_only_seconds"] > 0
    assert result["median_over_collect_only"] == round(
        result["median_seconds"] / result["collect_only_seconds"], 1
    )
    assert "collect-only baseline" in done.stdout
