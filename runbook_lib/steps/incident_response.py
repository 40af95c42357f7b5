"""Steps of features/incident_response.feature (guide: Incident Response, Escalation Matrix,
Emergency Contacts, Communication Channels, Security Incident Response)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide, SeverityLevel
from runbook_lib.guide.units import parse_duration
from runbook_lib.procedures.incident_response import incidents
from runbook_lib.procedures.incident_response.communications import Notifier
from runbook_lib.procedures.security.response import SecurityResponse, deletion_refused
from runbook_lib.sim.cloud import INCIDENTS_CHANNEL, SimulatedCloud
from runbook_lib.steps.common import Attempt, attempt, comma_list, expect_failure
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def escalation(guide: Guide, cloud: SimulatedCloud) -> incidents.Escalation:
    return incidents.Escalation(guide, cloud.clock)


@when(parsers.parse('an incident is reported with "{facts}"'), target_fixture="severity")
def reported(guide: Guide, facts: str) -> SeverityLevel:
    return incidents.classify(comma_list(facts), guide)


@then(parsers.parse("it is classified {level}"))
def classified(severity: SeverityLevel, evidence: ScenarioEvidence, level: str) -> None:
    evidence.note(f"classified {severity.level} ({severity.name}): {severity.description}")
    if severity.level != level:
        raise ThresholdBreached(
            f"classified {severity.level}, the guide's definitions give {level}"
        )


@given(
    parsers.parse("a {level} incident was opened and its first escalation level paged"),
    target_fixture="incident",
)
def opened(escalation: incidents.Escalation, guide: Guide, level: str) -> incidents.Incident:
    return escalation.open(guide.severity(level))


_OFFSETS = {"1 second before": -1.0, "exactly": 0.0, "1 second after": 1.0}


@when(
    parsers.parse("the clock reaches {offset} the {level} response deadline"),
    converters={"offset": _OFFSETS.__getitem__},
)
def clock_reaches(
    escalation: incidents.Escalation,
    incident: incidents.Incident,
    guide: Guide,
    offset: float,
    level: str,
) -> None:
    """``offset``: seconds from the deadline ("1 second before" is -1)."""
    target = guide.severity(level).response_seconds + offset
    escalation.advance(target - (escalation.clock.now() - incident.opened_at).total_seconds())


@when(parsers.parse("{duration} passes without acknowledgement"))
@when(parsers.parse("{duration} pass without acknowledgement"))
@when(parsers.parse("{duration} passes"))
def time_passes(escalation: incidents.Escalation, duration: str) -> None:
    escalation.advance(parse_duration(duration))


@when(parsers.parse("the incident is upgraded to {level}"))
def upgraded(
    escalation: incidents.Escalation, incident: incidents.Incident, guide: Guide, level: str
) -> None:
    escalation.change_severity(incident.id, guide.severity(level))


@when("the incident is acknowledged")
def acknowledged(escalation: incidents.Escalation, incident: incidents.Incident) -> None:
    escalation.acknowledge(incident.id)


@then(parsers.parse("{count:d} escalation levels have been paged"))
def pages_count(incident: incidents.Incident, evidence: ScenarioEvidence, count: int) -> None:
    for page in incident.pages:
        evidence.measure(
            f"paged {page.role} after", (page.at - incident.opened_at).total_seconds(), "s"
        )
    evidence.check("escalation levels paged", len(incident.pages), "==", count)


@then(parsers.parse('the pages went to "{roles}" in that order'))
def pages_order(incident: incidents.Incident, roles: str) -> None:
    paged = [p.role for p in incident.pages]
    if paged != comma_list(roles):
        raise ThresholdBreached(f"paged {paged}, expected {comma_list(roles)}")


@then("each page came one P0 response deadline after the previous one")
def pages_spaced(incident: incidents.Incident, evidence: ScenarioEvidence) -> None:
    for earlier, later in zip(incident.pages, incident.pages[1:], strict=False):
        evidence.check(
            f"{later.role} paged after {earlier.role}",
            (later.at - earlier.at).total_seconds(),
            "==",
            incident.severity.response_seconds,
            "s",
        )


@then(parsers.parse('the {role} was paged at "{contact}"'))
def paged_contact(incident: incidents.Incident, role: str, contact: str) -> None:
    page = next(p for p in incident.pages if p.role == role)
    if page.contact != contact:
        raise ThresholdBreached(
            f"{role} was paged at {page.contact!r}, the guide lists {contact!r}"
        )


@then("every escalation level has a contact in a valid format")
def contacts_valid(guide: Guide, evidence: ScenarioEvidence) -> None:
    problems = [p for p in incidents.contact_problems(guide) if p.startswith("escalation level")]
    evidence.measure(
        "escalation levels without a contact", len(problems), comparator="==", threshold=0
    )
    if problems:
        findings.confirm(evidence, "GUIDE-CONTACT-MISSING", "; ".join(problems))


@then("every external service support contact is a valid email address")
def services_valid(guide: Guide, evidence: ScenarioEvidence) -> None:
    problems = [p for p in incidents.contact_problems(guide) if "email" in p]
    evidence.measure("external services", len(guide.statements_in("External Services")))
    evidence.check("invalid support contacts", len(problems), "==", 0, detail="; ".join(problems))


@when(
    parsers.re(r"the incident is announced (?P<external>with|without) external impact"),
    converters={"external": {"with": True, "without": False}.__getitem__},
    target_fixture="notifier",
)
def announced(
    guide: Guide,
    cloud: SimulatedCloud,
    incident: incidents.Incident,
    external: bool,
    http_client: httpx.Client,
) -> Notifier:
    notifier = Notifier(guide, cloud.channels(), cloud.clock, http_client)
    notifier.announce(incident, external_impact=external)
    return notifier


@then("Slack #incidents received a message naming the severity, the incident and its status")
def slack_message(
    cloud: SimulatedCloud, incident: incidents.Incident, evidence: ScenarioEvidence
) -> None:
    messages = cloud.slack.in_channel(INCIDENTS_CHANNEL)
    evidence.check("messages in #incidents", len(messages), "==", 1)
    text = messages[0]["text"]
    for part in (incident.severity.level, incident.id, "investigating"):
        evidence.check_true(f"#incidents message names {part!r}", part in text)


@then(parsers.parse('the status page shows the incident as "{status}"'))
def status_page(
    cloud: SimulatedCloud, incident: incidents.Incident, evidence: ScenarioEvidence, status: str
) -> None:
    shown = [i for i in cloud.statuspage.incidents.values() if incident.id in i.name]
    evidence.check("status page incidents", len(shown), "==", 1)
    if shown[0].status != status:
        raise ThresholdBreached(f"the status page shows {shown[0].status!r}, not {status!r}")


@then("the status page shows no incident")
def no_status_page(cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    evidence.check("status page incidents", len(cloud.statuspage.incidents), "==", 0)


@then("customers and stakeholders were emailed")
def emailed(cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    recipients = {
        to["email"]
        for mail in cloud.sendgrid.sent
        for p in mail["personalizations"]
        for to in p["to"]
    }
    evidence.check_true("customer addresses emailed", "customers@napoleon.ai" in recipients)
    evidence.check_true("stakeholder addresses emailed", "board@napoleon.ai" in recipients)


@then("nobody was emailed")
def not_emailed(cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    evidence.check("emails sent", len(cloud.sendgrid.sent), "==", 0)


@then("no message carries a credential")
def no_credentials(cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    payloads = json.dumps(
        [
            cloud.slack.messages,
            cloud.sendgrid.sent,
            [i.body for i in cloud.statuspage.incidents.values()],
        ]
    )
    leaked = [name for name, value in vars(cloud.credentials).items() if value in payloads]
    evidence.check(
        "credentials found in message payloads", len(leaked), "==", 0, detail=", ".join(leaked)
    )
    masked = cloud.redactor.text(payloads)  # the session's secrets, in a drill
    evidence.check_true("payload unchanged by redaction", masked == payloads)


@when(
    "the security team preserves evidence from the database and the logs", target_fixture="response"
)
def preserve(
    guide: Guide, s3: S3Client, drill_server: PostgresServer, database: str, workdir: Path
) -> SecurityResponse:
    response = SecurityResponse(guide)
    response.preserve_evidence(
        s3,
        drill_server,
        database,
        {"app.log": b"GET /api/emails 200\nPOST /login 401\n"},
        workdir,
        datetime.now(UTC),
    )
    return response


@when("the security phases run in the guide's order")
def run_phases(response: SecurityResponse) -> None:
    for phase in response.phases:
        response.complete(phase.name)


@then("every phase of the guide was completed in order")
def phases_done(response: SecurityResponse, evidence: ScenarioEvidence) -> None:
    expected = [p.name for p in response.phases]
    evidence.check("security phases completed", len(response.completed), "==", len(expected))
    if response.completed != expected:
        raise ThresholdBreached(f"phases ran as {response.completed}, the guide orders {expected}")


@then("the preserved evidence cannot be deleted before its retention date")
def evidence_locked(response: SecurityResponse, s3: S3Client, evidence: ScenarioEvidence) -> None:
    refused = sum(deletion_refused(s3, item) for item in response.evidence)
    evidence.measure("evidence objects preserved", len(response.evidence))
    evidence.check(
        "evidence objects whose deletion was refused", refused, "==", len(response.evidence)
    )


@when("the security team tries to remediate without preserving evidence", target_fixture="refusal")
def remediate_early(guide: Guide) -> Attempt:
    response = SecurityResponse(guide)

    def complete_every_phase() -> None:
        for phase in response.phases:
            response.complete(phase.name)

    return attempt(complete_every_phase)


@then(parsers.parse('the response is refused with "{words}"'))
def refused(refusal: Attempt, evidence: ScenarioEvidence, words: str) -> None:
    expect_failure(refusal, evidence, words)
