"""Phrases shared by every feature, and small helpers for step arguments."""

from __future__ import annotations

from pytest_bdd import given, parsers

from runbook_lib.evidence import ScenarioEvidence
from runbook_lib.guide import Guide


def comma_list(text: str) -> list[str]:
    """ "a, b, c" -> ["a", "b", "c"] (the way steps write lists inline)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def table_rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    """A Gherkin data table as dicts keyed by its header row."""
    header, *rows = datatable
    return [dict(zip(header, row, strict=True)) for row in rows]


@given("the operations guide")
def the_operations_guide(guide: Guide, evidence: ScenarioEvidence) -> None:
    evidence.note(f"guide {guide.path} sha256 {guide.sha256}")


__all__ = ["comma_list", "parsers", "table_rows"]


@given("a seeded production database", target_fixture="database")
def seeded_production_database(production_db: str) -> str:
    return production_db
