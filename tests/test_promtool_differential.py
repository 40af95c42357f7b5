"""Our evaluator against promtool itself, on random series near each guide rule's threshold.

Each example is a batch of random cases (``bench.promtool_agreement.cases``: runs of values at,
one ulp and 1% around, far from and past the rule catalogue's threshold; NaN, gaps, stale
markers, infinities; counters with resets; no requests at all). Our verdicts, every minute, are
exported as one promtool unit-test file: the alerts that fire and the exact value of every
sub-expression. promtool must agree on every evaluation; when it does not, hypothesis shrinks
the batch to a minimal series. Debian's promtool is 2.42, so our side runs ``semantics=2``.
``python -m bench.promtool_agreement --examples N`` is the longer run.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.promtool_agreement import Case, cases, check, targets
from runbook_lib.guide.model import load_guide
from runbook_lib.monitoring import catalog, promtool
from runbook_lib.world import yamlio

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (apt-get install prometheus); .ci/run installs it",
)
GUIDE = load_guide()


def test_promtool_runs_the_semantics_our_side_uses() -> None:
    assert promtool.promtool_semantics() == 2  # Debian's promtool 2.42: check() uses semantics=2


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(cases(GUIDE), min_size=1, max_size=6))
def test_promtool_agrees_on_every_evaluation_of_random_series(batch: list[Case]) -> None:
    with tempfile.TemporaryDirectory(prefix="runbook-differential-") as directory:
        verdict = check(batch, Path(directory))
    assert verdict.disagreements == 0, verdict.output[-4000:]
    assert not verdict.failed_cases, verdict.output[-4000:]


def test_the_random_cases_cover_every_guide_alert_near_its_catalogue_threshold() -> None:
    alerts = {t.alert for t in targets(GUIDE)}
    assert alerts == {e.signal.alert for e in catalog.entries(GUIDE)} | {"UptimeErrorBudgetBurn"}
    thresholds = {t.alert: t.threshold for t in targets(GUIDE)}
    assert thresholds["ResponseTimeTargetBreached"] == 500.0  # from the guide, via the catalogue
    assert thresholds["UptimeErrorBudgetBurn"] == pytest.approx(0.001)


def test_a_changed_guide_moves_the_random_series(tmp_path: Path) -> None:
    from tests.helpers import edited_guide

    edited = load_guide(edited_guide(tmp_path, [("< 500ms average", "< 400ms average")]))
    assert {t.alert: t.threshold for t in targets(edited)}["ResponseTimeTargetBreached"] == 400.0


def _fixed(alert: str, readings: dict[str, list[float | str | None]]) -> Case:
    return Case(alert, readings, len(next(iter(readings.values()))) - 1)


def test_promtool_confirms_the_known_disagreements() -> None:
    """The classes of disagreement fixed in the evaluator, each as a case promtool checks."""
    ratio, probe, db = catalog.FUNCTION_ERRORS, catalog.PROBE, catalog.DATABASE_UP
    rate_tie = [None if i == 5 else float(i) for i in range(11)]
    known = [
        # requests flat, errors rising: +Inf > threshold fires
        _fixed(
            "VercelFunctionErrorRate",
            {ratio.total: [100.0] * 13, ratio.errors: [float(i) for i in range(13)]},
        ),
        # 23 of 460 a minute: rate's order of operations decides the tie at 5%
        _fixed(
            "ErrorRateTargetBreached",
            {
                catalog.HTTP_ERRORS.total: [None if i is None else 460.0 * i for i in rate_tie],
                catalog.HTTP_ERRORS.errors: [None if i is None else 23.0 * i for i in rate_tie],
            },
        ),
        # NaN inside max_over_time's window, then a breach
        _fixed(
            "VercelFunctionSlow",
            {catalog.FUNCTION_DURATION.name: [1.0, math.nan, 11.0, math.nan, 1.0] + [1.0] * 6},
        ),
        # avg_over_time once a NaN and a huge value have left the hour's window
        _fixed(
            "UptimeErrorBudgetBurn",
            {probe.name: [1.0] * 5 + [math.nan, 1e308] + [1.0] * 62 + [0.0] * 10 + [1.0] * 5},
        ),
        # a gap and a stale marker in the series of an equality rule
        _fixed(
            "SupabaseDatabaseDown",
            {db.name: [1.0, 0.0, 0.0, None, 0.0, 0.0, "stale", 0.0, 0.0, 0.0]},
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="runbook-differential-") as directory:
        verdict = check(known, Path(directory))
    assert verdict.disagreements == 0, verdict.output[-4000:]
    assert not verdict.failed_cases, verdict.output[-4000:]
    infinite, tie, slow, burn, down = verdict.groups
    assert _firing_minutes(infinite)  # errors over no new requests: +Inf
    assert _firing_minutes(slow)
    assert _firing_minutes(down)
    assert _firing_minutes(burn)  # ten minutes down burn the hour's budget
    ratio_at_10 = [
        t["exp_samples"]
        for t in tie["promql_expr_test"]  # type: ignore[attr-defined]
        if t["eval_time"] == "10m" and t["expr"].startswith("(sum(rate(")
    ]
    assert [{"labels": "{}", "value": 0.049999999999999996}] in ratio_at_10


def _firing_minutes(group: dict[str, object]) -> list[str]:
    return [t["eval_time"] for t in group["alert_rule_test"] if t["exp_alerts"]]  # type: ignore[attr-defined]


def test_promtool_catches_a_verdict_off_by_one_ulp(tmp_path: Path) -> None:
    """The check can fail: the same export with one exact value moved by one ulp fails."""
    ratio = catalog.FUNCTION_ERRORS
    case = _fixed(
        "VercelFunctionErrorRate",
        {ratio.total: [1000.0 * i for i in range(12)], ratio.errors: [50.0 * i for i in range(12)]},
    )
    assert check([case], tmp_path).disagreements == 0
    tests = tmp_path / "differential.test.yml"
    document = promtool.load(tests.read_text())
    sample = next(t for g in document["tests"] for t in g["promql_expr_test"] if t["exp_samples"])  # type: ignore[attr-defined]
    sample["exp_samples"][0]["value"] = math.nextafter(sample["exp_samples"][0]["value"], math.inf)
    tests.write_text(yamlio.dump(document))
    assert not promtool.run_promtool(tests).ok
