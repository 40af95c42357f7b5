"""Alert rules as data (Prometheus rule-file format) and their pending/firing/resolved life.

:func:`load_rules` reads ``alerts/*.rules.yml`` exactly as Prometheus' ``rulefmt`` would accept
it (unknown keys are errors) and parses every ``expr`` with the supported PromQL subset, so an
expression the evaluator cannot evaluate is rejected at load time, never mis-evaluated.
:func:`alert_states` replays Prometheus' ``AlertingRule.Eval`` over a timeline: a new label set
is *pending*; it fires once ``t - activeAt >= for``; a pending alert whose condition vanishes is
dropped (the timer restarts); a firing one stays firing while ``t - keepFiringSince <
keep_firing_for``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.units import parse_duration
from runbook_lib.monitoring.promql import Evaluator, Labels, Node, parse

INACTIVE, PENDING, FIRING = 0, 1, 2
_GROUP_KEYS = {"name", "interval", "query_offset", "limit", "labels", "rules"}
_RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    node: Node
    for_seconds: float
    keep_firing_for_seconds: float
    labels: dict[str, str]
    annotations: dict[str, str]


def load_rules(path: Path) -> list[AlertRule]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot read the rule file: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        raise ConfigurationError(
            f"{path}: expected a top-level 'groups:' list (Prometheus rule-file format)"
        )
    rules = []
    for group in document["groups"]:
        unknown = set(group) - _GROUP_KEYS
        if unknown:
            raise ConfigurationError(
                f"{path}: group {group.get('name')!r}: unknown field(s) {sorted(unknown)}"
            )
        for raw in group.get("rules", []):
            rules.append(_rule(path, raw))
    return rules


def _rule(path: Path, raw: dict[str, Any]) -> AlertRule:
    unknown = set(raw) - _RULE_KEYS
    name = str(raw.get("alert", ""))
    if unknown or not name or "expr" not in raw:
        raise ConfigurationError(
            f"{path}: rule {name or '?'}: needs alert and expr; unknown field(s) {sorted(unknown)}"
        )
    try:
        node = parse(str(raw["expr"]))
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: rule {name}: {exc}") from None
    return AlertRule(
        name,
        str(raw["expr"]),
        node,
        _seconds(raw.get("for")),
        _seconds(raw.get("keep_firing_for")),
        {str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        {str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
    )


def _seconds(value: Any) -> float:
    return parse_duration(str(value)) if value not in (None, "", "0", 0, "0s") else 0.0


@dataclass(frozen=True)
class AlertTimeline:
    rule: AlertRule
    times: np.ndarray
    states: dict[Labels, np.ndarray]  # per label set: INACTIVE / PENDING / FIRING at every time
    values: dict[Labels, np.ndarray]

    def state_at(self, t: float, labels: Labels = ()) -> int:
        index = (
            int(np.searchsorted(self.times, t, side="right")) - 1
        )  # the last evaluation at or before t
        series = self.states.get(labels)
        return INACTIVE if series is None or index < 0 else int(series[index])

    def first_firing(self) -> float | None:
        firing = [
            self.times[np.argmax(s == FIRING)] for s in self.states.values() if (s == FIRING).any()
        ]
        return float(min(firing)) if firing else None

    def ever(self, state: int) -> bool:
        return any((s == state).any() for s in self.states.values())


def alert_states(rule: AlertRule, evaluator: Evaluator, times: np.ndarray) -> AlertTimeline:
    result = evaluator.evaluate(rule.node, times)
    values: dict[Labels, np.ndarray] = result if isinstance(result, dict) else {(): result}
    return AlertTimeline(
        rule,
        times,
        {labels: _replay(rule, times, series) for labels, series in values.items()},
        values,
    )


def _replay(rule: AlertRule, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    active = ~np.isnan(values)
    states = np.zeros(len(times), dtype=np.int8)
    if not active.any():
        return states
    hold, wait = rule.keep_firing_for_seconds, rule.for_seconds
    # Without keep_firing_for a state can only change where the condition holds or has just
    # stopped holding, so only those evaluations are visited (the rest stay INACTIVE).
    visit = (
        range(len(times))
        if hold
        else np.flatnonzero(active | np.concatenate(([False], active[:-1])))
    )
    state, active_at, keep_since = INACTIVE, 0.0, 0.0
    for i in visit:
        t, on = float(times[i]), bool(active[i])
        if on:
            if state == INACTIVE:
                state, active_at = PENDING, t
            if state == PENDING and t - active_at >= wait:
                state = FIRING
            keep_since = -1.0
        elif state == PENDING:
            state = INACTIVE
        elif state == FIRING:
            keep_since = t if keep_since < 0 else keep_since
            if t - keep_since >= hold:
                state = INACTIVE
        states[i] = state
    return states
