"""Alert rules as data (Prometheus rule-file format) and their pending/firing/resolved life.

:func:`load_rules` reads ``alerts/*.rules.yml`` as Prometheus' ``rulefmt`` would (unknown keys
are errors) and parses every ``expr`` with the supported PromQL subset, so an expression the
evaluator cannot evaluate is refused at load time, never mis-evaluated. Every group key is
honoured or refused, never ignored: ``interval`` (the group's evaluation interval),
``query_offset`` (each query reads ``t - offset``) and ``labels`` (added to every rule's, which
win) are honoured; a non-zero ``limit`` is refused (Prometheus drops all of a rule's alerts past
it; the evaluator does not model that).
:func:`alert_states` replays Prometheus' ``AlertingRule.Eval`` over a timeline: a new label set
(the result's labels without ``__name__``, plus the rule's) is *pending*; it fires once
``t - activeAt >= for``; a pending alert whose condition vanishes is dropped (the timer
restarts); a firing one stays firing while ``t - keepFiringSince < keep_firing_for``. A present
sample is a condition that holds, whatever its value (NaN included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runbook_lib.errors import ConfigurationError
from runbook_lib.monitoring.promql import Evaluator, Labels, Node, QueryFailed, Vector, parse
from runbook_lib.monitoring.promql import without_name as _without_name
from runbook_lib.monitoring.promql.lexer import duration_ms
from runbook_lib.world import yamlio

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
    interval_seconds: float | None = None  # the group's interval; None: the evaluator's default
    query_offset_seconds: float = 0.0
    group: str = field(default="", compare=False)


def load_rules(path: Path) -> list[AlertRule]:
    try:
        document = yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, yamlio.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot read the rule file: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        raise ConfigurationError(
            f"{path}: expected a top-level 'groups:' list (Prometheus rule-file format)"
        )
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for group in document["groups"]:
        name = str(group.get("name") or "") if isinstance(group, dict) else ""
        if not name or name in seen:
            raise ConfigurationError(f"{path}: every group needs a name of its own ({name!r})")
        seen.add(name)
        settings = _group_settings(path, group)
        for raw in group.get("rules") or []:
            rules.append(_rule(path, raw, name, settings))
    return rules


def severity_of(rules: list[AlertRule], alert: str) -> str:
    """The severity label of the first rule named ``alert``."""
    for rule in rules:
        if rule.name == alert:
            return rule.labels["severity"]
    raise ConfigurationError(f"no rule named {alert!r} in the rule file")


def _group_settings(path: Path, group: dict[str, Any]) -> dict[str, Any]:
    where = f"{path}: group {group['name']!r}"
    unknown = set(group) - _GROUP_KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown field(s) {sorted(unknown)}")
    if group.get("limit") not in (None, 0):
        raise ConfigurationError(
            f"{where}: limit {group['limit']!r} is not supported by the drill's evaluator "
            "(Prometheus would drop every alert of a rule past the limit); remove it"
        )
    interval = _seconds(group.get("interval"), where, "interval")
    if group.get("interval") is not None and interval <= 0:
        raise ConfigurationError(f"{where}: interval must be positive")
    labels = group.get("labels") or {}
    if not isinstance(labels, dict):
        raise ConfigurationError(f"{where}: labels must be a mapping")
    return {
        "interval_seconds": interval or None,
        "query_offset_seconds": _seconds(group.get("query_offset"), where, "query_offset"),
        "labels": {str(k): str(v) for k, v in labels.items()},
    }


def _rule(path: Path, raw: dict[str, Any], group: str, settings: dict[str, Any]) -> AlertRule:
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
    where = f"{path}: rule {name}"
    return AlertRule(
        name,
        str(raw["expr"]),
        node,
        _seconds(raw.get("for"), where, "for"),
        _seconds(raw.get("keep_firing_for"), where, "keep_firing_for"),
        {**settings["labels"], **{str(k): str(v) for k, v in (raw.get("labels") or {}).items()}},
        {str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
        settings["interval_seconds"],
        settings["query_offset_seconds"],
        group,
    )


def _seconds(value: Any, where: str = "", key: str = "") -> float:
    """A Prometheus duration (``model.ParseDuration``: 1h30m, 5m, 0) in seconds."""
    if value is None:
        return 0.0
    try:
        return duration_ms(str(value)) / 1000
    except ValueError as exc:
        raise ConfigurationError(f"{where}: {key} {value!r} is not a duration: {exc}") from None


@dataclass(frozen=True)
class AlertTimeline:
    rule: AlertRule
    times: np.ndarray
    states: dict[Labels, np.ndarray]  # per alert label set: INACTIVE / PENDING / FIRING
    values: Vector  # per alert label set: the expression's (values, present)

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
    """The rule's alerts at every evaluation of ``times`` (each query at ``t - query_offset``)."""
    result = evaluator.evaluate(rule.node, times - rule.query_offset_seconds)
    found = result if isinstance(result, dict) else {(): (result, np.ones(len(times), bool))}
    values: Vector = {}
    for labels, (value, present) in found.items():
        key = _without_name(labels)
        if key in values and (values[key][1] & present).any():
            raise QueryFailed(
                f"rule {rule.name}: vector contains metrics with the same labelset after "
                "applying alert labels"
            )
        old = values.get(key, (value, np.zeros(len(times), bool)))
        values[key] = (np.where(present, value, old[0]), old[1] | present)
    return AlertTimeline(
        rule,
        times,
        {labels: _replay(rule, times, present) for labels, (_, present) in values.items()},
        values,
    )


def _replay(rule: AlertRule, times: np.ndarray, active: np.ndarray) -> np.ndarray:
    """States at every evaluation, run by run of evaluations where the condition holds: a run
    is pending from its first evaluation until ``for`` has passed, then firing; a gap drops it,
    unless it fired and ``keep_firing_for`` still holds it (then the next run carries on)."""
    states = np.zeros(len(times), dtype=np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    starts, ends = edges[0::2], edges[1::2]  # runs [start, end)
    wait, hold = rule.for_seconds, rule.keep_firing_for_seconds
    if not hold:
        marks = np.full(len(times), -1)
        marks[starts] = starts
        since = times - times[np.maximum(np.maximum.accumulate(marks), 0)]
        states[active] = np.where(since[active] >= wait, FIRING, PENDING)
        return states
    firing, last = False, -1
    for start, end in zip(starts, ends, strict=True):
        carried = firing and _hold(states, times, last, start, hold)
        if carried:
            states[start:end] = FIRING
        else:
            states[start:end] = np.where(times[start:end] - times[start] >= wait, FIRING, PENDING)
        firing, last = bool(states[end - 1] == FIRING), int(end)
    if firing:
        _hold(states, times, last, len(times), hold)
    return states


def _hold(states: np.ndarray, times: np.ndarray, gap: int, end: int, hold: float) -> bool:
    """Keep a fired alert firing over the gap [gap, end) while ``keep_firing_for`` holds it;
    whether it held the whole gap."""
    if gap >= end:
        return True
    held = times[gap:end] - times[gap] < hold
    states[gap:end] = np.where(held, FIRING, INACTIVE)
    return bool(held.all())
