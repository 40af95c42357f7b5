"""Steps of features/incident_response.feature (guide: Incident Response, Escalation Matrix,
Emergency Contacts, Communication Channels, Security Incident Response).

Pages are checked as the pager rang them and messages as Slack, the status page and SendGrid
received them, each on the virtual clock; channels, roles, numbers and deadlines come from the
guide. Each check's docstring names the broken world that turns it red
(tests/test_truth_incidents.py proves each one).
"""

from __future__ import annotations

import itertools
import json
import re
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
from runbook_lib.procedures.incident_response import communications, incidents
from runbook_lib.procedures.incident_response.communications import Channels, Notifier
from runbook_lib.procedures.security.response import SecurityResponse, deletion_refused
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.notify import PagerFake, with_mailing_lists
from runbook_lib.steps.common import Attempt, attempt, comma_list, expect_failure
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def pager(cloud: SimulatedCloud) -> PagerFake:
    return PagerFake(cloud.clock)


@pytest.fixture
def escalation(guide: Guide, cloud: SimulatedCloud, pager: PagerFake) -> incidents.Escalation:
    return incidents.Escalation(guide, cloud.clock, pager)


@pytest.fixture
def incident_channels(cloud: SimulatedCloud) -> Channels:
    return with_mailing_lists(cloud.channels())


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
def pages_count(
    pager: PagerFake, incident: incidents.Incident, evidence: ScenarioEvidence, count: int
) -> None:
    """Counted as the pager rang them. Red: an escalation that pages a second early (two pages
    at "1 second before") or late (one page at "exactly")."""
    rang = pager.pages_for(incident.id)
    for page in rang:
        evidence.measure(
            f"paged {page.subject} after", (page.at - incident.opened_at).total_seconds(), "s"
        )
    evidence.check("escalation levels paged", len(rang), "==", count)


@then("the pages went to every level of the guide's Escalation Matrix in order")
def pages_order(
    guide: Guide, pager: PagerFake, incident: incidents.Incident, evidence: ScenarioEvidence
) -> None:
    """Red: a ladder that skips, repeats or reorders a level of the guide's matrix."""
    rang = [p.subject for p in pager.pages_for(incident.id)]
    ladder = [r.role for r in guide.escalation]
    evidence.check_true(
        "pages followed the Escalation Matrix", rang == ladder, f"rang {rang}, guide {ladder}"
    )


@then(parsers.parse("each page came one {level} response deadline after the previous one"))
def pages_spaced(
    guide: Guide,
    pager: PagerFake,
    incident: incidents.Incident,
    evidence: ScenarioEvidence,
    level: str,
) -> None:
    """Measured between the pager's rings against the guide's deadline. Red: an escalation that
    pages early or late (or rings every level at once when time jumps)."""
    rang = pager.pages_for(incident.id)
    evidence.check("pages rung", len(rang), ">=", 2)
    for earlier, later in itertools.pairwise(rang):
        evidence.check(
            f"{later.subject} paged after {earlier.subject}",
            (later.at - earlier.at).total_seconds(),
            "==",
            guide.severity(level).response_seconds,
            "s",
        )


@then(parsers.parse('the {role} was paged at the guide\'s "{label}" number'))
def paged_contact(
    guide: Guide,
    pager: PagerFake,
    incident: incidents.Incident,
    evidence: ScenarioEvidence,
    role: str,
    label: str,
) -> None:
    """Red: a page that rings another level's number, or one the guide does not list."""
    numbers = [(s.text,) for s in guide.statements_in("Technical Team") if s.label == label]
    rang = [p.to for p in pager.pages_for(incident.id) if p.subject == role]
    evidence.check_true(
        f"{role} rung at the {label} number", bool(numbers) and rang == numbers[:1], f"{rang}"
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
    incident_channels: Channels,
    incident: incidents.Incident,
    external: bool,
    http_client: httpx.Client,
) -> Notifier:
    notifier = Notifier(guide, incident_channels, cloud.clock, http_client)
    notifier.announce(incident, external_impact=external)
    return notifier


@then(
    "the guide's internal Slack channel received a message naming the severity, the incident "
    "and its status"
)
def slack_message(
    guide: Guide, cloud: SimulatedCloud, incident: incidents.Incident, evidence: ScenarioEvidence
) -> None:
    """Red: a notifier that posts to a hard-coded channel (the guide renamed to
    #ops-incidents), or posts nothing."""
    channel = communications.internal_channel(guide)
    received = cloud.slack.received_in(channel)
    evidence.check(f"messages in {channel}", len(received), "==", 1)
    for part in (incident.severity.level, incident.id, "investigating"):
        evidence.check_true(f"{channel} message names {part!r}", part in received[0].text)


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


@then(
    parsers.re(r"the customer list was (?P<count>emailed|not emailed) about the incident"),
    converters={"count": {"emailed": 1, "not emailed": 0}.__getitem__},
)
def customers_emailed(
    cloud: SimulatedCloud,
    incident_channels: Channels,
    incident: incidents.Incident,
    evidence: ScenarioEvidence,
    count: int,
) -> None:
    """As SendGrid received it, to the configured list. Red: a notifier that skips the email,
    mails a hard-coded address, or mails customers of an internal issue."""
    mails = cloud.sendgrid.received_by(incident_channels.customers)
    evidence.check("emails to the customer list", len(mails), "==", count)
    for mail in mails:
        evidence.check_true("customer email names the incident", incident.id in mail.subject)


@then(parsers.parse("stakeholders were emailed directly as the guide says for {level}"))
def stakeholders_emailed(
    guide: Guide,
    cloud: SimulatedCloud,
    incident_channels: Channels,
    evidence: ScenarioEvidence,
    level: str,
) -> None:
    """One email to the stakeholder list when the guide's Stakeholders line names ``level``
    (read here, not through the notifier's parser), none otherwise. Red: a notifier that drops
    a level the guide names (P1), or keeps P1 once the guide says "P0" only."""
    lines = [
        s.text for s in guide.statements_in("Communication Channels") if s.label == "Stakeholders"
    ]
    named = any(re.search(rf"\b{re.escape(level)}\b", line) for line in lines)
    evidence.check(
        "direct emails to the stakeholder list",
        len(cloud.sendgrid.received_by(incident_channels.stakeholders)),
        "==",
        int(named),
        detail=f"the guide's Stakeholders line {'names' if named else 'does not name'} {level}",
    )


@then(
    parsers.parse(
        "Slack, the status page and email heard of it within the {level} response deadline"
    )
)
def heard_in_time(
    guide: Guide,
    cloud: SimulatedCloud,
    incident: incidents.Incident,
    evidence: ScenarioEvidence,
    level: str,
) -> None:
    """When each service received its first message, on the virtual clock, from the opening.
    Red: a notifier that skips a channel or reaches it after the guide's deadline."""
    received = {
        "Slack": cloud.slack.received_in(communications.internal_channel(guide)),
        "status page": cloud.statuspage.deliveries,
        "email": cloud.sendgrid.deliveries,
    }
    for name, deliveries in received.items():
        evidence.check(f"{name} messages", len(deliveries), ">=", 1)
        evidence.check(
            f"{name} heard after the opening",
            (deliveries[0].at - incident.opened_at).total_seconds(),
            "<=",
            guide.severity(level).response_seconds,
            "s",
        )


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
