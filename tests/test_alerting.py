"""The alert evaluator: strict parsing, Prometheus semantics, properties, and promtool's verdict."""

from __future__ import annotations

import ast
import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.model import load_guide, parse_guide
from runbook_lib.monitoring import catalog, engine, promtool
from runbook_lib.monitoring.catalog import render
from runbook_lib.monitoring.measures import READ_MINUTE
from runbook_lib.monitoring.promql import Evaluator, Series, parse
from runbook_lib.monitoring.rules import (
    FIRING,
    INACTIVE,
    PENDING,
    _replay,
    alert_states,
    load_rules,
    severity_of,
)
from runbook_lib.paths import DEFAULT_CONFIG_DIR
from runbook_lib.world import yamlio
from tests.helpers import edited_guide

GUIDE = load_guide()
RULES = engine.default_rules()
RESPONSE = next(r for r in RULES if r.name == "ResponseTimeTargetBreached")


@pytest.mark.parametrize(
    "expr",
    [
        "histogram_quantile(0.9, x)",
        "x ^ 2",
        "x + on(job) y",
        "rate(x)",
        "sum(1)",
        'x{job=~"a.*"}',
        "1 > 2",
    ],
)
def test_unsupported_expressions_are_refused_at_load_time(expr: str) -> None:
    with pytest.raises(ConfigurationError, match="PromQL"):
        parse(expr)


def test_a_rule_file_with_unknown_fields_or_bad_expr_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yml"
    bad.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x > 1\n    runbook: here\n"
    )
    with pytest.raises(ConfigurationError, match="unknown field"):
        load_rules(bad)
    bad.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: histogram_quantile(0.5, x)\n"
    )
    with pytest.raises(ConfigurationError, match="rule A"):
        load_rules(bad)


def test_the_committed_rule_file_is_generated_from_the_guide() -> None:
    assert DEFAULT_CONFIG_DIR.rule_file.read_text() == render(GUIDE)


def _faster_guide():  # type: ignore[no-untyped-def]
    """The guide with its response-time target lowered from 500 to 400 ms."""
    text = Path(GUIDE.path).read_text(encoding="utf-8")
    assert "< 500ms average" in text
    return parse_guide(text.replace("< 500ms average", "< 400ms average"))


def test_a_changed_guide_threshold_changes_the_rule() -> None:
    changed = render(_faster_guide())
    assert f"{catalog.RESPONSE_TIME.name} >= 400" in changed
    assert changed != DEFAULT_CONFIG_DIR.rule_file.read_text()


def test_a_changed_guide_threshold_changes_the_boundary_cases() -> None:
    def response_cases(guide):  # type: ignore[no-untyped-def]
        cases = catalog.boundary_cases(guide)
        return {c.name: c.series for c in cases if c.alert == RESPONSE.name}

    before, after = response_cases(GUIDE), response_cases(_faster_guide())
    assert {"ResponseTimeTargetBreached at 500", "ResponseTimeTargetBreached below 495"} <= set(
        before
    )
    assert {"ResponseTimeTargetBreached at 400", "ResponseTimeTargetBreached below 396"} <= set(
        after
    )
    assert not set(before) & {n for n in after if "pending" not in n}
    assert (
        before["ResponseTimeTargetBreached pending/firing at 6m"]
        != after["ResponseTimeTargetBreached pending/firing at 6m"]
    )  # the breach is a fifth past the target: 600 ms, now 480 ms
    others = {c.name for c in catalog.boundary_cases(GUIDE) if c.alert != RESPONSE.name}
    assert others == {
        c.name for c in catalog.boundary_cases(_faster_guide()) if c.alert != RESPONSE.name
    }


@pytest.mark.parametrize("entry", catalog.entries(GUIDE), ids=lambda e: e.signal.alert)
def test_every_boundary_reading_fires_exactly_when_its_condition_holds(entry) -> None:  # type: ignore[no-untyped-def]
    for label, value in entry.condition.boundaries():
        if label == "at" and not entry.signal.measure.exact:
            continue
        evaluation = engine.replay(RULES, entry.signal.measure.reading(value), READ_MINUTE)
        fired = evaluation.state(entry.signal.alert, READ_MINUTE * 60.0) == "firing"
        assert fired == entry.condition.fires(value), f"{entry.signal.alert} {label} {value:g}"
    assert entry.condition.fires(entry.condition.breach)
    assert not entry.condition.fires(entry.condition.quiet)


def test_metric_names_are_typed_only_in_the_catalogue() -> None:
    root = Path(catalog.__file__).parents[2]
    sources = [
        *root.glob("runbook_lib/**/*.py"),
        *root.glob("bench/*.py"),
        *root.glob("tests/*.py"),
    ]
    names = {n for m in catalog.MEASURES for n in m.names.values()}
    # the mutation suite quotes the deployed rule file verbatim in order to break it: its text
    # edits must match that file, not the catalogue's names (a changed catalogue makes them
    # fail loudly: tests/test_mutations.py checks every edit's text occurs in its file)
    quoting_the_rule_file = {"runbook_lib/drill/mutations/world.py"}
    typed = {
        f"{path.relative_to(root)}: {name}"
        for path in sources
        if path.name != "catalog.py" and str(path.relative_to(root)) not in quoting_the_rule_file
        for name in names
        if name in path.read_text(encoding="utf-8")
    }
    assert not typed


def test_the_severity_of_an_alert_is_its_rules_label_and_an_unknown_alert_is_refused() -> None:
    rules = engine.default_rules()
    assert severity_of(rules, "SupabaseDatabaseDown") == "critical"
    with pytest.raises(ConfigurationError, match="NoSuchAlert"):
        severity_of(rules, "NoSuchAlert")


def test_monitoring_steps_stay_thin() -> None:
    from runbook_lib.steps import monitoring_alerting

    tree = ast.parse(Path(monitoring_alerting.__file__).read_text(encoding="utf-8"))
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        body = function.body[1:] if ast.get_docstring(function) else function.body
        length = body[-1].end_lineno - body[0].lineno + 1  # type: ignore[operator]
        assert length <= 15, f"{function.name} is {length} lines"
        for node in ast.walk(function):
            text_test = isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
            assert not (text_test and isinstance(node.ops[0], ast.In)), (
                f"{function.name} branches on text"
            )


def _timeline(values: list[float], rule=RESPONSE):  # type: ignore[no-untyped-def]
    series = Series()
    series.add(catalog.RESPONSE_TIME.name, {}, [(i * 60.0, v) for i, v in enumerate(values)])
    return alert_states(rule, Evaluator(series), np.arange(0.0, len(values) * 60.0, 60.0))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=30), st.floats(min_value=500, max_value=10_000))
def test_earliest_firing_is_exactly_for_after_the_breach(start: int, value: float) -> None:
    timeline = _timeline([100.0] * start + [value] * 20)
    assert timeline.first_firing() == (start + 5) * 60.0  # for: 5m
    assert timeline.state_at((start + 4) * 60.0) == PENDING


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0, max_value=1000, allow_nan=False))
def test_smallest_firing_value_is_the_guides_threshold(value: float) -> None:
    fires = _timeline([value] * 10).ever(FIRING)
    assert fires == (value >= 500.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=8, max_size=30),
    st.floats(min_value=0, max_value=500),
)
def test_raising_a_series_never_silences_a_firing_alert(values: list[float], lift: float) -> None:
    base = _timeline(values)
    raised = _timeline([v + lift for v in values])
    for labels, states in base.states.items():
        assert np.all(raised.states[labels][states == FIRING] == FIRING)


def test_rate_extrapolates_like_prometheus() -> None:
    series = Series()
    series.add("c_total", {}, [(i * 60.0, i * 10.0) for i in range(11)])
    result = Evaluator(series).evaluate(parse("increase(c_total[5m])"), np.array([600.0]))
    assert isinstance(result, dict)
    values, present = result[()]
    assert present[0]
    assert values[0] == pytest.approx(50.0)  # 4 intervals, extrapolated to 5 m


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (apt-get install prometheus); .ci/run installs it",
)
def test_promtool_agrees_with_the_evaluator(tmp_path: Path) -> None:
    _, tests, _ = promtool.export(GUIDE, tmp_path)
    document = promtool.load(tests.read_text())
    verdicts = [bool(t["alert_rule_test"][-1]["exp_alerts"]) for t in document["tests"]]
    assert sum(verdicts) >= 8
    assert len(verdicts) - sum(verdicts) >= 5
    result = promtool.run_promtool(tests)
    assert result.ok, result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (apt-get install prometheus); .ci/run installs it",
)
def test_promtool_catches_a_wrong_verdict(tmp_path: Path) -> None:
    _, tests, _ = promtool.export(GUIDE, tmp_path)
    document = promtool.load(tests.read_text())
    at_threshold = next(
        t for t in document["tests"] if t["name"].startswith("ResponseTimeTargetBreached at")
    )
    at_read = next(
        a for a in at_threshold["alert_rule_test"] if a["eval_time"] == f"{READ_MINUTE}m"
    )
    assert at_read["exp_alerts"]
    document["tests"] = [at_threshold]
    tests.write_text(yamlio.dump(document))
    assert promtool.run_promtool(tests).ok  # the case alone, unchanged, passes
    at_read["exp_alerts"] = []  # claim that exactly 500 ms is quiet
    tests.write_text(yamlio.dump(document))
    result = promtool.run_promtool(tests)
    assert not result.ok
    assert promtool.failed_groups(result) == [at_threshold["name"]]


def _group_rules(tmp_path: Path, group: str, rule: str = "    labels: {severity: high}\n") -> list:  # type: ignore[type-arg]
    path = tmp_path / "rules.yml"
    path.write_text(f"groups:\n- name: g\n{group}  rules:\n  - alert: A\n    expr: x > 1\n{rule}")
    return load_rules(path)


def _first_firing(rules: list, breach_from: int) -> float | None:  # type: ignore[type-arg]
    series = Series()
    series.add("x", {}, [(m * 60.0, 2.0 if m >= breach_from else 0.0) for m in range(20)])
    return engine.evaluate(rules, series, 19 * 60.0).timelines["A"][0].first_firing()


def test_a_group_interval_is_honoured(tmp_path: Path) -> None:
    assert _first_firing(_group_rules(tmp_path, ""), 3) == 180.0
    assert _first_firing(_group_rules(tmp_path, "  interval: 2m\n"), 3) == 240.0


def test_a_group_query_offset_is_honoured(tmp_path: Path) -> None:
    assert _first_firing(_group_rules(tmp_path, "  query_offset: 1m\n"), 3) == 240.0


def test_group_labels_are_added_and_a_rule_label_wins(tmp_path: Path) -> None:
    (rule,) = _group_rules(tmp_path, "  labels: {team: ops, severity: low}\n")
    assert rule.labels == {"team": "ops", "severity": "high"}


def test_a_group_limit_is_refused_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="limit 5 is not supported"):
        _group_rules(tmp_path, "  limit: 5\n")
    assert _group_rules(tmp_path, "  limit: 0\n")  # no limit, as in Prometheus


@pytest.mark.parametrize("bad", ["  interval: often\n", "  query_offset: 1x\n", "  labels: [a]\n"])
def test_malformed_group_keys_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigurationError, match="group 'g'"):
        _group_rules(tmp_path, bad)


def test_a_nan_result_is_an_alert_like_any_present_sample(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x / 0\n")
    series = Series()
    series.add("x", {}, [(0.0, 0.0)])  # 0 / 0 is NaN, a sample all the same
    assert engine.evaluate(load_rules(path), series, 60.0).state("A", 0.0) == "firing"


@pytest.mark.parametrize(
    ("old", "new", "case"),
    [
        ("< 500ms average", "< 400ms average", "ResponseTimeTargetBreached at 400"),
        ("time > 10s", "time > 20s", "VercelFunctionSlow at 20"),
    ],
)
def test_the_promtool_cases_follow_the_guide(tmp_path: Path, old: str, new: str, case: str) -> None:
    edited = load_guide(edited_guide(tmp_path, [(old, new)]))
    before = promtool.test_document(GUIDE, RULES, "rules.yml")["tests"]
    after = promtool.test_document(edited, load_rules(_rule_file(tmp_path, edited)), "rules.yml")[
        "tests"
    ]
    assert case in {t["name"] for t in after} - {t["name"] for t in before}  # type: ignore[index, union-attr]


def _rule_file(directory: Path, guide) -> Path:  # type: ignore[no-untyped-def]
    path = directory / "rules.yml"
    path.write_text(render(guide), encoding="utf-8")
    return path


def _replay_one_by_one(rule, times, active):  # type: ignore[no-untyped-def]
    """AlertingRule.Eval, one evaluation at a time (the reference for the run-wise replay)."""
    states = np.zeros(len(times), dtype=np.int8)
    state, active_at, keep_since = INACTIVE, 0.0, -1.0
    for i, (t, on) in enumerate(zip(times, active, strict=True)):
        if on:
            if state == INACTIVE:
                state, active_at = PENDING, t
            if state == PENDING and t - active_at >= rule.for_seconds:
                state = FIRING
            keep_since = -1.0
        elif state == PENDING:
            state = INACTIVE
        elif state == FIRING:
            keep_since = t if keep_since < 0 else keep_since
            if t - keep_since >= rule.keep_firing_for_seconds:
                state = INACTIVE
        states[i] = state
    return states


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=60),
    st.sampled_from([0.0, 60.0, 120.0, 300.0]),
    st.sampled_from([0.0, 60.0, 180.0, 300.0]),
)
def test_the_run_wise_replay_is_alerting_rule_eval(
    active: list[bool], wait: float, hold: float
) -> None:
    rule = dataclasses.replace(RESPONSE, for_seconds=wait, keep_firing_for_seconds=hold)
    times = np.arange(len(active)) * 60.0
    flags = np.array(active, dtype=bool)
    assert _replay(rule, times, flags).tolist() == _replay_one_by_one(rule, times, flags).tolist()
