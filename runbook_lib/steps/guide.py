"""Steps of features/guide.feature: the guide states what the drills rely on."""

from __future__ import annotations

from pytest_bdd import parsers, then

from runbook_lib.drill.options import DrillOptions
from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide import checks as guide_checks
from runbook_lib.guide import drift
from runbook_lib.guide.model import Guide
from runbook_lib.guide.units import parse_duration, parse_quantity
from runbook_lib.steps.common import comma_list, table_rows


@then("the guide states these recovery objectives:")
def recovery_objectives(
    guide: Guide, evidence: ScenarioEvidence, datatable: list[list[str]]
) -> None:
    for row in table_rows(datatable):
        stated = guide.objective(row["component"])
        for column, seconds in (("RTO", stated.rto_seconds), ("RPO", stated.rpo_seconds)):
            quoted = parse_duration(row[column])
            evidence.check(f"{row['component']} {column} in the guide", seconds, "==", quoted, "s")
    evidence.check(
        "components with objectives", len(guide.recovery_objectives), "==", len(datatable) - 1
    )


@then("the guide states these response times:")
def response_times(guide: Guide, evidence: ScenarioEvidence, datatable: list[list[str]]) -> None:
    for row in table_rows(datatable):
        evidence.check(
            f"{row['level']} response time",
            guide.severity(row["level"]).response_seconds,
            "==",
            parse_duration(row["response"]),
            "s",
        )
    evidence.check("severity levels", len(guide.severity_levels), "==", len(datatable) - 1)


@then("no severity level gets a slower response than a less severe one")
def response_times_ordered(guide: Guide, evidence: ScenarioEvidence) -> None:
    _none_of(evidence, "response time inversions", guide_checks.response_time_inversions(guide))


@then(parsers.parse('the escalation ladder is "{roles}"'))
def escalation_ladder(guide: Guide, evidence: ScenarioEvidence, roles: str) -> None:
    stated = [r.role for r in guide.escalation]
    if stated != comma_list(roles):
        raise ThresholdBreached(
            f"the guide's escalation matrix is {stated}, not {comma_list(roles)}"
        )
    evidence.measure("escalation levels", len(stated))


@then("the escalation matrix and the escalation procedures agree level by level")
def escalation_agrees(guide: Guide, evidence: ScenarioEvidence) -> None:
    _none_of(evidence, "escalation mismatches", guide_checks.escalation_mismatches(guide))


@then("the guide states these key metric targets:")
def key_metric_targets(
    guide: Guide, evidence: ScenarioEvidence, datatable: list[list[str]]
) -> None:
    stated = {m.metric: m for m in guide.key_metrics}
    for row in table_rows(datatable):
        expected, metric = parse_quantity(row["target"]), stated[row["metric"]]
        evidence.check_true(
            f"{row['metric']} target matches the guide",
            drift.states_exactly(metric, expected),
            detail=f"guide: {metric.comparator} {metric.threshold}{metric.unit}; feature: {expected}",
        )
    evidence.check("key metrics", len(guide.key_metrics), "==", len(datatable) - 1)


@then(parsers.parse('the alerting rules come from the sources "{sources}"'))
def alert_sources(guide: Guide, evidence: ScenarioEvidence, sources: str) -> None:
    stated = list(dict.fromkeys(r.source for r in guide.alert_rules))
    if stated != comma_list(sources):
        raise ThresholdBreached(
            f"the guide's alert sources are {stated}, not {comma_list(sources)}"
        )
    evidence.measure("alerting rules", len(guide.alert_rules))


@then("the guide states these alert thresholds:")
def alert_thresholds(guide: Guide, evidence: ScenarioEvidence, datatable: list[list[str]]) -> None:
    stated = {r.metric: r for r in guide.alert_rules}
    for row in table_rows(datatable):
        expected, rule = parse_quantity(row["threshold"]), stated[row["rule"]]
        evidence.check_true(
            f"{row['rule']} threshold matches the guide",
            drift.states_exactly(rule, expected),
            detail=f"guide: {rule.text}; feature: {expected}",
        )


@then(parsers.parse('the backup commands run "{programs}"'))
def backup_commands(guide: Guide, evidence: ScenarioEvidence, programs: str) -> None:
    _run(evidence, "backup commands", [c.text for c in guide.backup_commands], programs)


@then(parsers.parse('the recovery commands run "{programs}"'))
def recovery_commands(guide: Guide, evidence: ScenarioEvidence, programs: str) -> None:
    _run(evidence, "recovery commands", [c.text for c in guide.recovery_commands], programs)


@then(parsers.parse('the rollback commands run "{programs}"'))
def rollback_commands(guide: Guide, evidence: ScenarioEvidence, programs: str) -> None:
    _run(evidence, "rollback commands", [c.text for c in guide.rollback_commands], programs)


@then(parsers.parse('the deployment steps run "{programs}" in order'))
def deployment_steps(guide: Guide, evidence: ScenarioEvidence, programs: str) -> None:
    _run(evidence, "deployment steps", [s.command for s in guide.deployment_steps], programs)


def _run(evidence: ScenarioEvidence, what: str, commands: list[str], programs: str) -> None:
    """The guide's ``what`` run exactly ``programs`` (the first word of each command), in order."""
    stated = [command.split()[0] for command in commands]
    if stated != comma_list(programs):
        raise ThresholdBreached(f"the guide's {what} run {stated}, not {comma_list(programs)}")
    evidence.measure(what, len(stated))


@then(parsers.parse('the review deadlines are "{deadlines}"'))
def review_deadlines(guide: Guide, evidence: ScenarioEvidence, deadlines: str) -> None:
    expected = [parse_duration(d) for d in comma_list(deadlines)]
    stated = [d.seconds for d in guide.post_incident_review]
    evidence.check(
        "review deadlines matching the guide",
        sum(a == b for a, b in zip(stated, expected, strict=False)),
        "==",
        len(expected),
        detail=f"guide: {[d.text for d in guide.post_incident_review]}",
    )


@then("no review step is due after the step that follows it")
def review_deadlines_ordered(guide: Guide, evidence: ScenarioEvidence) -> None:
    _none_of(evidence, "review deadline inversions", guide_checks.review_deadline_inversions(guide))


@then("every table of contents link leads to a heading")
def toc_links(guide: Guide, evidence: ScenarioEvidence) -> None:
    _none_of(evidence, "broken table of contents links", guide_checks.broken_toc_links(guide))


@then("every top-level section is listed in the table of contents")
def toc_complete(guide: Guide, evidence: ScenarioEvidence) -> None:
    missing = guide_checks.sections_missing_from_toc(guide)
    evidence.measure("sections missing from the table of contents", len(missing), "", "==", 0)
    if missing:
        findings.confirm(evidence, "GUIDE-TOC-INCOMPLETE", "not listed: " + ", ".join(missing))


def _none_of(evidence: ScenarioEvidence, what: str, problems: list[str]) -> None:
    evidence.check(what, len(problems), "==", 0, detail="; ".join(problems))


@then("no feature file quotes a figure that differs from the guide")
def no_drift(guide: Guide, drill_options: DrillOptions, evidence: ScenarioEvidence) -> None:
    found = drift.find_drift(guide, drill_options.features)
    evidence.check(
        "figures quoted differently from the guide",
        len(found),
        "==",
        0,
        detail="; ".join(map(str, found)),
    )
