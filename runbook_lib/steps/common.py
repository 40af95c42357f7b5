"""Phrases shared by every feature, and small helpers for step arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_bdd import given, parsers

from runbook_lib.errors import RunbookError, ThresholdBreached
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.backup_recovery.backup import DatabaseBackup, StoredBackup
from runbook_lib.procedures.backup_recovery.verify import Fingerprint


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


__all__ = [
    "Attempt",
    "PreparedBackup",
    "attempt",
    "comma_list",
    "expect_failure",
    "parsers",
    "table_rows",
]


@given("a seeded production database", target_fixture="database")
def seeded_production_database(production_db: str) -> str:
    return production_db


@dataclass(frozen=True)
class PreparedBackup:
    """A backup a Given step made of the scenario's database (the ``prepared`` fixture), with
    the fingerprint of its source; shared by the backup and the recovery-objective features."""

    source: Fingerprint
    backup: DatabaseBackup
    stored: StoredBackup | None = None


@dataclass(frozen=True)
class Attempt:
    """What a When step did: its value, or the expected failure it raised."""

    value: Any = None
    error: RunbookError | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def attempt(action: Callable[[], Any]) -> Attempt:
    """Run a procedure; keep a RunbookError for the Then steps instead of failing the When."""
    try:
        return Attempt(value=action())
    except RunbookError as exc:
        return Attempt(error=exc)


def expect_failure(outcome: Attempt, evidence: ScenarioEvidence, words: str) -> RunbookError:
    """The procedure must have failed, and its message must say ``words``."""
    if outcome.error is None:
        raise ThresholdBreached(
            f"the procedure succeeded, but it should have failed with {words!r}"
        )
    message = str(outcome.error)
    evidence.note(f"failed as expected: {message}")
    if words.lower() not in message.lower():
        raise ThresholdBreached(
            f"the procedure failed, but not with {words!r}: {message}"
        ) from outcome.error
    return outcome.error
