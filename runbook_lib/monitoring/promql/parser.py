"""PromQL text -> typed tree, for the subset the evaluator implements; nothing else gets through.

Two kinds of refusal, both :class:`ConfigurationError` raised at parse (rule-load) time:

- :class:`InvalidPromQL`: Prometheus rejects the text too (``sum(1)``, ``1 > 2``, ``rate(x)``,
  ``1 and x``...), with Prometheus' own wording of the reason;
- :class:`UnsupportedPromQL`: valid PromQL outside the subset; ``reason`` names the construct
  (the conformance runner counts refused cases by it).

Precedence and associativity are Prometheus' (``generated_parser.y``): ``or`` < ``and unless``
< comparisons < ``+ -`` < ``* / %`` (with unary ``+ -``) < ``^``, all left-associative but ``^``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from runbook_lib.monitoring.promql.errors import InvalidPromQL, UnsupportedPromQL
from runbook_lib.monitoring.promql.lexer import Token, duration_ms, parse_number, tokenize, unquote
from runbook_lib.monitoring.promql.names import (
    AGGREGATIONS,
    COMPARISONS,
    OTHER_AGGREGATIONS,
    PROMETHEUS_FUNCTIONS,
    RANGE_FUNCTIONS,
    RESERVED,
    SET_OPERATORS,
)

_TYPE_NAMES = {"scalar": "scalar", "vector": "instant vector", "matrix": "range vector"}
_TYPE_NAMES["string"] = "string"


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # "=" or "!="; a missing label reads as ""
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        return (labels.get(self.label, "") == self.value) == (self.op == "=")


@dataclass(frozen=True)
class Node:
    kind: str  # number, selector, call, aggregate, unary, binary
    type: str  # scalar, vector, matrix (a selector with a range)
    value: float = 0.0
    name: str = ""  # selector: metric name; call/aggregate: function
    matchers: tuple[Matcher, ...] = ()
    range_ms: int = 0
    offset_ms: int = 0
    op: str = ""
    bool_modifier: bool = False
    grouping: tuple[str, ...] = ()
    without: bool = False
    args: tuple[Node, ...] = ()


def parse(text: str) -> Node:
    """The tree of ``text``, a scalar or instant-vector expression inside the subset."""
    parser = _Parser(text, tokenize(text))
    node = parser.expr()
    if parser.peek().kind != "eof":
        parser.invalid(f"unexpected {parser.peek().text!r}")
    if node.type == "matrix":
        raise UnsupportedPromQL(text, "range-vector result")
    return node


def _check(node: Node, want: str, context: str, fail: Callable[[str], NoReturn]) -> None:
    if node.type != want:
        fail(f"expected type {_TYPE_NAMES[want]} in {context}, got {_TYPE_NAMES[node.type]}")


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text, self.tokens, self.position = text, tokens, 0

    def invalid(self, detail: str) -> NoReturn:
        raise InvalidPromQL(self.text, detail)

    def unsupported(self, reason: str, detail: str = "") -> NoReturn:
        raise UnsupportedPromQL(self.text, reason, detail)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.position + ahead, len(self.tokens) - 1)]

    def keyword(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.text.lower() if token.kind == "ident" else ""

    def take(self, expected: str | None = None) -> Token:
        token = self.peek()
        if expected is not None and token.text != expected:
            self.invalid(f"unexpected {token.text or 'end of input'!r}, expected {expected!r}")
        if token.kind == "eof":
            self.invalid("unexpected end of input")
        self.position += 1
        return token

    # -- binary operators, loosest first ---------------------------------------------------

    def expr(self) -> Node:
        return self._left(lambda: self.keyword() == "or", self.and_expr)

    def and_expr(self) -> Node:
        return self._left(lambda: self.keyword() in ("and", "unless"), self.comparison)

    def comparison(self) -> Node:
        if self.peek().text in ("</", ">/"):
            self.unsupported("histogram trim operator")
        return self._left(lambda: self.peek().text in (*COMPARISONS, "</", ">/"), self.additive)

    def additive(self) -> Node:
        return self._left(lambda: self.peek().text in ("+", "-"), self.multiplicative)

    def multiplicative(self) -> Node:
        return self._left(
            lambda: self.peek().text in ("*", "/", "%") or self.keyword() == "atan2", self.unary
        )

    def _left(self, at_operator: Callable[[], bool], operand: Callable[[], Node]) -> Node:
        node = operand()
        while at_operator():
            op = self.take().text.lower()
            if op in ("</", ">/"):
                self.unsupported("histogram trim operator")
            modifier = self.keyword() == "bool"
            if modifier:
                self.take()
            if self.keyword() in ("on", "ignoring", "group_left", "group_right"):
                self.unsupported("vector matching modifier (on/ignoring/group_left/group_right)")
            if self.keyword() in ("fill", "fill_left", "fill_right") and self.peek(1).text == "(":
                self.unsupported("fill modifier")
            if op == "atan2":
                self.unsupported("operator atan2")
            node = self.binary(op, node, operand(), modifier)
        return node

    def binary(self, op: str, lhs: Node, rhs: Node, modifier: bool) -> Node:
        if modifier and op not in COMPARISONS:
            self.invalid("bool modifier can only be used on comparison operators")
        if op in COMPARISONS and not modifier and lhs.type == rhs.type == "scalar":
            self.invalid("comparisons between scalars must use BOOL modifier")
        if {lhs.type, rhs.type} - {"scalar", "vector"}:
            self.invalid("binary expression must contain only scalar and instant vector types")
        if op in SET_OPERATORS and "scalar" in (lhs.type, rhs.type):
            self.invalid(f'set operator "{op}" not allowed in binary scalar expression')
        kind = "vector" if "vector" in (lhs.type, rhs.type) else "scalar"
        return Node("binary", kind, op=op, bool_modifier=modifier, args=(lhs, rhs))

    def unary(self) -> Node:
        if self.peek().text not in ("+", "-"):
            return self.power()
        op = self.take().text
        operand = self.unary()
        if operand.type not in ("scalar", "vector"):
            self.invalid(
                "unary expression only allowed on expressions of type scalar or instant vector"
            )
        if operand.kind == "number":  # Prometheus folds a signed literal into the literal
            return Node("number", "scalar", value=-operand.value if op == "-" else operand.value)
        return operand if op == "+" else Node("unary", operand.type, op="-", args=(operand,))

    def power(self) -> Node:
        node = self.postfix()
        if self.peek().text == "^":
            self.unsupported("operator ^", "(Go's math.Pow rounding is not reproduced)")
        return node

    # -- operands ----------------------------------------------------------------------------

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.peek().text == "[":
                node = self.range(node)
            elif self.keyword() == "offset":
                node = self.offset(node)
            elif self.peek().text == "@":
                self.unsupported("@ modifier")
            elif self.keyword() in ("smoothed", "anchored") and node.kind == "selector":
                self.unsupported("smoothed/anchored modifier")
            else:
                return node

    def range(self, node: Node) -> Node:
        self.take("[")
        window = self.duration()
        if self.peek().text == ":":
            self.unsupported("subquery")
        if self.peek().text != "]":
            self.unsupported("duration expression")
        self.take("]")
        if node.kind != "selector" or node.type != "vector" or node.offset_ms:
            self.invalid("ranges only allowed for vector selectors")
        return Node("selector", "matrix", name=node.name, matchers=node.matchers, range_ms=window)

    def offset(self, node: Node) -> Node:
        self.take()
        sign = -1 if self.peek().text == "-" else 1
        if self.peek().text in ("+", "-"):
            self.take()
        shift = sign * self.duration()
        if self.peek().text in ("+", "-", "*", "/", "%", "^") and self.peek(1).kind != "ident":
            self.unsupported("duration expression")
        if node.kind != "selector" or node.offset_ms:
            self.invalid(
                "offset modifier must be preceded by an instant vector selector or range vector selector"
            )
        return Node(node.kind, node.type, name=node.name, matchers=node.matchers,
                    range_ms=node.range_ms, offset_ms=shift)  # fmt: skip

    def duration(self) -> int:
        token = self.take()
        try:
            if token.kind == "duration":
                return duration_ms(token.text)
            if token.kind == "number":  # Prometheus 3 reads a bare number as seconds
                return round(parse_number(token.text) * 1000)
        except ValueError as exc:
            self.invalid(str(exc))
        if token.text == "(" or token.kind == "ident":
            self.unsupported("duration expression")
        self.invalid(f"unexpected {token.text!r} where a duration belongs")

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "number":
            self.take()
            try:
                return Node("number", "scalar", value=parse_number(token.text))
            except ValueError as exc:
                self.invalid(str(exc))
        if token.kind == "duration":
            self.unsupported("duration as a number")
        if token.kind == "string":
            self.unsupported("string literal")
        if token.text == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        if token.text == "{":
            return self.selector("")
        if token.kind != "ident":
            self.invalid(f"unexpected {token.text or 'end of input'!r}")
        word = token.text.lower()
        if word in ("inf", "nan"):
            self.take()
            return Node("number", "scalar", value=parse_number(word))
        aggregation = word in AGGREGATIONS or word in OTHER_AGGREGATIONS
        if aggregation and (self.peek(1).text == "(" or self.keyword(1) in ("by", "without")):
            return self.aggregate(word)
        if word in RESERVED:
            self.invalid(f"unexpected keyword {token.text!r}")
        if self.peek(1).text == "(":
            return self.call(token.text)
        self.take()
        return self.selector(token.text)

    def call(self, function: str) -> Node:
        if function not in PROMETHEUS_FUNCTIONS:
            self.invalid(f'unknown function with name "{function}"')
        if function not in RANGE_FUNCTIONS:
            self.unsupported("function", f"{function}()")
        self.take()
        self.take("(")
        args = self.arguments()
        if len(args) != 1:
            self.invalid(f'expected 1 argument(s) in call to "{function}", got {len(args)}')
        _check(args[0], "matrix", f'call to function "{function}"', self.invalid)
        return Node("call", "vector", name=function, args=(args[0],))

    def arguments(self) -> list[Node]:
        args: list[Node] = []
        while self.peek().text != ")":
            args.append(self.expr())
            if self.peek().text != ")":
                self.take(",")
        self.take(")")
        return args

    def aggregate(self, op: str) -> Node:
        self.take()
        if op in OTHER_AGGREGATIONS:
            self.unsupported("aggregation", op)
        grouping, without = self.grouping()
        self.take("(")
        args = self.arguments()
        if self.keyword() in ("by", "without"):
            if grouping is not None:
                self.invalid("aggregation grouping given twice")
            grouping, without = self.grouping()
        if len(args) != 1:
            self.invalid(
                f"wrong number of arguments for aggregate expression provided, expected 1, got {len(args)}"
            )
        _check(args[0], "vector", "aggregation expression", self.invalid)
        labels = tuple(grouping or ())
        if "__name__" in labels:
            self.unsupported("grouping by __name__ (delayed name removal)")
        return Node(
            "aggregate", "vector", name=op, grouping=labels, without=without, args=(args[0],)
        )

    def grouping(self) -> tuple[list[str] | None, bool]:
        if self.keyword() not in ("by", "without"):
            return None, False
        without = self.take().text.lower() == "without"
        self.take("(")
        labels: list[str] = []
        while self.peek().text != ")":
            token = self.take()
            if token.kind not in ("ident", "string"):
                self.invalid(f"unexpected {token.text!r} in grouping opts, expected label")
            labels.append(unquote(token.text) if token.kind == "string" else token.text)
            if self.peek().text != ")":
                self.take(",")
        self.take(")")
        return labels, without

    def selector(self, name: str) -> Node:
        matchers = [Matcher("__name__", "=", name)] if name else []
        if self.peek().text == "{":
            self.take()
            while self.peek().text != "}":
                matchers.append(self.matcher())
                if self.peek().text != "}":
                    self.take(",")
            self.take("}")
        if name and any(m.label == "__name__" for m in matchers[1:]):
            self.invalid("metric name must not be set twice")
        names = [m for m in matchers if m.label == "__name__" and m.op == "="]
        if not any(not m.matches({}) for m in matchers):
            self.invalid("vector selector must contain at least one non-empty matcher")
        if len(names) != 1:
            self.unsupported("selector without one metric name")
        others = tuple(m for m in matchers if m is not names[0])
        return Node("selector", "vector", name=names[0].value, matchers=others)

    def matcher(self) -> Matcher:
        token = self.take()
        if token.kind == "string" and self.peek().text in (",", "}"):
            return Matcher("__name__", "=", unquote(token.text))  # {"metric.name"}
        if token.kind not in ("ident", "string"):
            self.invalid(f"unexpected {token.text!r} in label matching, expected label")
        label = unquote(token.text) if token.kind == "string" else token.text
        op = self.take().text
        if op in ("=~", "!~"):
            self.unsupported("regex matcher (=~, !~)")
        if op not in ("=", "!="):
            self.invalid(f"unexpected {op!r} in label matching, expected one of =, !=, =~, !~")
        value = self.take()
        if value.kind != "string":
            self.invalid(f"unexpected {value.text!r} in label matching, expected string")
        return Matcher(label, op, unquote(value.text))
