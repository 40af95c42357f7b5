"""Alert evaluation benchmark: every rule over 30 days of 1-minute samples, vs promtool.

    python -m bench.alerting [--days 30]

Builds one series per metric the rule file reads with the rule catalogue's generators (43,200
samples each for 30 days, breaching the guide's thresholds now and then), evaluates every rule
at every minute with the drill's evaluator, then runs the same series and rules through
``promtool test rules`` (when installed) in the same run and prints both times and their ratio. Target: the evaluator takes <= 1 s here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from runbook_lib.guide.model import load_guide
from runbook_lib.monitoring import catalog, engine
from runbook_lib.monitoring.promql import Series
from runbook_lib.monitoring.rules import FIRING
from runbook_lib.paths import DEFAULT_CONFIG_DIR, RULE_FILE_NAME
from runbook_lib.world import shell


def build(days: int, seed: int = 7) -> dict[str, np.ndarray]:
    data = catalog.synthetic(load_guide(), days * 1440 + 1, seed)
    return {name: np.asarray(values, dtype=float) for name, values in data.items()}


def evaluate(data: dict[str, np.ndarray]) -> tuple[float, int]:
    series = Series()
    times = np.arange(len(next(iter(data.values())))) * 60.0
    for name, values in data.items():
        series.add_array(name, {}, (times * 1000).astype(np.int64), values)
    started = time.perf_counter()
    evaluation = engine.evaluate(engine.default_rules(), series, float(times[-1]))
    seconds = time.perf_counter() - started
    firing_minutes = sum(
        int((s == FIRING).sum())
        for tls in evaluation.timelines.values()
        for tl in tls
        for s in tl.states.values()
    )
    return seconds, firing_minutes


def promtool_seconds(data: dict[str, np.ndarray], days: int) -> float | None:
    if shutil.which("promtool") is None:
        return None
    work = Path(tempfile.mkdtemp(prefix="runbook-bench-promtool-"))
    shutil.copyfile(DEFAULT_CONFIG_DIR.rule_file, work / RULE_FILE_NAME)
    document = {
        "rule_files": [RULE_FILE_NAME],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": name, "values": " ".join(f"{v:g}" for v in values)}
                    for name, values in data.items()
                ],
                # one assertion at the end makes promtool evaluate every rule at every minute of the range
                "alert_rule_test": [
                    {"eval_time": f"{days * 1440}m", "alertname": "NoSuchAlert", "exp_alerts": []}
                ],
            }
        ],
    }
    (work / "bench.test.yml").write_text(yaml.safe_dump(document, width=10**9))
    started = time.perf_counter()
    shell.run(["promtool", "test", "rules", "bench.test.yml"], cwd=str(work), timeout=3600).check()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--output", type=Path, default=Path("reports/bench/alerting.json"))
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be positive")
    data = build(args.days)
    ours, firing = evaluate(data)
    theirs = promtool_seconds(data, args.days)
    result = {
        "days": args.days,
        "samples_per_series": len(data[catalog.PROBE.name]),
        "series": len(data),
        "rules": len(engine.default_rules()),
        "evaluator_seconds": ours,
        "firing_rule_minutes": firing,
        "promtool_seconds": theirs,
        "evaluator_over_promtool": (ours / theirs) if theirs else None,
        "target_met_le_1s": ours <= 1.0,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['rules']} rules x {result['series']} series x {result['samples_per_series']} samples ({args.days} days, 1-minute)"
    )
    print(f"  drill evaluator  {ours:8.3f} s   (target <= 1 s; {firing} firing rule-minutes)")
    if theirs is not None:
        print(
            f"  promtool         {theirs:8.3f} s   ratio evaluator/promtool = {ours / theirs:.3f}"
        )
    else:
        print("  promtool         not installed (apt-get install prometheus)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
