"""Differential benchmark: our evaluator against promtool on random series near the guide's thresholds.

    python -m bench.promtool_agreement [--examples 200] [--batch 20] [--seed 1]

Draws ``--examples`` random cases (hypothesis, no shrinking), each a series per metric of one
guide alert, held near that alert's threshold from the rule catalogue (runs of values at, one
ulp and 1% around, far from and well past it; NaN, gaps, stale markers; counters with resets;
zero requests), exports our verdicts as promtool unit tests (every minute: the alerts that fire
and the exact value of every sub-expression, ``runbook_lib.monitoring.promtool``) and runs
``promtool test rules`` on each batch. Prints how many evaluations promtool agrees with
(target 100 %). Debian's promtool is 2.42: our side evaluates with ``semantics=2``.
``tests/test_promtool_differential.py`` runs the same strategies in the suite, shrinking to a
minimal series when promtool disagrees.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from runbook_lib.guide.model import Guide, load_guide
from runbook_lib.monitoring import catalog, promtool
from runbook_lib.monitoring.measures import READ_QUOTA, Counter, ErrorRatio, Gauge, Measure, Quota
from runbook_lib.monitoring.promtool import STALE, Reading, Readings
from runbook_lib.monitoring.rules import AlertRule, load_rules
from runbook_lib.paths import RULE_FILE_NAME
from runbook_lib.world import yamlio


@dataclass(frozen=True)
class Target:
    """A guide alert, the measure behind it and the threshold the guide gives it."""

    alert: str
    measure: Measure
    threshold: float
    longest: int  # minutes of series worth drawing


@dataclass(frozen=True)
class Case:
    alert: str
    readings: Readings
    minutes: int


def targets(guide: Guide) -> list[Target]:
    found = [
        Target(e.signal.alert, e.signal.measure, e.condition.threshold, 30)
        for e in catalog.entries(guide)
    ]
    budget = catalog.error_budget(guide.key_metric(catalog.UPTIME))
    return [*found, Target("UptimeErrorBudgetBurn", catalog.PROBE, budget, 90)]


def _near(threshold: float) -> st.SearchStrategy[Reading]:
    """Values at, one ulp and 1% either side of, far below and well past ``threshold``."""
    return st.sampled_from(
        [
            threshold,
            math.nextafter(threshold, math.inf),
            math.nextafter(threshold, -math.inf),
            threshold * 1.01,
            threshold * 0.99,
            threshold * 0.2,
            threshold * 3,
            0.0,
        ]
    )


_ODD = st.sampled_from([math.nan, None, STALE, math.inf, -math.inf])  # None: no sample


def _runs(item: st.SearchStrategy[Reading], length: int) -> st.SearchStrategy[list[Reading]]:
    """``length`` readings made of a few runs of repeated items (so a ``for:`` can elapse),
    now and then an odd reading instead (NaN, a gap, a stale marker, an infinity)."""
    run = st.tuples(st.one_of(item, item, item, _ODD), st.integers(min_value=1, max_value=12))
    return st.lists(run, min_size=1, max_size=6).map(
        lambda runs: ([v for v, n in runs for _ in range(n)] * length)[:length]
    )


def _number(reading: Reading) -> bool:
    return isinstance(reading, float) and math.isfinite(reading)


def _share(calls: Reading, share: Reading) -> Reading:
    """Failed calls of a minute: ``share`` of ``calls``, or whichever reading is odd."""
    if isinstance(calls, float) and isinstance(share, float) and _number(calls) and _number(share):
        return round(calls * share, 3)
    return share if _number(calls) else calls


def _counter(increments: list[Reading], resets: list[bool]) -> list[Reading]:
    """Cumulative readings of ``increments``; at a reset the count starts again."""
    values: list[Reading] = []
    total = 0.0
    for increment, reset in zip(increments, resets, strict=False):
        if not _number(increment):
            values.append(increment)
            continue
        total = float(increment) if reset else total + float(increment)  # type: ignore[arg-type]
        values.append(total)
    return values


@st.composite
def cases(draw: st.DrawFn, guide: Guide | None = None) -> Case:
    """A random case: one guide alert, its metrics held near the catalogue's threshold."""
    target = draw(st.sampled_from(targets(guide or load_guide())))
    minutes = draw(st.integers(min_value=6, max_value=target.longest))
    length = minutes + 1
    measure, threshold = target.measure, target.threshold
    resets = st.lists(st.sampled_from([False] * 8 + [True]), min_size=length, max_size=length)
    readings: Readings
    if isinstance(measure, Gauge) and measure.binary:
        readings = {measure.name: draw(_runs(st.sampled_from([0.0, 1.0, 1.0, 1.0]), length))}
    elif isinstance(measure, Gauge):
        readings = {measure.name: draw(_runs(_near(threshold), length))}
    elif isinstance(measure, Counter):
        steps = draw(_runs(st.sampled_from([0.0, 0.0, 1.0, 2.0, 0.5]), length))
        readings = {measure.name: _counter(steps, draw(resets))}
    elif isinstance(measure, ErrorRatio):
        calls = draw(_runs(st.sampled_from([1000.0, 460.0, 999.0, 0.0]), length))
        share = draw(_runs(_near(threshold), length))
        failed = [_share(c, s) for c, s in zip(calls, share, strict=True)]
        readings = {
            measure.total: _counter(calls, draw(resets)),
            measure.errors: _counter(failed, draw(resets)),
        }
    else:
        assert isinstance(measure, Quota)
        quota = draw(_runs(st.sampled_from([READ_QUOTA, READ_QUOTA, 0.0]), length))
        used = draw(_runs(_near(threshold * READ_QUOTA), length))
        readings = {measure.used: used, measure.quota: quota}
    return Case(target.alert, readings, minutes)


def rule_file(directory: Path) -> tuple[Path, list[AlertRule]]:
    """The rule file generated from the guide, in ``directory`` (promtool reads it there)."""
    path = directory / RULE_FILE_NAME
    path.write_text(catalog.render(load_guide()), encoding="utf-8")
    return path, load_rules(path)


@dataclass(frozen=True)
class Verdict:
    cases: int
    evaluations: int
    disagreements: int
    failed_cases: tuple[str, ...]
    output: str
    groups: tuple[dict[str, object], ...] = ()  # the exported test groups (our verdicts)


def check(batch: list[Case], directory: Path, semantics: int = 2) -> Verdict:
    """Export ``batch`` as one promtool test file in ``directory`` and run promtool on it."""
    path, rules = rule_file(directory)
    groups = [
        promtool.verdict_group(
            f"case {i}: {case.alert}",
            case.readings,
            [r for r in rules if r.name == case.alert],
            case.minutes,
            semantics,
        )
        for i, case in enumerate(batch)
    ]
    tests = directory / "differential.test.yml"
    tests.write_text(yamlio.dump(promtool.document(path.name, groups)))
    result = promtool.run_promtool(tests)
    evaluations = sum(_count(g["alert_rule_test"]) + _count(g["promql_expr_test"]) for g in groups)
    output = result.stdout + result.stderr
    if result.ok:
        return Verdict(len(batch), evaluations, 0, (), output, tuple(groups))
    wrong = len(re.findall(r"time: \d+m", output))
    failed = []
    for group in groups:  # promtool names the group of a failing alert, not of an expression
        tests.write_text(yamlio.dump(promtool.document(path.name, [group])))
        if not promtool.run_promtool(tests).ok:
            failed.append(str(group["name"]))
    return Verdict(len(batch), evaluations, wrong, tuple(failed), output, tuple(groups))


def _count(tests: object) -> int:
    return len(tests) if isinstance(tests, list) else 0


def measure(examples: int, batch: int, random_seed: int, semantics: int = 2) -> list[Verdict]:
    """``examples`` cases in batches of ``batch``, each batch one promtool run."""
    verdicts: list[Verdict] = []
    work = Path(tempfile.mkdtemp(prefix="runbook-promtool-agreement-"))

    @seed(random_seed)
    @settings(
        max_examples=max(1, math.ceil(examples / batch)),
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(cases(), min_size=batch, max_size=batch))
    def one(drawn: list[Case]) -> None:
        verdicts.append(check(drawn, work, semantics))

    try:
        one()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--semantics", type=int, choices=(2, 3), default=2,
        help="our side's semantics (3 against promtool 2.42 shows what a mismatch looks like)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=Path("reports/bench/promtool_agreement.json")
    )
    args = parser.parse_args(argv)
    if shutil.which("promtool") is None:
        print("promtool is not installed (Debian: apt-get install prometheus)", file=sys.stderr)
        return 3
    started = time.perf_counter()
    verdicts = measure(args.examples, args.batch, args.seed, args.semantics)
    seconds = time.perf_counter() - started
    total = sum(v.evaluations for v in verdicts)
    wrong = sum(v.disagreements for v in verdicts)
    cases_run = sum(v.cases for v in verdicts)
    failed = [name for v in verdicts for name in v.failed_cases]
    agreement = (total - wrong) / total if total else 0.0
    result = {
        "cases": cases_run,
        "evaluations": total,
        "disagreements": wrong,
        "agreement": agreement,
        "cases_with_a_disagreement": len(failed),
        "seed": args.seed,
        "seconds": seconds,
        "semantics": args.semantics,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{cases_run} random cases near the guide's thresholds, {total} evaluations (alerts and exact values, every minute)"
    )
    print(f"  promtool agrees on {total - wrong} of {total}: {agreement:.4%}  ({seconds:.1f} s)")
    shown = next((v for v in verdicts if v.failed_cases), None)
    if shown:
        print(f"  {len(failed)} cases disagree; the first batch's promtool output ends:")
        print(shown.output[-2000:])
    return 0 if not wrong and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
