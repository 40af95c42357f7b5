"""Steps of features/post_incident_review.feature (guide: Post-Incident Review)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pytest_bdd import parsers, then, when

from runbook_lib.errors import ThresholdBreached
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


def _document(parts: list[str]) -> str:
    return "# Review of INC-0001\n\n" + "".join(f"## {part}\n\nWritten up.\n\n" for part in parts)


@then("a review document with the guide's five required parts is complete")
def complete_document(guide: Guide, evidence: ScenarioEvidence) -> None:
    evidence.check("required parts in the guide", len(guide.review_documentation), "==", 5)
    missing = reviews.missing_parts(guide, _document(list(guide.review_documentation)))
    evidence.check("missing parts", len(missing), "==", 0, detail=", ".join(missing))


@then(parsers.parse('a review document without "{part}" is reported missing "{expected}"'))
def incomplete_document(guide: Guide, evidence: ScenarioEvidence, part: str, expected: str) -> None:
    missing = reviews.missing_parts(
        guide, _document([p for p in guide.review_documentation if p != part])
    )
    if missing != [expected]:
        raise ThresholdBreached(f"reported missing {missing}, expected [{expected!r}]")
    evidence.measure("missing parts", len(missing))
