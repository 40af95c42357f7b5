"""Quantities as the guide writes them: "< 15 minutes", "1 hour", "10s", "500ms", "99.9%".

One small function, :func:`parse_quantity`, turns such a phrase into a typed :class:`Quantity`
(comparator, value, unit as written). Durations also know their length in seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Comparator = Literal["<", "<=", ">", ">=", "=="]

# canonical unit -> seconds per unit (None for units that are not durations)
_UNITS: dict[str, float | None] = {
    "ms": 0.001,
    "s": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "week": 604800.0,
    "%": None,
}
_ALIASES: dict[str, str] = {
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "min",
    "min": "min",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "week": "week",
    "weeks": "week",
    "%": "%",
    "percent": "%",
}
_COMPARATORS: dict[str, Comparator] = {
    "<": "<",
    "<=": "<=",
    "≤": "<=",
    ">": ">",
    ">=": ">=",
    "≥": ">=",
    "=": "==",
    "==": "==",
}
_QUANTITY = re.compile(
    r"(?P<cmp><=|>=|==|[<>=≤≥])?\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>%|[A-Za-z]+)?(?![\w.])"
)


@dataclass(frozen=True)
class Quantity:
    """A number with its unit and, when the text states one, its comparator."""

    comparator: Comparator | None
    value: float
    unit: str  # canonical: ms, s, min, h, d, week, % or "" for a bare number

    @property
    def is_duration(self) -> bool:
        return _UNITS.get(self.unit) is not None

    @property
    def seconds(self) -> float:
        """The duration in seconds; ValueError for a quantity that is not a duration."""
        factor = _UNITS.get(self.unit)
        if factor is None:
            raise ValueError(f"{self} is not a duration")
        return self.value * factor

    def __str__(self) -> str:
        number = f"{self.value:.15g}"
        spacer = "" if self.unit in ("", "%", "ms", "s", "h", "d") else " "
        prefix = f"{self.comparator} " if self.comparator else ""
        return f"{prefix}{number}{spacer}{self.unit}"


def parse_quantity(text: str) -> Quantity:
    """Parse the first quantity in ``text``: "< 15 minutes" -> Quantity("<", 15, "min").

    Words around the quantity ("Immediate response (< 15 minutes)", "99.9% target") are
    allowed; a word right after the number that is not a unit ("2 teams") is an error.

    >>> parse_quantity("Response within 1 hour").seconds
    3600.0
    >>> parse_quantity("< 500ms average")
    Quantity(comparator='<', value=500.0, unit='ms')
    """
    for match in _QUANTITY.finditer(text):
        raw_unit = (match.group("unit") or "").lower()
        if raw_unit and raw_unit not in _ALIASES:
            continue
        comparator = _COMPARATORS[match.group("cmp")] if match.group("cmp") else None
        return Quantity(comparator, float(match.group("value")), _ALIASES.get(raw_unit, ""))
    raise ValueError(
        f"no quantity (a number with a unit such as 15 minutes, 500ms, 1%) in {text!r}"
    )


def parse_duration(text: str) -> float:
    """Seconds in the first duration of ``text`` ("within 24h" -> 86400.0)."""
    quantity = parse_quantity(text)
    if not quantity.is_duration:
        raise ValueError(f"{text!r} states {quantity}, not a duration")
    return quantity.seconds


def compare(value: float, comparator: Comparator, threshold: float) -> bool:
    """``value <comparator> threshold`` exactly as written (no tolerance)."""
    if comparator == "<":
        return value < threshold
    if comparator == "<=":
        return value <= threshold
    if comparator == ">":
        return value > threshold
    if comparator == ">=":
        return value >= threshold
    return value == threshold


def format_seconds(seconds: float) -> str:
    """A duration for people: 900 -> "15 min", 3600 -> "1 h", 0.25 -> "250 ms"."""
    for unit, factor in (("week", 604800.0), ("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= factor and seconds % factor == 0:
            return f"{seconds / factor:g} {unit}"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"
