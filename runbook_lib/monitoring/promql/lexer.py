"""PromQL tokens, number literals and durations, read as Prometheus' lexer reads them.

Numbers follow ``promql/parser/lex.go`` (``scanNumber``) and ``parser.number``: decimal with an
optional fraction and exponent (``1``, ``.5``, ``2.``, ``1e3``, ``12.34e+6``), hexadecimal
(``0x1F``), underscores between digits (``1_000``), ``Inf`` and ``NaN`` in any case; Go's
``strconv.ParseInt(s, 0, 64)`` is tried first, so ``010`` is octal 8, as in Prometheus.
Durations follow ``model.ParseDuration`` (``1h30m``, ``5m``, ``100ms``; units in order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbook_lib.monitoring.promql.errors import InvalidPromQL

_INT64_MAX = 2**63 - 1
_NUMBER = re.compile(
    r"0[xX]_?[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*"
    r"|(?:[0-9]+(?:_[0-9]+)*(?:\.(?:[0-9]+(?:_[0-9]+)*)?)?|\.[0-9]+(?:_[0-9]+)*)"
    r"(?:[eE][+-]?[0-9]+(?:_[0-9]+)*)?"
)
_DURATION = re.compile(r"[0-9]+(?:ms|[ywdhms])(?:[0-9]+(?:ms|[ywdhms]))*")
_DURATION_PARTS = re.compile(
    r"^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?"
    r"(?:([0-9]+)ms)?$"
)
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1)
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_OPERATORS = (
    "==", "!=", ">=", "<=", "=~", "!~", "</", ">/", ">", "<", "=", "+", "-", "*", "/", "%", "^",
    "(", ")", "{", "}", "[", "]", ",", ":", "@",
)  # fmt: skip
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPES.update({"\\": "\\", '"': '"', "'": "'"})


@dataclass(frozen=True)
class Token:
    kind: str  # number, duration, string, ident, op, eof
    text: str
    position: int


def parse_number(text: str) -> float:
    """The value of a PromQL number literal (``parser.number``: ParseInt base 0, else ParseFloat)."""
    lowered = text.lower()
    if lowered in ("inf", "+inf"):
        return float("inf")
    if lowered == "-inf":
        return float("-inf")
    if lowered == "nan":
        return float("nan")
    digits = text.replace("_", "")
    if digits[:2] in ("0x", "0X"):
        value = int(digits[2:], 16)
        if value > _INT64_MAX:  # Go's ParseFloat needs a p exponent for hexadecimal
            raise ValueError(f"error parsing number: {text!r} is out of range")
        return float(value)
    if digits.isdigit():
        if len(digits) > 1 and digits[0] == "0" and set(digits) <= set("01234567"):
            return float(int(digits, 8))
        if int(digits) <= _INT64_MAX:
            return float(int(digits))
    number = float(digits)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"error parsing number: {text!r} is out of range")
    return number


def duration_ms(text: str) -> int:
    """Milliseconds of a Prometheus duration (``model.ParseDuration``)."""
    if text == "0":
        return 0
    match = _DURATION_PARTS.match(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"not a valid duration string: {text!r}")
    return sum(int(g) * unit for g, unit in zip(match.groups(), _UNIT_MS, strict=True) if g)


def unquote(literal: str) -> str:
    """A PromQL string literal's value: Go escapes in '...' and "...", none in `...`."""
    quote, body = literal[0], literal[1:-1]
    if quote == "`":
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = body[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[code]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        elif code in "01234567":
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
        else:
            raise ValueError(f"unknown escape sequence \\{code}")
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        if text[i] == "\n" and quote != "`":
            break
        i += 1
    raise ValueError("unterminated quoted string")


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; InvalidPromQL names the first character that is none."""
    tokens: list[Token] = []
    i = depth = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == ":" and depth > 0:  # a subquery's step, not a metric name
            tokens.append(Token("op", ":", i))
            i += 1
            continue
        if char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        try:
            i = _one(text, i, tokens)
        except ValueError as exc:
            raise InvalidPromQL(text, f"{exc} at character {i + 1}") from None
    tokens.append(Token("eof", "", len(text)))
    return tokens


def _one(text: str, i: int, tokens: list[Token]) -> int:
    char = text[i]
    if char in "\"'`":
        end = _string_end(text, i)
        tokens.append(Token("string", text[i:end], i))
        return end
    if char.isdigit() or (char == "." and i + 1 < len(text) and text[i + 1].isdigit()):
        number = _NUMBER.match(text, i)
        end = number.end() if number else i
        if number and (end >= len(text) or not (text[end].isalnum() or text[end] == "_")):
            tokens.append(Token("number", text[i:end], i))
            return end
        duration = _DURATION.match(text, i)
        after = duration.end() if duration else i
        if duration and (after >= len(text) or not (text[after].isalnum() or text[after] == "_")):
            tokens.append(Token("duration", text[i:after], i))
            return after
        raise ValueError(f"bad number or duration syntax {text[i : max(end, after) + 1]!r}")
    ident = _IDENT.match(text, i)
    if ident:
        tokens.append(Token("ident", ident.group(0), i))
        return ident.end()
    for op in _OPERATORS:
        if text.startswith(op, i):
            tokens.append(Token("op", op, i))
            return i + len(op)
    raise ValueError(f"unexpected character {char!r}")
