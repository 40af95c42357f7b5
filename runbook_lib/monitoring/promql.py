"""The PromQL subset the rule file uses: parsed strictly, evaluated with Prometheus semantics.

Grammar (anything else is rejected at load time with :class:`ConfigurationError`)::

    expr     := andexpr
    andexpr  := compare ("and" compare)*
    compare  := additive (("==" | "!=" | ">" | ">=" | "<" | "<=") additive)?
    additive := mult (("+" | "-") mult)*
    mult     := unary (("*" | "/") unary)*
    unary    := NUMBER | "(" expr ")" | call | selector
    call     := ("rate" | "increase" | "avg_over_time" | "max_over_time" | "min_over_time") "(" selector "[" DURATION "]" ")"
              | ("sum" | "avg" | "max" | "min") "(" expr ")"
    selector := METRIC ("{" label "=" "\\"" value "\\"" ("," ...)* "}")?

Semantics follow Prometheus (``promql/functions.go``): instant selectors look back 5 minutes,
``rate``/``increase`` need two samples and extrapolate to the window edges, counter resets are
compensated, comparisons filter (``>`` is strict, exactly as written). ``semantics=2`` makes
windows closed on the left like Prometheus 2.x (what Debian's promtool 2.42 does);
``semantics=3`` (default) makes them left-open like Prometheus 3.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.units import parse_duration

Labels = tuple[tuple[str, str], ...]
LOOKBACK_SECONDS = 300.0
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:e-?\d+)?)|(?P<dur>\[\d+[smhdw]\])|(?P<op>==|!=|>=|<=|[-+*/<>(){},=])"
    r"|(?P<str>\"[^\"]*\")|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*))"
)
_COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")
RANGE_FUNCTIONS = ("rate", "increase", "avg_over_time", "max_over_time", "min_over_time")
AGGREGATIONS = ("sum", "avg", "max", "min")


@dataclass(frozen=True)
class Node:
    kind: str  # number, selector, range_call, aggregate, binary, compare, and
    value: float = 0.0
    name: str = ""
    matchers: Labels = ()
    window: float = 0.0
    op: str = ""
    args: tuple[Node, ...] = ()


def parse(text: str) -> Node:
    """Parse ``text`` into a tree, or raise ConfigurationError naming what is not supported."""
    tokens = [m for m in _TOKEN.finditer(text)]
    rebuilt = "".join(m.group(0) for m in tokens)
    if rebuilt.strip() != text.strip():
        bad = text[len(rebuilt.rstrip()) :].strip()[:20]
        raise ConfigurationError(f"PromQL {text!r}: unsupported syntax near {bad!r}")
    parser = _Parser(text, [(m.lastgroup or "", m.group(m.lastgroup or 0)) for m in tokens])
    node = parser.expr()
    if parser.position != len(parser.tokens):
        raise ConfigurationError(
            f"PromQL {text!r}: unexpected {parser.tokens[parser.position][1]!r}"
        )
    return node


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str]]) -> None:
        self.text, self.tokens, self.position = text, tokens, 0

    def peek(self) -> str:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise ConfigurationError(f"PromQL {self.text!r}: ends too early")
        token = self.tokens[self.position]
        if expected is not None and token[1] != expected:
            raise ConfigurationError(
                f"PromQL {self.text!r}: expected {expected!r}, found {token[1]!r}"
            )
        self.position += 1
        return token

    def expr(self) -> Node:
        node = self.compare()
        while self.peek() == "and":
            self.take()
            node = Node("and", args=(node, self.compare()))
            if any(_is_scalar(arg) for arg in node.args):
                raise ConfigurationError(f"PromQL {self.text!r}: 'and' needs vectors on both sides")
        return node

    def compare(self) -> Node:
        node = self.additive()
        if self.peek() in _COMPARISONS:
            op = self.take()[1]
            if self.peek() == "bool":
                raise ConfigurationError(
                    f"PromQL {self.text!r}: the bool modifier is not supported"
                )
            node = Node("compare", op=op, args=(node, self.additive()))
            if all(_is_scalar(arg) for arg in node.args):
                raise ConfigurationError(
                    f"PromQL {self.text!r}: comparing two numbers needs the bool modifier, which is not supported"
                )
        return node

    def additive(self) -> Node:
        node = self.mult()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            node = Node("binary", op=op, args=(node, self.mult()))
        return node

    def mult(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            node = Node("binary", op=op, args=(node, self.unary()))
        return node

    def unary(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return Node("number", value=float(value))
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        if kind != "name" or value in ("and", "or", "unless", "by", "without", "offset", "bool"):
            raise ConfigurationError(f"PromQL {self.text!r}: unsupported {value!r}")
        if self.peek() == "(":
            return self.call(value)
        return self.selector(value)

    def call(self, function: str) -> Node:
        self.take("(")
        if function in RANGE_FUNCTIONS:
            selector = self.selector(self.take()[1])
            kind, window = self.take()
            if kind != "dur":
                raise ConfigurationError(
                    f"PromQL {self.text!r}: {function}() needs a range like [5m]"
                )
            self.take(")")
            return Node(
                "range_call",
                name=function,
                window=parse_duration(window.strip("[]")),
                args=(selector,),
            )
        if function in AGGREGATIONS:
            inner = self.expr()
            self.take(")")
            return Node("aggregate", name=function, args=(inner,))
        raise ConfigurationError(
            f"PromQL {self.text!r}: function {function}() is not supported by the evaluator"
        )

    def selector(self, name: str) -> Node:
        matchers: list[tuple[str, str]] = []
        if self.peek() == "{":
            self.take("{")
            while self.peek() != "}":
                label = self.take()[1]
                self.take("=")
                kind, value = self.take()
                if kind != "str":
                    raise ConfigurationError(
                        f'PromQL {self.text!r}: only label="value" matchers are supported'
                    )
                matchers.append((label, value.strip('"')))
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
        return Node("selector", name=name, matchers=tuple(matchers))


def _is_scalar(node: Node) -> bool:
    return node.kind == "number" or (
        node.kind == "binary" and all(_is_scalar(a) for a in node.args)
    )


@dataclass
class Series:
    """Samples of every series: times (seconds) and values, each a sorted numpy array."""

    data: dict[tuple[str, Labels], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def add(self, name: str, labels: dict[str, str], samples: list[tuple[float, float]]) -> None:
        ordered = sorted(samples)
        self.data[(name, tuple(sorted(labels.items())))] = (
            np.array([t for t, _ in ordered], dtype=float),
            np.array([v for _, v in ordered], dtype=float),
        )


Timeline = dict[Labels, np.ndarray]  # label set -> value at every evaluation time (NaN: absent)


@dataclass(frozen=True)
class Evaluator:
    """Evaluates a tree at every evaluation time at once (numpy), so 30 days of 1-minute
    evaluations cost milliseconds per rule instead of seconds."""

    series: Series
    semantics: int = 3

    def evaluate(self, node: Node, times: np.ndarray) -> Timeline | np.ndarray:
        if node.kind == "number":
            return np.full(len(times), node.value)
        if node.kind == "selector":
            return self._select(node, times)
        if node.kind == "range_call":
            return self._range_call(node, times)
        if node.kind == "aggregate":
            return self._aggregate(node.name, self.evaluate(node.args[0], times), len(times))
        left, right = (self.evaluate(a, times) for a in node.args)
        if node.kind == "binary":
            fn = _ARITH_NP[node.op]
            return _combine(left, right, fn)
        if node.kind == "compare":
            cmp = _COMPARE_NP[node.op]
            return _combine(
                left, right, lambda a, b: np.where(cmp(a, b), a, np.nan), filtering=True
            )
        if not isinstance(left, dict) or not isinstance(right, dict):
            raise ConfigurationError("'and' needs vectors on both sides")
        return {k: np.where(np.isnan(right[k]), np.nan, v) for k, v in left.items() if k in right}

    def _matching(self, node: Node) -> list[tuple[Labels, tuple[np.ndarray, np.ndarray]]]:
        return [
            (labels, arrays)
            for (name, labels), arrays in self.series.data.items()
            if name == node.name and all(pair in labels for pair in node.matchers)
        ]

    def _bounds(
        self, ts: np.ndarray, times: np.ndarray, window: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Index range [lo, hi) of samples inside each window ending at ``times``."""
        lo = np.searchsorted(ts, times - window, side="right" if self.semantics >= 3 else "left")
        hi = np.searchsorted(ts, times, side="right")
        return lo, hi

    def _select(self, node: Node, times: np.ndarray) -> Timeline:
        found = {}
        for labels, (ts, vs) in self._matching(node):
            lo, hi = self._bounds(ts, times, LOOKBACK_SECONDS)
            present = hi > lo
            found[labels] = np.where(present, vs[np.maximum(hi - 1, 0)], np.nan)
        return found

    def _range_call(self, node: Node, times: np.ndarray) -> Timeline:
        found = {}
        for labels, (ts, vs) in self._matching(node.args[0]):
            lo, hi = self._bounds(ts, times, node.window)
            found[labels] = _range_values(node.name, ts, vs, lo, hi, times, node.window)
        return found

    @staticmethod
    def _aggregate(name: str, inner: Timeline | np.ndarray, length: int) -> Timeline:
        if not isinstance(inner, dict):
            inner = {(): inner}
        if not inner:
            return {}
        stack = np.vstack(list(inner.values()))
        present = ~np.isnan(stack)
        count = present.sum(axis=0)
        filled = np.where(present, stack, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            if name == "sum":
                result = filled.sum(axis=0)
            elif name == "avg":
                result = filled.sum(axis=0) / count
            elif name == "max":
                result = np.where(present, stack, -np.inf).max(axis=0)
            else:
                result = np.where(present, stack, np.inf).min(axis=0)
        return {(): np.where(count > 0, result, np.nan)}


def _range_values(
    name: str,
    ts: np.ndarray,
    vs: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    times: np.ndarray,
    window: float,
) -> np.ndarray:
    count = hi - lo
    last = np.maximum(hi - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "avg_over_time":
            sums = np.concatenate(([0.0], np.cumsum(vs)))
            return np.where(count > 0, (sums[hi] - sums[lo]) / np.maximum(count, 1), np.nan)
        if name in ("max_over_time", "min_over_time"):
            return _window_extreme(vs, lo, hi, maximum=name == "max_over_time")
        # rate / increase: Prometheus' extrapolatedRate, for counters
        first = np.minimum(lo, len(vs) - 1)
        drops = np.concatenate(([0.0], np.where(vs[1:] < vs[:-1], vs[:-1], 0.0)))
        resets = np.cumsum(drops)
        result = vs[last] - vs[first] + (resets[last] - resets[first])
        to_start, to_end = ts[first] - (times - window), times - ts[last]
        sampled = ts[last] - ts[first]
        average = sampled / np.maximum(count - 1, 1)
        to_zero = np.where(
            result > 0, sampled * (vs[first] / np.where(result > 0, result, 1.0)), np.inf
        )
        to_start = np.where(
            (result > 0) & (vs[first] >= 0), np.minimum(to_start, to_zero), to_start
        )
        threshold = average * 1.1
        interval = (
            sampled
            + np.where(to_start < threshold, to_start, average / 2)
            + np.where(to_end < threshold, to_end, average / 2)
        )
        value = result * (interval / np.where(sampled > 0, sampled, np.nan))
        if name == "rate":
            value = value / window
        return np.where(count >= 2, value, np.nan)


def _window_extreme(vs: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, maximum: bool) -> np.ndarray:
    """Max (or min) of vs[lo:hi] for every window, with a sparse table: O(n log n) once, O(1) each."""
    pick = np.maximum if maximum else np.minimum
    table = [vs]
    span = 1
    while span * 2 <= len(vs):
        previous = table[-1]
        table.append(pick(previous[:-span], previous[span:]))
        span *= 2
    count = hi - lo
    level = np.floor(np.log2(np.maximum(count, 1))).astype(int)
    result = np.full(len(lo), np.nan)
    for k in np.unique(level[count > 0]):
        rows = (level == k) & (count > 0)
        row = table[k]
        result[rows] = pick(row[lo[rows]], row[hi[rows] - (1 << k)])
    return result


_COMPARE_NP: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}
_ARITH_NP: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": lambda a, b: np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=b != 0),
}


def _combine(
    left: Timeline | np.ndarray,
    right: Timeline | np.ndarray,
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    filtering: bool = False,
) -> Timeline | np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if not isinstance(left, dict) and not isinstance(right, dict):
            if filtering:
                raise ConfigurationError(
                    "comparing two numbers needs the bool modifier, which is not supported"
                )
            return fn(left, right)
        if not isinstance(left, dict):
            assert isinstance(right, dict)
            if filtering:  # scalar <op> vector keeps the vector's value
                return {k: np.where(np.isnan(fn(left, v)), np.nan, v) for k, v in right.items()}
            return {k: fn(left, v) for k, v in right.items()}
        if not isinstance(right, dict):
            return {k: fn(v, right) for k, v in left.items()}
        return {k: fn(v, right[k]) for k, v in left.items() if k in right}
