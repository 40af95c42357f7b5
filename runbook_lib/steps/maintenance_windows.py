"""Steps of features/maintenance_windows.feature (guide: Maintenance Windows)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from pytest_bdd import parsers, then, when

from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures import maintenance_windows as maintenance
from runbook_lib.procedures.incident_response.communications import Notifier
from runbook_lib.sim.cloud import INCIDENTS_CHANNEL, SimulatedCloud
from runbook_lib.world.clock import parse_instant


@then(
    parsers.re(r'"(?P<instant>[^"]+)" is (?P<expected>inside|outside) a maintenance window'),
    converters={"expected": {"inside": 1, "outside": 0}.__getitem__},
)
def in_window(guide: Guide, evidence: ScenarioEvidence, instant: str, expected: int) -> None:
    """``expected``: 1 when the scenario says inside, 0 when it says outside."""
    inside = maintenance.Schedule.from_guide(guide).in_window(parse_instant(instant))
    evidence.check(f"{instant} inside a window", int(inside), "==", expected)


@then(
    parsers.parse(
        'the next window after "{after}" starts "{utc}" and a viewer in "{zone}" sees it start "{local}"'
    )
)
def next_window(
    guide: Guide, evidence: ScenarioEvidence, after: str, utc: str, zone: str, local: str
) -> None:
    window = maintenance.Schedule.from_guide(guide).window_at_or_after(parse_instant(after))
    evidence.check_true(
        "window start (UTC) as expected",
        window.start == parse_instant(utc),
        detail=f"{window.start:%Y-%m-%d %H:%M:%S %Z}",
    )
    shown = f"{window.local(zone)[0]:%Y-%m-%d %H:%M:%S %Z}"
    if shown != local:
        raise ThresholdBreached(f"a viewer in {zone} sees {shown}, expected {local}")


@then(
    parsers.re(
        r'the next (?P<kind>monthly|quarterly) window after "(?P<after>[^"]+)" starts "(?P<start>[^"]+)"'
    )
)
def next_of_kind(
    guide: Guide, evidence: ScenarioEvidence, kind: str, after: str, start: str
) -> None:
    window = maintenance.Schedule.from_guide(guide).next_of_kind(
        parse_instant(after), kind.capitalize()
    )
    evidence.check_true(
        f"next {kind} window as expected",
        window.start == parse_instant(start),
        detail=f"{window.start:%Y-%m-%d %H:%M %Z}",
    )


@then("every maintenance cadence of the guide names its day and time")
def cadences_scheduled(guide: Guide, evidence: ScenarioEvidence) -> None:
    vague = [w for w in guide.maintenance_windows if w.weekday is None]
    evidence.measure("cadences without a day", len(vague), comparator="==", threshold=0)
    if vague:
        findings.confirm(
            evidence,
            "GUIDE-QUARTERLY-UNSCHEDULED",
            "; ".join(f"{w.cadence}: '{w.text}' (line {w.line})" for w in vague),
        )


@when(
    parsers.re(
        r'the maintenance notices for (?P<major>a major|a routine) change in the next window after "(?P<after>[^"]+)" go out'
    ),
    converters={"major": {"a major": True, "a routine": False}.__getitem__},
    target_fixture="window",
)
def notices(
    guide: Guide, cloud: SimulatedCloud, major: bool, after: str, http_client: httpx.Client
) -> maintenance.Window:
    window = maintenance.Schedule.from_guide(guide).window_at_or_after(parse_instant(after))
    cloud.clock.set(window.start - timedelta(seconds=maintenance.notice_lead_seconds(guide)))
    notifier = Notifier(guide, cloud.channels(), cloud.clock, http_client)
    maintenance.send_notices(notifier, window, major_change=major)
    return window


@then(parsers.parse("Slack #incidents was notified {hours:d} hours before the window starts"))
def slack_notified(
    cloud: SimulatedCloud, window: maintenance.Window, evidence: ScenarioEvidence, hours: int
) -> None:
    evidence.check(
        "maintenance notices in #incidents", len(cloud.slack.in_channel(INCIDENTS_CHANNEL)), "==", 1
    )
    evidence.check(
        "notice lead time",
        (window.start - cloud.clock.now()).total_seconds(),
        "==",
        hours * 3600,
        "s",
    )


@then("the status page lists the window as scheduled maintenance")
def status_scheduled(cloud: SimulatedCloud, evidence: ScenarioEvidence) -> None:
    scheduled = [i for i in cloud.statuspage.incidents.values() if i.status == "scheduled"]
    evidence.check("scheduled maintenances on the status page", len(scheduled), "==", 1)


@then(
    parsers.re(r"users were (?P<emails>emailed|not emailed) about the window"),
    converters={"emails": {"emailed": 1, "not emailed": 0}.__getitem__},
)
def users_emailed(cloud: SimulatedCloud, evidence: ScenarioEvidence, emails: int) -> None:
    evidence.check("maintenance emails", len(cloud.sendgrid.sent), "==", emails)
