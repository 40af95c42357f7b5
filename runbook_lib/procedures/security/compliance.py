"""Compliance statements (guide: Security Procedures > Compliance) mapped to their evidence.

A scenario evidences a statement with a ``@compliance:<NAME>`` tag (spaces become hyphens:
``@compliance:SOC-2``). A statement with no scenario is reported as uncovered, unless it is
listed here as not applicable, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.guide.features import read_features, scenarios_by_tag
from runbook_lib.guide.model import Guide
from runbook_lib.world.postgres import PostgresServer

NOT_APPLICABLE = {
    "HIPAA": "the guide scopes it '(if applicable)'; Napoleon AI's schema holds no health data",
}


@dataclass(frozen=True)
class Coverage:
    statement: str
    text: str
    scenarios: tuple[str, ...]
    reason: str  # why it has no scenario, when it has none

    @property
    def covered(self) -> bool:
        return bool(self.scenarios) or bool(self.reason)


def tag_name(label: str) -> str:
    return re.sub(r"\s+", "-", label.strip()).upper()


def coverage(guide: Guide, features: Path) -> list[Coverage]:
    tagged = scenarios_by_tag(read_features(features), "compliance")
    return [
        Coverage(
            s.label,
            s.text,
            tuple(tagged.get(tag_name(s.label), [])),
            "" if tagged.get(tag_name(s.label)) else NOT_APPLICABLE.get(s.label, ""),
        )
        for s in guide.statements_in("Compliance")
    ]


def card_data_columns(conn_rows: list[tuple[str, str]]) -> list[str]:
    """Columns whose names say they hold payment card data (PCI DSS scope)."""
    pattern = re.compile(r"(card|pan|cvv|cvc|ccnum|credit)", re.IGNORECASE)
    return [f"{table}.{column}" for table, column in conn_rows if pattern.search(column)]


def luhn_valid(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, char in enumerate(digits):
        d = int(char)
        if i % 2 == parity:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def card_data_findings(server: PostgresServer, database: str) -> tuple[list[str], list[str]]:
    """(columns named for card data, text values that are valid card numbers) in ``database``."""
    with server.connect(database) as conn:
        columns = [
            (str(t), str(c))
            for t, c in conn.execute(
                """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = 'public'"""
            ).fetchall()
        ]
        text_columns = [
            (str(t), str(c))
            for t, c in conn.execute(
                """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')"""
            ).fetchall()
        ]
        numbers = []
        for table, column in text_columns:
            for (value,) in conn.execute(
                f"SELECT (regexp_matches({column}, '\\m[3-6]\\d{{12,18}}\\M', 'g'))[1] FROM {table}"
            ).fetchall():
                if luhn_valid(str(value)):
                    numbers.append(f"{table}.{column}: ****{str(value)[-4:]}")
    return card_data_columns(columns), numbers
