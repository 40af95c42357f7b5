"""Prometheus' PromQL test scripts (``promql/promqltest``), read and run against our evaluator.

The format (``promqltest/README.md``; parser: ``promql/promqltest/test.go``): ``load <step>``
blocks of ``metric{labels} <values>`` (``a+bxN``, ``axN``, ``_``, ``_xN``, ``stale``, ``{{...}}``
native histograms), ``clear``, and ``eval instant at <t> <expr>`` or ``eval range from <a> to
<b> step <s> <expr>`` followed by ``expect ...`` lines, a bare number (a scalar result) or the
expected series. Results compare as ``compareResult`` does: the same label sets, values equal
within ``almost.Equal(a, b, 1e-6)`` (NaN equals NaN), the same points per series in range mode.

:func:`run` evaluates every case whose expression and data lie inside the evaluator's subset and
says, for every other case, why not (an :class:`Outcome` with status ``skip`` and its reason).
A case Prometheus expects to fail passes when our parser refuses it as invalid PromQL.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runbook_lib.monitoring.promql import (
    Evaluator,
    InvalidPromQL,
    Labels,
    Node,
    QueryFailed,
    Series,
    UnsupportedPromQL,
    Value,
    Vector,
    parse,
)
from runbook_lib.monitoring.promql.lexer import duration_ms, parse_number, tokenize, unquote
from runbook_lib.monitoring.promql.series import labels_of

EPSILON = 1e-6
_MIN_NORMAL = 2.2250738585072014e-308
_EVAL = re.compile(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_RANGE = re.compile(r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")  # fmt: skip
_EXPECT = re.compile(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
_NUM = r"[+-]?(?:[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+\.|[Ii]nf|[Nn]a[Nn])"
_ITEM = re.compile(rf"^({_NUM})(?:([+-])({_NUM})x([0-9]+)|x([0-9]+))?$")


@dataclass(frozen=True)
class Point:
    value: float | None  # None: no sample ("_")
    stale: bool = False
    histogram: bool = False


@dataclass
class Loaded:
    """One series as the loads so far wrote it."""

    samples: dict[int, Point] = field(default_factory=dict)
    start_timestamps: bool = False


@dataclass(frozen=True)
class Load:
    step_ms: int
    rows: tuple[tuple[Labels, tuple[Point, ...], bool], ...]  # labels, points, an @st line
    native_histograms: bool = False  # load_with_nhcb


@dataclass(frozen=True)
class Clear:
    pass


@dataclass(frozen=True)
class Expected:
    labels: Labels | None  # None: a scalar
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Case:
    line: int
    expr: str
    start_ms: int
    end_ms: int
    step_ms: int  # 0: an instant query
    expected: tuple[Expected, ...]
    expect: tuple[tuple[str, str, str], ...]  # (type, msg|regex|"", text)
    expects_string: bool = False
    expects_range_vector: bool = False


@dataclass(frozen=True)
class Outcome:
    file: str
    line: int
    expr: str
    status: str  # pass, fail, skip
    reason: str = ""  # why skipped, or what differed


def almost_equal(a: float, b: float, epsilon: float = EPSILON) -> bool:
    """``util/almost.Equal``."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    if a == 0 or b == 0 or abs(a) + abs(b) < _MIN_NORMAL:
        return diff < epsilon * _MIN_NORMAL
    return diff / min(abs(a) + abs(b), 1.7976931348623157e308) < epsilon


def series_line(text: str) -> tuple[Labels, list[Point]]:
    """``metric{labels} values`` -> its label set and points."""
    split = _metric_end(text)
    return _labels(text[:split]), points(text[split:])


def _metric_end(text: str) -> int:
    brace = text.find("{")
    space = re.search(r"\s", text)
    if brace < 0 or (space is not None and space.start() < brace):
        return space.start() if space else len(text)
    i, quote = brace, ""
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
            i += 2 if char == "\\" and quote != "`" else 1
            continue
        if char in "\"'`":
            quote = char
        elif char == "}":
            return i + 1
        i += 1
    raise ValueError(f"unterminated label set in {text!r}")


def _labels(metric: str) -> Labels:
    tokens = [t for t in tokenize(metric) if t.kind != "eof"]
    name = tokens[0].text if tokens and tokens[0].kind == "ident" else ""
    body = tokens[1:] if name else tokens
    found: dict[str, str] = {}
    items = [t for t in body[1:-1] if t.text != ","]
    i = 0
    while i < len(items):
        label = items[i]
        if label.kind == "string" and (i + 1 >= len(items) or items[i + 1].text != "="):
            name, i = unquote(label.text), i + 1
            continue
        key = unquote(label.text) if label.kind == "string" else label.text
        found[key] = unquote(items[i + 2].text)
        i += 3
    name = found.pop("__name__", name)
    return labels_of(name, found)


def points(text: str) -> list[Point]:
    """Expand a values description: ``1 2+3x2 _ _x3 stale {{...}}``."""
    found: list[Point] = []
    for item in _items(text):
        if "{{" in item:
            found.append(Point(None, histogram=True))
        elif item == "stale":
            found.append(Point(math.nan, stale=True))
        elif item == "_":
            found.append(Point(None))
        elif item.startswith("_x"):
            found += [Point(None)] * int(item[2:])
        else:
            found += _expand(item)
    return found


def _items(text: str) -> list[str]:
    """Whitespace-separated items, a native histogram's ``{{...}}`` (with spaces) being one."""
    found, current, depth, i = [], "", 0, 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in ("{{", "}}"):
            depth += 1 if pair == "{{" else -1
            current, i = current + pair, i + 2
            continue
        if text[i].isspace() and depth == 0:
            found += [current] if current else []
            current = ""
        else:
            current += text[i]
        i += 1
    return found + ([current] if current else [])


def _expand(item: str) -> list[Point]:
    match = _ITEM.match(item)
    if match is None:
        raise ValueError(f"bad series value {item!r}")
    start, sign, step, times, repeat = match.groups()
    value = parse_number(start.lstrip("+")) if start[0] == "+" else _signed(start)
    if repeat is not None:
        return [Point(value)] * (int(repeat) + 1)
    if times is None:
        return [Point(value)]
    delta = _signed(step) * (-1 if sign == "-" else 1)
    found = []
    for _ in range(int(times) + 1):  # Prometheus adds the step again and again
        found.append(Point(value))
        value += delta
    return found


def _signed(text: str) -> float:
    return -parse_number(text[1:]) if text[0] == "-" else parse_number(text.lstrip("+"))


def read(text: str) -> list[Load | Clear | Case]:
    """The commands of a test script, in order."""
    lines = ["" if ln.strip().startswith("#") else ln.strip() for ln in text.split("\n")]
    commands: list[Load | Clear | Case] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        block = []
        j = i + 1
        while j < len(lines) and lines[j]:
            block.append(lines[j])
            j += 1
        if not line:
            i += 1
            continue
        word = line.split()[0].lower()
        if word == "clear":
            commands.append(Clear())
            j = i + 1
        elif word.startswith("load"):
            commands.append(_load(line, block))
        elif word.startswith("eval"):
            commands.append(_case(i + 1, line, block))
        else:
            raise ValueError(f"line {i + 1}: unknown command {line!r}")
        i = j
    return commands


def _load(line: str, block: list[str]) -> Load:
    word, step = line.split(maxsplit=1)
    found: list[tuple[Labels, tuple[Point, ...], bool]] = []
    for text in block:
        head = text.split(maxsplit=1)[0]
        if head.endswith("@st"):
            labels = _labels(text[: text.index("@st")])
            found.append((labels, (), True))
            continue
        labels, values = series_line(text)
        found.append((labels, tuple(values), False))
    return Load(duration_ms(step.strip()), tuple(found), word == "load_with_nhcb")


def _case(number: int, line: str, block: list[str]) -> Case:
    instant, ranged = _EVAL.match(line), _RANGE.match(line)
    if instant:
        mod, at, expr = instant.groups()
        start = end = duration_ms(at.strip()) if at else 0
        step = 0
    elif ranged:
        mod, a, b, s, expr = ranged.groups()
        start, end, step = duration_ms(a.strip()), duration_ms(b.strip()), duration_ms(s.strip())
    else:
        raise ValueError(f"line {number}: not an eval command: {line!r}")
    expect = [(mod, "", "")] if mod else []
    expected: list[Expected] = []
    string = range_vector = False
    for text in block:
        if text.startswith("expected_fail_message"):
            expect.append(("fail", "msg", text.removeprefix("expected_fail_message").strip()))
        elif text.startswith("expected_fail_regexp"):
            expect.append(("fail", "regex", text.removeprefix("expected_fail_regexp").strip()))
        elif text.startswith("expect range vector"):
            range_vector = True
        elif text.startswith("expect string"):
            string = True
        elif text.split(" ")[0] == "expect":
            match = _EXPECT.match(text)
            if match is None:
                raise ValueError(f"line {number}: bad expect line {text!r}")
            kind, how, what = match.groups()
            expect.append((kind, how or "", (what or "").strip()))
        elif (scalar := _number(text)) is not None:
            expected.append(Expected(None, (Point(scalar),)))
            break
        else:
            labels, values = series_line(text)
            expected.append(Expected(labels, tuple(values)))
    return Case(number, expr.strip(), start, end, step, tuple(expected), tuple(expect), string, range_vector)  # fmt: skip


def _number(text: str) -> float | None:
    """``parseNumber``: Go's ParseInt(s, 0, 64), else ParseFloat."""
    for convert in (lambda t: float(int(t, 0)), float):
        try:
            return convert(text)
        except ValueError:
            continue
    return None


@dataclass
class _Storage:
    """What the loads so far wrote: plain float series, and the ones the evaluator cannot read
    (native histograms, start timestamps) by name, so a case selecting them is skipped."""

    loaded: dict[Labels, Loaded] = field(default_factory=dict)
    unreadable: dict[Labels, str] = field(default_factory=dict)
    cached: Series | None = None

    def load(self, command: Load) -> None:
        self.cached = None
        step = command.step_ms
        for labels, values, start_timestamps in command.rows:
            if start_timestamps:
                self.unreadable[labels] = "start timestamps (@st)"
                continue
            if {"__type__", "__unit__"} & dict(labels).keys():
                self.unreadable[labels] = "type and unit labels (feature flag)"
                continue
            series = self.loaded.setdefault(labels, Loaded())
            for i, point in enumerate(values):
                if point.histogram:
                    self.unreadable[labels] = "native histogram samples"
                elif point.value is not None:
                    series.samples[i * step] = point
            if command.native_histograms:
                self.unreadable[_histogram_of(labels)] = "native histogram samples"

    def series(self) -> Series:
        if self.cached is None:
            self.cached = Series()
            for labels, loaded in self.loaded.items():
                times = np.array(sorted(loaded.samples), dtype=np.int64)
                chosen = [loaded.samples[int(t)] for t in times]
                name = dict(labels).get("__name__", "")
                self.cached.add_array(
                    name,
                    {k: v for k, v in labels if k != "__name__"},
                    times,
                    np.array([p.value for p in chosen], dtype=float),
                    np.array([p.stale for p in chosen], dtype=bool),
                )
        return self.cached

    def why_unreadable(self, node: Node) -> str:
        for selector in _selectors(node):
            for labels, why in self.unreadable.items():
                named = dict(labels).get("__name__") == selector.name
                if named and all(m.matches(dict(labels)) for m in selector.matchers):
                    return why
        return ""


def _histogram_of(labels: Labels) -> Labels:
    found = {k: v for k, v in labels if k != "le"}
    name = found.pop("__name__", "")
    for suffix in ("_bucket", "_sum", "_count"):
        name = name.removesuffix(suffix) if name.endswith(suffix) else name
    return labels_of(name, found)


def _selectors(node: Node) -> list[Node]:
    if node.kind == "selector":
        return [node]
    return [s for arg in node.args for s in _selectors(arg)]


def run(path: Path, semantics: int = 3) -> list[Outcome]:
    """Every eval of the script at ``path``: passed, failed (with what differed), or skipped
    (with why it lies outside the subset)."""
    storage = _Storage()
    outcomes = []
    for command in read(path.read_text(encoding="utf-8")):
        if isinstance(command, Clear):
            storage = _Storage()
        elif isinstance(command, Load):
            storage.load(command)
        else:
            status, reason = _run_case(command, storage, semantics)
            outcomes.append(Outcome(path.name, command.line, command.expr, status, reason))
    return outcomes


def _run_case(case: Case, storage: _Storage, semantics: int) -> tuple[str, str]:
    kinds = {kind for kind, _, _ in case.expect}
    try:
        node = parse(case.expr)
    except UnsupportedPromQL as exc:
        return "skip", exc.reason
    except InvalidPromQL as exc:
        return _failure_expected(case, exc.detail, "our parser refused valid PromQL")
    skip = (
        ("annotations (warn/info) expected" if kinds & {"warn", "info"} else "")
        or ("result order expected" if "ordered" in kinds else "")
        or storage.why_unreadable(node)
        or ("native histogram results" if _expects_histograms(case) else "")
    )
    if skip:
        return "skip", skip
    times = np.arange(case.start_ms, case.end_ms + 1, case.step_ms or 1)[
        : 1 if not case.step_ms else None
    ]
    try:
        result = Evaluator(storage.series(), semantics).evaluate(node, times / 1000)
    except QueryFailed as exc:
        return _failure_expected(case, str(exc), "evaluation failed")
    if "fail" in kinds:
        return "fail", "Prometheus fails this query; we returned a result"
    difference = compare(case, result, len(times))
    return ("fail", difference) if difference else ("pass", "")


def _failure_expected(case: Case, detail: str, otherwise: str) -> tuple[str, str]:
    wanted = [(how, text) for kind, how, text in case.expect if kind == "fail"]
    if not wanted:
        return "fail", f"{otherwise}: {detail}"
    how, text = wanted[0]
    if how == "msg" and not text.endswith(detail):
        return "fail", f"failed with {detail!r}, Prometheus with {text!r}"
    if how == "regex" and not re.search(text, detail):
        return "fail", f"failed with {detail!r}, Prometheus with /{text}/"
    return "pass", ""


def _expects_histograms(case: Case) -> bool:
    return any(p.histogram for e in case.expected for p in e.points)


def compare(case: Case, result: Value, steps: int) -> str:
    """What differs between ``result`` and the case's expectation ("" if nothing)."""
    scalar_expected = bool(case.expected) and case.expected[0].labels is None
    if isinstance(result, dict):
        vector = result
    elif case.step_ms:  # a range query returns a scalar as one series without labels
        vector = {(): (result, np.ones(steps, dtype=bool))}
    elif not scalar_expected:
        return "expected vector or matrix result, but got scalar"
    else:
        want, got = case.expected[0].points[0].value, float(result[0])
        return "" if almost_equal(got, float(want or 0.0)) else f"expected scalar {want}, got {got}"
    if scalar_expected:
        return "expected scalar result, but got a vector"
    return _compare_vector(case, vector, steps)


def _compare_vector(case: Case, result: Vector, steps: int) -> str:
    got = {labels: pair for labels, pair in result.items() if pair[1].any()}
    expected = {e.labels: e.points for e in case.expected}
    for extra in got.keys() - expected.keys():
        return f"unexpected metric {dict(extra)} in result"
    for missing in expected.keys() - got.keys():
        return f"expected metric {dict(missing or ())} not found"
    for labels, (values, present) in got.items():
        wanted = [(i, p.value) for i, p in enumerate(expected[labels]) if p.value is not None]
        if any(i >= steps for i, _ in wanted):
            return f"expected {len(wanted)} points for {dict(labels)}, more than the query has"
        wanted = wanted if case.step_ms else wanted[:1]
        steps_got = [int(i) for i in np.flatnonzero(present)]
        if [i for i, _ in wanted] != steps_got:
            return (
                f"{dict(labels)}: points at steps {steps_got}, expected at {[i for i, _ in wanted]}"
            )
        for i, want in wanted:
            if not almost_equal(float(values[i]), float(want or 0.0)):
                return f"{dict(labels)} at step {i}: expected {want}, got {values[i]}"
    return ""


def summary(outcomes: list[Outcome]) -> tuple[Counter[str], Counter[str]]:
    """Counts by status, and skipped cases by reason."""
    return Counter(o.status for o in outcomes), Counter(
        o.reason for o in outcomes if o.status == "skip"
    )
