from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbook_lib.guide.units import (
    Quantity,
    compare,
    format_seconds,
    parse_duration,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("< 15 minutes", Quantity("<", 15, "min")),
        ("Immediate response (< 15 minutes)", Quantity("<", 15, "min")),
        ("1 hour", Quantity(None, 1, "h")),
        ("Response within 24 hours", Quantity(None, 24, "h")),
        ("2 seconds", Quantity(None, 2, "s")),
        ("> 10s", Quantity(">", 10, "s")),
        ("< 500ms average", Quantity("<", 500, "ms")),
        ("99.9% target", Quantity(None, 99.9, "%")),
        ("Function error rate > 5%", Quantity(">", 5, "%")),
        ("Technical debrief within 24h", Quantity(None, 24, "h")),
        ("Full review within 1 week", Quantity(None, 1, "week")),
        ("Implementation within 2 weeks", Quantity(None, 2, "week")),
        (">= 99.9%", Quantity(">=", 99.9, "%")),
    ],
)
def test_guide_phrases(text: str, expected: Quantity) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15 minutes", 900),
        ("1 hour", 3600),
        ("4 hours", 14400),
        ("500ms", 0.5),
        ("1 week", 604800),
        ("24h", 86400),
    ],
)
def test_durations_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "fast response", "2 teams"])
def test_text_without_a_quantity_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="no quantity"):
        parse_quantity(text)


def test_a_percentage_is_not_a_duration() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("99.9%")


UNITS = ["ms", "s", "min", "h", "d", "week", "%", ""]


@given(
    comparator=st.sampled_from([None, "<", "<=", ">", ">="]),
    value=st.decimals(min_value=0, max_value=100000, places=2).map(float),
    unit=st.sampled_from(UNITS),
)
def test_str_round_trips(comparator: str | None, value: float, unit: str) -> None:
    quantity = Quantity(comparator, value, unit)  # type: ignore[arg-type]
    assert parse_quantity(str(quantity)) == quantity


@given(
    value=st.floats(allow_nan=False, allow_infinity=False),
    threshold=st.floats(allow_nan=False, allow_infinity=False),
)
def test_strict_and_inclusive_comparators_differ_only_at_equality(
    value: float, threshold: float
) -> None:
    assert compare(value, "<=", threshold) == (compare(value, "<", threshold) or value == threshold)
    assert compare(value, ">", threshold) == (not compare(value, "<=", threshold))


def test_format_seconds() -> None:
    assert format_seconds(900) == "15 min"
    assert format_seconds(3600) == "1 h"
    assert format_seconds(0.25) == "250 ms"
