"""Runs the rule file over recorded series and answers what the drills ask of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runbook_lib.monitoring.measures import Counter, Minutes, series
from runbook_lib.monitoring.promql import Evaluator, Series
from runbook_lib.monitoring.rules import (
    FIRING,
    INACTIVE,
    PENDING,
    AlertRule,
    AlertTimeline,
    alert_states,
    load_rules,
)
from runbook_lib.paths import DEFAULT_CONFIG_DIR
from runbook_lib.world import touched

STATE_NAMES = {INACTIVE: "silent", PENDING: "pending", FIRING: "firing"}
EVALUATION_INTERVAL = 60.0


@dataclass(frozen=True)
class Evaluation:
    timelines: dict[str, list[AlertTimeline]]  # alert name -> one timeline per rule of that name

    def state(self, alert: str, t: float) -> str:
        """The most severe state of any rule/label set of ``alert`` at ``t``."""
        worst = max(
            (tl.state_at(t, labels) for tl in self.timelines[alert] for labels in tl.states),
            default=INACTIVE,
        )
        return STATE_NAMES[worst]

    def firing(self, t: float) -> list[AlertRule]:
        return [
            tl.rule
            for tls in self.timelines.values()
            for tl in tls
            if any(tl.state_at(t, labels) == FIRING for labels in tl.states)
        ]


def evaluate(
    rules: list[AlertRule],
    series: Series,
    end_seconds: float,
    start_seconds: float = 0.0,
    semantics: int = 3,
) -> Evaluation:
    """Every rule at every evaluation of its group (its ``interval``, else every minute) from
    ``start_seconds`` to ``end_seconds``."""
    touched.simulated("Prometheus rule evaluation (the drill's evaluator)")
    evaluator = Evaluator(series, semantics)
    timelines: dict[str, list[AlertTimeline]] = {}
    for rule in rules:
        step = rule.interval_seconds or EVALUATION_INTERVAL
        times = np.arange(start_seconds, end_seconds + 1e-9, step)
        timelines.setdefault(rule.name, []).append(alert_states(rule, evaluator, times))
    return Evaluation(timelines)


def replay(rules: list[AlertRule], minutes: Minutes, end_minute: float) -> Evaluation:
    """Evaluate ``rules`` every minute to ``end_minute`` over one sample a minute per metric."""
    return evaluate(rules, series(minutes), end_minute * EVALUATION_INTERVAL)


def replay_failures(
    rules: list[AlertRule], counter: Counter, failures: float, minutes: int = 5
) -> Evaluation:
    """``failures`` counted on ``counter`` by minute 1, the rules replayed to ``minutes``."""
    return replay(rules, counter.failed(failures, minutes), minutes)


def default_rules(rule_file: Path = DEFAULT_CONFIG_DIR.rule_file) -> list[AlertRule]:
    """The rules deployed to Prometheus: the configuration directory's rule file."""
    return load_rules(rule_file)
