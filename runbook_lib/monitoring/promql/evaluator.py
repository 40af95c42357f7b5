"""Evaluates a parsed tree at every evaluation time at once (numpy), with Prometheus semantics.

A scalar is one float per evaluation time; an instant vector maps each label set to (values,
present) per evaluation time, so a NaN sample (present, value NaN) is never confused with no
sample. As in Prometheus (``promql/engine.go``):

- an instant selector takes the latest sample within the 5-minute lookback (``(t-5m, t]`` in 3,
  ``[t-5m, t]`` in 2.x), none if that sample is a stale marker;
- arithmetic follows IEEE 754 like Go: ``x / 0`` is +Inf, -Inf or NaN and the sample stays;
  ``%`` is Go's ``math.Mod``; the metric name is dropped by arithmetic, functions, ``bool`` and
  unary minus, kept by filtering comparisons and set operators;
- vector/vector operations match one-to-one on all labels but the name; a duplicate on the
  "one" side fails the query (:class:`QueryFailed`) exactly where Prometheus' does;
- aggregations fold each group's series in Prometheus' order with :mod:`.reduce`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runbook_lib.errors import ConfigurationError, RunbookError
from runbook_lib.monitoring.promql import reduce, windows
from runbook_lib.monitoring.promql.names import COMPARISONS
from runbook_lib.monitoring.promql.parser import Node
from runbook_lib.monitoring.promql.series import NAME, Labels, Series, without_name

Pair = tuple[np.ndarray, np.ndarray]  # values, present
Vector = dict[Labels, Pair]
Value = Vector | np.ndarray
LOOKBACK_MS = 300_000
LOOKBACK_SECONDS = LOOKBACK_MS / 1000
_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}


class QueryFailed(RunbookError):
    """The query fails at evaluation time, as it does in Prometheus (duplicate series...)."""


@dataclass(frozen=True)
class Evaluator:
    series: Series
    semantics: int = 3  # 3: Prometheus 3.x; 2: Prometheus 2.x such as Debian's promtool 2.42

    def __post_init__(self) -> None:
        if self.semantics not in (2, 3):
            raise ConfigurationError(f"semantics must be 2 or 3, not {self.semantics!r}")

    def evaluate(self, node: Node, times: np.ndarray) -> Value:
        """``node`` at every time of ``times`` (seconds)."""
        ms = np.round(np.asarray(times, dtype=float) * 1000).astype(np.int64)
        with np.errstate(all="ignore"):  # Inf and NaN are values here, as in Go
            return self._eval(node, ms)

    def _eval(self, node: Node, ms: np.ndarray) -> Value:
        if node.kind == "number":
            return np.full(len(ms), node.value)
        if node.kind == "selector":
            return self._instant(node, ms)
        if node.kind == "call":
            return self._call(node, ms)
        if node.kind == "aggregate":
            inner = self._eval(node.args[0], ms)
            assert isinstance(inner, dict)  # the parser allows vectors only
            return self._aggregate(node, inner, len(ms))
        if node.kind == "unary":
            return _negate(self._eval(node.args[0], ms))
        lhs, rhs = self._eval(node.args[0], ms), self._eval(node.args[1], ms)
        return _binary(node.op, node.bool_modifier, lhs, rhs)

    def _instant(self, node: Node, ms: np.ndarray) -> Vector:
        ends = ms - node.offset_ms
        found: Vector = {}
        for labels, samples in self.series.select(node.name, node.matchers):
            if len(samples.times) == 0:
                continue
            index = np.searchsorted(samples.times, ends, side="right") - 1
            safe = np.maximum(index, 0)
            age = ends - samples.times[safe]
            recent = age < LOOKBACK_MS if self.semantics >= 3 else age <= LOOKBACK_MS
            found[labels] = (samples.values[safe], (index >= 0) & recent & ~samples.stale[safe])
        return found

    def _call(self, node: Node, ms: np.ndarray) -> Vector:
        selector = node.args[0]
        ends = ms - selector.offset_ms
        found: Vector = {}
        for labels, samples in self.series.select(selector.name, selector.matchers):
            values, present = windows.range_function(
                node.name, samples, ends, selector.range_ms, self.semantics
            )
            _put(found, without_name(labels), values, present)
        return found

    def _aggregate(self, node: Node, inner: Vector, size: int) -> Vector:
        groups: dict[Labels, list[Pair]] = {}
        for labels, pair in inner.items():
            if node.without:
                key = tuple(p for p in labels if p[0] not in node.grouping and p[0] != NAME)
            else:
                key = tuple(p for p in labels if p[0] in node.grouping)
            groups.setdefault(key, []).append(pair)
        found: Vector = {}
        for key, members in groups.items():
            reducer = reduce.aggregation(node.name, size, self.semantics)
            seen = np.zeros(size, dtype=bool)
            for values, present in members:
                reducer.start(values, present & ~seen)
                reducer.add(values, present & seen)
                seen = seen | present
            found[key] = (reducer.result(), seen)
        return found


def _put(found: Vector, labels: Labels, values: np.ndarray, present: np.ndarray) -> None:
    """Add a series to a result; two with the same labels at the same time fail the query."""
    if labels not in found:
        found[labels] = (values, present)
        return
    old, was = found[labels]
    if (was & present).any():
        raise QueryFailed(f"vector cannot contain metrics with the same labelset {dict(labels)}")
    found[labels] = (np.where(present, values, old), was | present)


def _negate(value: Value) -> Value:
    if not isinstance(value, dict):
        return -value
    found: Vector = {}
    for labels, (values, present) in value.items():
        _put(found, without_name(labels), -values, present)
    return found


def _binary(op: str, as_bool: bool, lhs: Value, rhs: Value) -> Value:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if op in ("and", "or", "unless"):
            assert isinstance(lhs, dict)  # the parser's type check
            assert isinstance(rhs, dict)
            return _set_operation(op, lhs, rhs)
        fn = _ARITHMETIC[op]
        if not isinstance(lhs, dict) and not isinstance(rhs, dict):
            return fn(lhs, rhs).astype(float)  # comparisons of scalars carry bool
        if isinstance(lhs, dict) and isinstance(rhs, dict):
            return _vector_vector(op, as_bool, lhs, rhs)
        found: Vector = {}
        vector = lhs if isinstance(lhs, dict) else rhs
        assert isinstance(vector, dict)
        for labels, (values, present) in vector.items():
            left, right = (values, rhs) if vector is lhs else (lhs, values)
            result = fn(np.asarray(left), np.asarray(right))
            _put(found, *_outcome(op, as_bool, labels, values, result, present))
        return found


def _outcome(
    op: str,
    as_bool: bool,
    labels: Labels,
    kept: np.ndarray,
    result: np.ndarray,
    present: np.ndarray,
) -> tuple[Labels, np.ndarray, np.ndarray]:
    """Labels, values and presence of an element: a filter keeps ``kept`` where it holds."""
    if op not in COMPARISONS:
        return without_name(labels), result, present
    if as_bool:
        return without_name(labels), result.astype(float), present
    return labels, kept, present & result.astype(bool)


def _vector_vector(op: str, as_bool: bool, lhs: Vector, rhs: Vector) -> Vector:
    right: Vector = {}
    for labels, (values, present) in rhs.items():
        signature = without_name(labels)
        if signature in right and (right[signature][1] & present).any():
            raise QueryFailed(
                f"found duplicate series for the match group {dict(signature)} on the right "
                "hand-side of the operation; many-to-many matching not allowed"
            )
        _put(right, signature, values, present)
    found: Vector = {}
    matched: dict[Labels, np.ndarray] = {}
    for labels, (values, present) in lhs.items():
        signature = without_name(labels)
        if signature not in right:
            continue
        other, there = right[signature]
        result = _ARITHMETIC[op](values, other)
        key, out, keep = _outcome(op, as_bool, labels, values, result, present & there)
        before = matched.get(signature, np.zeros(len(keep), dtype=bool))
        if (before & keep).any():
            raise QueryFailed(
                "multiple matches for labels: many-to-one matching must be explicit "
                "(group_left/group_right)"
            )
        matched[signature] = before | keep
        _put(found, key, out, keep)
    return found


def _set_operation(op: str, lhs: Vector, rhs: Vector) -> Vector:
    def anywhere(vector: Vector) -> dict[Labels, np.ndarray]:
        seen: dict[Labels, np.ndarray] = {}
        for labels, (_, present) in vector.items():
            signature = without_name(labels)
            seen[signature] = seen.get(signature, np.zeros(len(present), dtype=bool)) | present
        return seen

    if op == "or":
        found = dict(lhs)
        taken = anywhere(lhs)
        for labels, (values, present) in rhs.items():
            blocked = taken.get(without_name(labels))
            _put(found, labels, values, present if blocked is None else present & ~blocked)
        return found
    there = anywhere(rhs)
    found = {}
    for labels, (values, present) in lhs.items():
        other = there.get(without_name(labels), np.zeros(len(present), dtype=bool))
        found[labels] = (values, present & (other if op == "and" else ~other))
    return found
