"""The evaluator against Prometheus' own PromQL test data, and each known disagreement on its own.

Prometheus' promqltest files (vendored in tests/data/promqltest, Apache 2.0, see its README) are
run case by case: every case inside the evaluator's subset must pass as promqltest compares
results (Prometheus 3.x semantics, which the data is written for); every other case is counted
by the reason it is outside (``python -m bench.promql_conformance`` prints the counts).
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import promql_conformance
from runbook_lib.guide.model import load_guide
from runbook_lib.monitoring import catalog, promqltest
from runbook_lib.monitoring.promql import (
    Evaluator,
    InvalidPromQL,
    Series,
    UnsupportedPromQL,
    evaluator,
    parse,
)

DATA = Path(__file__).parent / "data" / "promqltest"
SHARED = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "prometheus-promqltest"
)
MINUTE = 60_000


@pytest.fixture(scope="module")
def outcomes() -> list[promqltest.Outcome]:
    return promql_conformance.outcomes(DATA)


def test_every_case_inside_the_subset_passes(outcomes: list[promqltest.Outcome]) -> None:
    failures = [f"{o.file}:{o.line} {o.expr}: {o.reason}" for o in outcomes if o.status == "fail"]
    assert not failures, "\n".join(failures)
    status, reasons = promqltest.summary(outcomes)
    assert status["pass"] >= 300, status  # the subset did not silently shrink
    assert "" not in reasons  # every skip names its reason


def test_every_eval_of_every_file_is_accounted_for(outcomes: list[promqltest.Outcome]) -> None:
    files = sorted(DATA.glob("*.test"))
    assert len(files) >= 20
    evals = sum(
        1
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*eval", line)
    )
    assert len(outcomes) == evals


def test_the_vendored_data_is_the_shared_reference() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"no shared reference at {SHARED} (the vendored copy is what runs)")
    for path in SHARED.glob("*.test"):
        assert (DATA / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_runner_fails_an_evaluator_that_drops_samples_divided_by_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def dropping(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # the old evaluator's division
        return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=b != 0)

    monkeypatch.setitem(evaluator._ARITHMETIC, "/", dropping)
    failed = [o.expr for o in promqltest.run(DATA / "operators.test") if o.status == "fail"]
    assert any("/ 0" in expr for expr in failed)


def test_the_runner_fails_prometheus_2_semantics_on_prometheus_3_data() -> None:
    failed = {
        o.line for o in promqltest.run(DATA / "functions.test", semantics=2) if o.status == "fail"
    }
    zero_cutoff = next(
        n
        for n, line in enumerate((DATA / "functions.test").read_text().splitlines(), 1)
        if "rate(testcounter_zero_cutoff_total[20m])" in line
    )
    assert zero_cutoff in failed


# -- the known disagreements, one by one ------------------------------------------------------


def _series(*rows: tuple[str, dict[str, str], list[float | None]], step: int = MINUTE) -> Series:
    found = Series()
    for name, labels, values in rows:
        kept = [(i * step, v) for i, v in enumerate(values) if v is not None]
        found.add_array(
            name, labels, np.array([t for t, _ in kept]), np.array([v for _, v in kept])
        )
    return found


def _at(
    series: Series, expr: str, minute: float, semantics: int = 3
) -> dict[tuple[tuple[str, str], ...], float]:
    result = Evaluator(series, semantics).evaluate(parse(expr), np.array([minute * 60.0]))
    if not isinstance(result, dict):
        return {(): float(result[0])}
    return {labels: float(v[0]) for labels, (v, present) in result.items() if present[0]}


def test_division_by_zero_keeps_the_sample_as_inf_or_nan() -> None:
    series = _series(
        ("e", {"k": "up"}, [5.0]), ("e", {"k": "down"}, [-5.0]), ("e", {"k": "none"}, [0.0])
    )
    values = _at(series, "e / 0", 0)
    assert values[(("k", "up"),)] == math.inf
    assert values[(("k", "down"),)] == -math.inf
    assert math.isnan(values[(("k", "none"),)])


def test_an_error_ratio_over_no_requests_fires_as_in_prometheus() -> None:
    ratio = catalog.FUNCTION_ERRORS
    rule = next(e for e in catalog.entries(load_guide()) if e.signal.measure == ratio)
    expr = rule.signal.expression(rule.condition)
    series = _series(
        (ratio.errors, {}, [float(i) for i in range(11)]), (ratio.total, {}, [100.0] * 11)
    )
    assert _at(series, expr, 10) == {(): math.inf}  # errors rising, requests flat: +Inf > threshold


@pytest.mark.parametrize(("fn", "values", "expected"), [
    ("max_over_time", [1.0, math.nan, 3.0], 3.0),
    ("max_over_time", [math.nan, 2.0, 1.0], 2.0),
    ("min_over_time", [3.0, math.nan, 1.0], 1.0),
    ("min_over_time", [math.nan, math.nan], math.nan),
    ("sum_over_time", [1.0, math.nan], math.nan),
])  # fmt: skip
def test_nan_inside_a_window_is_handled_as_prometheus_does(
    fn: str, values: list[float], expected: float
) -> None:
    got = _at(_series(("x", {}, values)), f"{fn}(x[10m])", len(values) - 1)[()]
    assert got == expected or (math.isnan(got) and math.isnan(expected))


@pytest.mark.parametrize(
    ("agg", "expected"), [("max", 2.0), ("min", 2.0), ("sum", math.nan), ("avg", math.nan)]
)
def test_nan_in_an_aggregation_is_handled_as_prometheus_does(agg: str, expected: float) -> None:
    series = _series(("x", {"i": "a"}, [math.nan]), ("x", {"i": "b"}, [2.0]))
    got = _at(series, f"{agg}(x)", 0)[()]
    assert got == expected or (math.isnan(got) and math.isnan(expected))


@pytest.mark.parametrize("spoiler", [math.nan, 1e308, -math.inf])
@pytest.mark.parametrize("semantics", [2, 3])
def test_avg_over_time_recovers_once_the_odd_value_leaves_the_window(
    spoiler: float, semantics: int
) -> None:
    values = [1.0] * 10 + [spoiler] + [0.1] * 30
    series = _series(("x", {}, values))
    samples = 5 if semantics == 3 else 6  # (t-5m, t] in Prometheus 3, [t-5m, t] in 2.x
    for minute in (25, 40):
        assert _at(series, "avg_over_time(x[5m])", minute, semantics)[()] == pytest.approx(
            0.1, rel=1e-15
        )
        assert _at(series, "sum_over_time(x[5m])", minute, semantics)[()] == pytest.approx(
            0.1 * samples, rel=1e-15
        )


def test_sums_are_kahan_compensated_and_the_mean_survives_overflow() -> None:
    cancelling = _series(("x", {}, [1.0, 1e100, 1.0, -1e100]))
    assert _at(cancelling, "sum_over_time(x[10m])", 3)[()] == 2.0
    assert _at(cancelling, "sum_over_time(x[10m])", 3, semantics=2)[()] == 2.0  # 2.42: Kahan too
    spread = _series(*[("x", {"i": str(i)}, [v]) for i, v in enumerate([1.0, 1e100, 1.0, -1e100])])
    assert _at(spread, "sum(x)", 0)[()] == 2.0
    assert _at(spread, "sum(x)", 0, semantics=2)[()] == 0.0  # 2.42 adds plainly
    huge = _series(("x", {}, [1e308, 1e308, 1e308]))
    assert _at(huge, "avg_over_time(x[10m])", 2)[()] == 1e308  # the sum overflows, the mean not


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1.0), (".5", 0.5), ("2.", 2.0), ("1e3", 1000.0), ("12.34e+6", 12340000.0),
    ("-0.2e-6", -0.0000002), ("0x1F", 31.0), ("0X1f", 31.0), ("1_000", 1000.0), ("010", 8.0),
    ("Inf", math.inf), ("+inF", math.inf), ("-inf", -math.inf),
])  # fmt: skip
def test_number_literals_read_as_prometheus_reads_them(text: str, value: float) -> None:
    node = parse(text)
    assert node.kind == "number"
    assert node.value == value


@pytest.mark.parametrize("text", ["NaN", "nan", "NAN"])
def test_nan_and_inf_are_numbers_never_metric_names(text: str) -> None:
    node = parse(text)
    assert node.kind == "number"
    assert math.isnan(node.value)
    series = _series((text, {}, [1.0]))
    assert math.isnan(_at(series, text, 0)[()])


@pytest.mark.parametrize("text", ["1_", "1__0", "0x", "1e", "1.2.3"])
def test_malformed_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidPromQL):
        parse(text)


def test_rate_multiplies_by_the_factor_after_dividing_it_by_the_range() -> None:
    """23 errors in 460 requests a minute: Prometheus' rate (``result * (factor / range)``)
    makes the ratio 0.049999999999999996, so ``>= 0.05`` stays silent; the old order
    (``result * factor / range``) made it exactly 0.05 and fired. promtool agrees with the
    former (tests/test_promtool_differential.py)."""
    gap = [None if i == 5 else i for i in range(11)]  # 2.x's window [5m, 10m] would see minute 5
    series = _series(
        ("e_total", {}, [None if i is None else 23.0 * i for i in gap]),
        ("r_total", {}, [None if i is None else 460.0 * i for i in gap]),
    )
    ratio = "sum(rate(e_total[5m])) / sum(rate(r_total[5m]))"
    for semantics in (2, 3):
        assert _at(series, ratio, 10, semantics)[()] == 0.049999999999999996
        assert _at(series, f"{ratio} >= 0.05", 10, semantics) == {}
    old_order = (92 * ((240 + 60) / 240) / 300) / (1840 * ((240 + 60) / 240) / 300)
    assert old_order == 0.05  # the case tells the two orders apart


@pytest.mark.parametrize(("semantics", "expected"), [(3, 0.6), (2, 0.65)])
def test_the_zero_cutoff_comes_after_the_threshold_since_prometheus_2_51(
    semantics: int, expected: float
) -> None:
    series = _series(("c_total", {}, [180.0 + 240.0 * i for i in range(11)]), step=4 * MINUTE)
    got = _at(series, "rate(c_total[20m])", 10, semantics)[()]
    assert got == pytest.approx(expected, rel=1e-12)  # 3.x: functions.test; 2.42: promtool agrees


def test_an_empty_label_matcher_selects_the_series_without_that_label() -> None:
    series = _series(
        ("x", {"job": "a"}, [1.0]), ("x", {}, [2.0]), ("x", {"job": "b", "env": "p"}, [3.0])
    )
    assert set(_at(series, 'x{job=""}', 0).values()) == {2.0}
    assert set(_at(series, 'x{env=""}', 0).values()) == {1.0, 2.0}
    assert set(_at(series, 'x{job!=""}', 0).values()) == {1.0, 3.0}


@pytest.mark.parametrize(
    "expr", ["x", "rate(x[5m])", "max_over_time(x[5m])", "avg_over_time(x[5m])", "sum(x)", "x > 0"]
)
def test_a_series_without_samples_gives_no_result(expr: str) -> None:
    series = _series(("x", {}, [None, None, None]))
    assert _at(series, expr, 2) == {}


@pytest.mark.parametrize("expr", [
    "sum(1)", "avg(2 * 3)", "rate(x)", "max_over_time(x)", "1 > 2", "1 and x", "x or 1",
    "x[5m] + 1", "-x[5m]", "sum(x[5m])", "rate(x[5m], x[5m])", "x{", '{job=""}',
    "1 + bool 2", "nosuch(x)", "x{__name__=\"y\"}",
])  # fmt: skip
def test_what_prometheus_refuses_is_refused_at_parse_time(expr: str) -> None:
    with pytest.raises(InvalidPromQL, match="Prometheus refuses this too"):
        parse(expr)


@pytest.mark.parametrize(("expr", "reason"), [
    ("histogram_quantile(0.9, x)", "function"), ("x ^ 2", "operator ^"),
    ('x{job=~"a.*"}', "regex matcher"), ("x + on(job) y", "vector matching modifier"),
    ("topk(3, x)", "aggregation"), ("rate(x[5m:1m])", "subquery"), ("x @ 100", "@ modifier"),
    ('{job="a"}', "selector without one metric name"), ('"text"', "string literal"),
    ("x[5m]", "range-vector result"),
])  # fmt: skip
def test_valid_promql_outside_the_subset_is_refused_with_its_reason(expr: str, reason: str) -> None:
    with pytest.raises(UnsupportedPromQL, match="outside the subset") as refused:
        parse(expr)
    assert refused.value.reason.startswith(reason)


# -- the vectorised windows against Prometheus' Go code, transliterated one sample at a time --


def _kahan(inc: float, total: float, c: float, reset: bool) -> tuple[float, float]:
    t = total + inc
    if reset and math.isinf(t):
        return t, 0.0
    c += (total - t) + inc if abs(total) >= abs(inc) else (inc - t) + total
    return t, c


def _go_rate(
    points: list[tuple[int, float]], start: int, end: int, rng: int, rate: bool, v3: bool
) -> float | None:
    """``extrapolatedRate`` of promql/functions.go (3.x, or 2.42 when not ``v3``), for counters."""
    if len(points) < 2:
        return None
    result = points[-1][1] - points[0][1]
    for (_, prev), (_, cur) in itertools.pairwise(points):
        if cur < prev:
            result += prev
    to_start, to_end = (points[0][0] - start) / 1000, (end - points[-1][0]) / 1000
    sampled = (points[-1][0] - points[0][0]) / 1000
    average = sampled / (len(points) - 1)
    threshold = average * 1.1
    rising = result > 0 and points[0][1] >= 0
    if v3:
        to_start = average / 2 if to_start >= threshold else to_start
        to_zero = sampled * (points[0][1] / result) if rising else to_start
        if to_zero < to_start:
            to_start = to_zero
    else:
        if rising and sampled * (points[0][1] / result) < to_start:
            to_start = sampled * (points[0][1] / result)
        to_start = to_start if to_start < threshold else average / 2
    to_end = to_end if to_end < threshold else average / 2
    factor = (sampled + to_start + to_end) / sampled if sampled != 0 else 1.0
    if rate:
        factor /= rng / 1000
    return result * factor


def _go_avg_over_time(values: list[float], v3: bool) -> float:
    if v3:
        total, count, mean, c, incremental = values[0], 1.0, 0.0, 0.0, False
        for i, f in enumerate(values[1:]):
            count = float(i + 2)
            if not incremental:
                new, new_c = _kahan(f, total, c, True)
                if not math.isinf(new):
                    total, c = new, new_c
                    continue
                incremental, mean, c = True, total / (count - 1), c / (count - 1)
            q = (count - 1) / count
            mean, c = _kahan(f / count, q * mean, q * c, True)
        return mean + c if incremental else total / count + c / count
    mean, c, count = 0.0, 0.0, 0.0
    for v in values:
        count += 1
        if math.isinf(mean) and ((math.isinf(v) and (mean > 0) == (v > 0)) or math.isfinite(v)):
            continue
        mean, c = _kahan(v / count - mean / count, mean, c, False)
    return mean if math.isinf(mean) else mean + c


_VALUES = st.one_of(
    st.floats(min_value=0, max_value=1000).map(lambda v: round(v, 3)),
    st.sampled_from([0.0, 1.0, 1e308, -1e308, math.nan, math.inf, 0.1, 1e-300]),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), _VALUES), min_size=1, max_size=25),
    st.integers(min_value=1, max_value=15),
    st.integers(min_value=0, max_value=30),
    st.sampled_from([2, 3]),
)
def test_windows_fold_as_prometheus_does_sample_by_sample(
    values: list[float | None], window: int, minute: int, semantics: int
) -> None:
    series = _series(("c", {}, values))
    points = [(i * MINUTE, v) for i, v in enumerate(values) if v is not None]
    end, rng = minute * MINUTE, window * MINUTE
    inside = [
        (t, v)
        for t, v in points
        if (t > end - rng if semantics == 3 else t >= end - rng) and t <= end
    ]
    for fn in ("rate", "increase", "avg_over_time"):
        got = _at(series, f"{fn}(c[{window}m])", minute, semantics).get(())
        if fn == "avg_over_time":
            want = _go_avg_over_time([v for _, v in inside], semantics == 3) if inside else None
        else:
            want = _go_rate(inside, end - rng, end, rng, fn == "rate", semantics == 3)
        same = got == want or (
            got is not None and want is not None and math.isnan(got) and math.isnan(want)
        )
        assert same, (fn, got, want)
