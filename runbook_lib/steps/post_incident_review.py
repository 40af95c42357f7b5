"""Steps of features/post_incident_review.feature (guide: Post-Incident Review).

The review documents are written in the feature, apart from the guide; the parts they must have
are read from the guide's Documentation list (tests/test_truth_reviews.py proves each check red
in its broken world).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pytest_bdd import given, parsers, then, when

from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.guide.units import parse_duration
from runbook_lib.procedures import post_incident_review as reviews
from runbook_lib.steps.common import table_rows
from runbook_lib.world.clock import parse_instant


@when(parsers.parse('an incident is resolved on "{instant}"'), target_fixture="resolved_at")
def resolved(instant: str) -> datetime:
    return parse_instant(instant)


@then("the review steps are due:")
def steps_due(
    guide: Guide, resolved_at: datetime, evidence: ScenarioEvidence, datatable: list[list[str]]
) -> None:
    plan = {step.name: step for step in reviews.review_plan(guide, resolved_at)}
    for row in table_rows(datatable):
        due = plan[row["step"]].due
        evidence.check(
            f"{row['step']} due, seconds after resolution",
            (due - resolved_at).total_seconds(),
            "==",
            (parse_instant(row["due"]) - resolved_at).total_seconds(),
            "s",
        )


@when(parsers.parse("the technical debrief is held {delay} after"), target_fixture="debrief_at")
def debrief(resolved_at: datetime, delay: str) -> datetime:
    return resolved_at + timedelta(seconds=parse_duration(delay))


@then(parsers.parse('{count:d} review steps are flagged as overdue on "{now}"'))
def overdue(
    guide: Guide,
    resolved_at: datetime,
    debrief_at: datetime,
    evidence: ScenarioEvidence,
    count: int,
    now: str,
) -> None:
    first = guide.post_incident_review[0].name
    plan = reviews.review_plan(guide, resolved_at, {first: debrief_at})
    flagged = reviews.overdue_steps(plan, parse_instant(now))
    evidence.check("overdue review steps", len(flagged), "==", count, detail="; ".join(flagged))


@given("a review document:", target_fixture="review_document")
def review_document(docstring: str) -> str:
    return docstring


@then("the review document has every part the guide's Documentation list requires")
def complete_document(guide: Guide, review_document: str, evidence: ScenarioEvidence) -> None:
    """Red: the guide requires a part the document lacks (a guide with a sixth Documentation
    item), or a check that reads its parts from anywhere but the guide."""
    evidence.measure("parts the guide requires", len(guide.review_documentation))
    missing = reviews.missing_parts(guide, review_document)
    evidence.check("missing parts", len(missing), "==", 0, detail=", ".join(missing))


@then(parsers.parse('the review document is reported missing "{expected}"'))
def incomplete_document(
    guide: Guide, review_document: str, evidence: ScenarioEvidence, expected: str
) -> None:
    """Red: a check that finds nothing missing, or reports a part the document has (one whose
    name its text contains, e.g. a check that matches headings case-sensitively)."""
    missing = reviews.missing_parts(guide, review_document)
    evidence.check_true(f"reported missing {expected!r}", expected in missing, ", ".join(missing))
    present = [part for part in missing if part.lower() in review_document.lower()]
    evidence.check(
        "parts reported missing that the document has",
        len(present),
        "==",
        0,
        "",
        ", ".join(present),
    )
