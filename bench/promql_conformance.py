"""Conformance summary: the evaluator on Prometheus' own PromQL test data.

    python -m bench.promql_conformance [--semantics 3] [--data tests/data/promqltest]

Runs every eval of the vendored promqltest files (``runbook_lib.monitoring.promqltest``) and
prints how many cases inside the evaluator's subset pass and fail, and how many lie outside it,
per reason; ``--failures`` lists the failing cases. The data is written for Prometheus 3.x
(``--semantics 3``); ``--semantics 2`` shows where 2.x semantics (Debian's promtool) differs.
``tests/test_promql_conformance.py`` requires every in-subset case to pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from runbook_lib.monitoring import promqltest

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "promqltest"


def outcomes(data: Path = DATA, semantics: int = 3) -> list[promqltest.Outcome]:
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy on NaN/Inf, as Go computes them
        for path in sorted(data.glob("*.test")):
            found += promqltest.run(path, semantics)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--semantics", type=int, choices=(2, 3), default=3)
    parser.add_argument("--failures", action="store_true", help="list every failing case")
    parser.add_argument(
        "--output", type=Path, default=Path("reports/bench/promql_conformance.json")
    )
    args = parser.parse_args(argv)
    found = outcomes(args.data, args.semantics)
    status, reasons = promqltest.summary(found)
    inside = status["pass"] + status["fail"]
    print(f"{len(found)} promqltest cases in {args.data} (semantics {args.semantics})")
    print(f"  inside the subset  {inside:5d}: {status['pass']} pass, {status['fail']} fail")
    print(f"  outside the subset {status['skip']:5d}, by reason:")
    for reason, count in reasons.most_common():
        print(f"    {count:5d}  {reason}")
    if args.failures:
        for o in (o for o in found if o.status == "fail"):
            print(f"  FAIL {o.file}:{o.line} {o.expr}: {o.reason}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "semantics": args.semantics,
                "status": dict(status),
                "skipped_by_reason": dict(reasons),
            },
            indent=2,
        )
        + "\n"
    )
    return 1 if status["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
