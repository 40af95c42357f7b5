"""Suite-speed benchmark: the whole hermetic drill, timed as `runbook drill -n auto` runs.

    python -m bench.drill [--repeat 3] [--workers auto] [--only FEATURE ...]

Runs the drill ``--repeat`` times (each a fresh process, clusters and report directory) and
reports the median wall time, next to a raw baseline measured in the same run: the same pytest
invocation with ``--collect-only`` (interpreter, plugins, guide and every feature file parsed,
nothing run), so the ratio shows what the scenarios themselves cost on this machine. The
slowest scenarios (median of their call durations across runs) say where to look next.
Target (issue 14): the full drill finishes in 40 s or less (median) on a 2-core machine, real
clients (curl, the Vercel CLI, Alertmanager) included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from runbook_lib.drill.options import DrillOptions
from runbook_lib.drill.runner import drill_environment, pytest_argv
from runbook_lib.drill.schedule import DURATIONS_FILE
from runbook_lib.drill.shard import record_id
from runbook_lib.paths import default_reports

TARGET_SECONDS = 40.0


def _timed(argv: list[str]) -> float:
    started = time.monotonic()
    env = drill_environment(os.environ)  # as `runbook drill` runs it
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise SystemExit(f"bench.drill: `{' '.join(argv[:6])} ...` failed: {' | '.join(tail)}")
    return seconds


def _runbook_drill(options: DrillOptions) -> list[str]:
    """`runbook drill` exactly as a user types it (progress lines, summary, report files)."""
    argv = [sys.executable, "-m", "runbook_lib.drill.cli", "drill", f"--pg={options.pg}"]
    argv += [f"--only={stem}" for stem in options.only]
    return [*argv, f"--workers={options.workers or 0}"]


def run(repeat: int, workers: str | None, only: tuple[str, ...]) -> dict[str, object]:
    options = DrillOptions(only=only, pg="embedded", workers=workers or "0")
    durations: dict[str, list[float]] = defaultdict(list)
    by_id: dict[str, list[float]] = defaultdict(list)
    walls = []
    with tempfile.TemporaryDirectory(prefix="bench-drill-") as scratch:
        (Path(scratch) / "collect").mkdir()
        baseline = _timed(
            [
                *pytest_argv(
                    DrillOptions(only=only, workers="0", evidence_dir=Path(scratch) / "collect")
                ),
                "--collect-only",
            ]
        )
        for index in range(repeat):
            report = Path(scratch) / f"run-{index}"
            report.mkdir()
            walls.append(_timed([*_runbook_drill(options), f"--report-dir={report}"]))
            print(f"run {index + 1}/{repeat}: {walls[-1]:.1f} s", file=sys.stderr)
            evidence = json.loads((report / "evidence.json").read_text(encoding="utf-8"))
            seen: Counter[str] = Counter()
            for scenario in evidence["scenarios"]:  # outline examples share their name
                by_id[record_id(scenario)].append(scenario["duration_seconds"])
                name = f"{scenario['feature_file']} > {scenario['name']}"
                seen[name] += 1
                label = name if seen[name] == 1 else f"{name} (example {seen[name]})"
                durations[label].append(scenario["duration_seconds"])
    median = statistics.median(walls)
    slowest = sorted(
        ((name, statistics.median(values)) for name, values in durations.items()),
        key=lambda item: -item[1],
    )[:10]
    return {
        "workers": workers or "serial",
        "scenarios": len(durations),
        "runs_seconds": [round(w, 2) for w in walls],
        "median_seconds": round(median, 2),
        "collect_only_seconds": round(baseline, 2),
        # from the figures as reported, so a reader can check the ratio from the same file
        "median_over_collect_only": round(round(median, 2) / round(baseline, 2), 1),
        "target_seconds": TARGET_SECONDS,
        "target_met": median <= TARGET_SECONDS,
        "slowest_scenarios": [{"scenario": n, "median_seconds": round(s, 2)} for n, s in slowest],
        "durations": {i: round(statistics.median(v), 2) for i, v in sorted(by_id.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="auto", help="pytest-xdist workers; 0 for serial")
    parser.add_argument("--only", action="append", default=[], help="feature file stem(s)")
    parser.add_argument("--output", type=Path, default=default_reports() / "bench" / "drill.json")
    parser.add_argument(
        "--write-durations",
        action="store_true",
        help=f"also write each scenario's median duration to {DURATIONS_FILE.name}, the order "
        "the drill's workers take scenarios in (runbook_lib/drill/schedule.py)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = run(args.repeat, None if args.workers == "0" else args.workers, tuple(args.only))
    print(
        f"drill ({result['scenarios']} scenarios, workers {result['workers']}): "
        f"median {result['median_seconds']} s of runs {result['runs_seconds']}; "
        f"collect-only baseline {result['collect_only_seconds']} s "
        f"(ratio {result['median_over_collect_only']}x); target <= {TARGET_SECONDS:g} s: "
        f"{'met' if result['target_met'] else 'MISSED'}"
    )
    for row in result["slowest_scenarios"]:  # type: ignore[attr-defined]
        print(f"  {row['median_seconds']:>6.2f} s  {row['scenario']}")
    if args.write_durations:
        text = json.dumps(result["durations"], indent=1, sort_keys=True) + "\n"
        DURATIONS_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {len(result['durations'])} durations to {DURATIONS_FILE}")  # type: ignore[arg-type]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
