"""Steps of features/maintenance_windows.feature (guide: Maintenance Windows).

Notices are checked as Slack, the status page and SendGrid received them, on the virtual clock,
against the guide's channel and lead time; each check's docstring names the broken world that
turns it red (tests/test_truth_maintenance.py proves each one).
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from pytest_bdd import parsers, then, when

from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.guide.units import parse_duration
from runbook_lib.procedures import maintenance_windows as maintenance
from runbook_lib.procedures.incident_response.communications import (
    Channels,
    Notifier,
    maintenance_channel,
)
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.notify import with_mailing_lists
from runbook_lib.world.clock import parse_instant

# the finding a cadence's line reports when it leaves out its day, time or zone
UNSTATED = {"monthly": "GUIDE-MONTHLY-UNTIMED", "quarterly": "GUIDE-QUARTERLY-UNSCHEDULED"}


@pytest.fixture
def notice_channels(cloud: SimulatedCloud) -> Channels:
    return with_mailing_lists(cloud.channels())


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


@then(parsers.parse('the next monthly window after "{after}" falls on "{day}"'))
def next_monthly(guide: Guide, evidence: ScenarioEvidence, after: str, day: str) -> None:
    """The day only: the guide gives the monthly window no time of its own (its scenario
    reports that). Red: a schedule that puts it on another day than the guide's."""
    window = maintenance.Schedule.from_guide(guide).next_of_kind(parse_instant(after), "Monthly")
    monthly = next(w for w in guide.maintenance_windows if w.cadence == "Monthly")
    if maintenance.unstated(monthly):
        evidence.note(f"only the day is checked: '{monthly.text}' gives no time of its own")
    evidence.check_true(
        "next monthly window on the expected day",
        f"{window.start:%Y-%m-%d}" == day,
        detail=f"{window.start:%Y-%m-%d %H:%M %Z}",
    )


@then(parsers.re(r"the guide's (?P<cadence>monthly|quarterly) window names its day and time"))
def cadence_stated(guide: Guide, evidence: ScenarioEvidence, cadence: str) -> None:
    """Red (its finding, UNSTATED): the cadence's line leaves out its day, hours or time zone;
    a guide that states all three passes (tests/test_fixed_guides.py)."""
    window = next(w for w in guide.maintenance_windows if w.cadence.lower() == cadence)
    missing = maintenance.unstated(window)
    evidence.measure(f"parts the {cadence} window leaves out", len(missing), "", "==", 0)
    if missing:
        findings.confirm(
            evidence,
            UNSTATED[cadence],
            f"{window.cadence}: '{window.text}' (line {window.line}) names no "
            + " and no ".join(missing),
        )


@when(
    parsers.re(
        r'the maintenance notices for (?P<major>a major|a routine) change in the next window after "(?P<after>[^"]+)" go out'
    ),
    converters={"major": {"a major": True, "a routine": False}.__getitem__},
    target_fixture="window",
)
def notices(
    guide: Guide,
    cloud: SimulatedCloud,
    notice_channels: Channels,
    major: bool,
    after: str,
    http_client: httpx.Client,
) -> maintenance.Window:
    """From ``after`` on, the procedure itself waits for the time to send."""
    cloud.clock.set(parse_instant(after))
    window = maintenance.Schedule.from_guide(guide).window_at_or_after(parse_instant(after))
    notifier = Notifier(guide, notice_channels, cloud.clock, http_client)
    maintenance.send_notices(notifier, window, major_change=major)
    return window


@then("the guide's Slack channel got the notice the guide's lead time before the window starts")
def slack_notified(
    guide: Guide, cloud: SimulatedCloud, window: maintenance.Window, evidence: ScenarioEvidence
) -> None:
    """From the notice's arrival in the channel to the window's start, against the guide's
    Internal line (read here, not through the procedure's parser). Red: notices sent at once
    (days early) or late, a hard-coded 24h when the guide says 48h, a hard-coded channel when
    the guide names another, or no notice."""
    channel = maintenance_channel(guide)
    received = cloud.slack.received_in(channel)
    evidence.check(f"maintenance notices in {channel}", len(received), "==", 1)
    internal = [n.text for n in guide.maintenance_notices if n.label == "Internal"]
    evidence.check(
        "notice lead time",
        (window.start - received[0].at).total_seconds(),
        "==",
        parse_duration(internal[0]),
        "s",
        detail=f"the guide: '{internal[0]}'",
    )


@then("the status page lists the window as scheduled maintenance before it starts")
def status_scheduled(
    cloud: SimulatedCloud, window: maintenance.Window, evidence: ScenarioEvidence
) -> None:
    """Red: no scheduled maintenance, one for other times than the window, or one posted
    after the window began."""
    scheduled = [i for i in cloud.statuspage.incidents.values() if i.status == "scheduled"]
    evidence.check("scheduled maintenances on the status page", len(scheduled), "==", 1)
    shown = (scheduled[0].scheduled_for or "", scheduled[0].scheduled_until or "")
    evidence.check_true(
        "scheduled for the window's start and end",
        tuple(map(datetime.fromisoformat, shown)) == (window.start, window.end),
        detail=" to ".join(shown),
    )
    posted = cloud.statuspage.deliveries[0].at
    evidence.check("posted before the window", (window.start - posted).total_seconds(), ">", 0, "s")


@then(
    parsers.re(r"users were (?P<emails>emailed|not emailed) about the window before it starts"),
    converters={"emails": {"emailed": 1, "not emailed": 0}.__getitem__},
)
def users_emailed(
    cloud: SimulatedCloud,
    notice_channels: Channels,
    window: maintenance.Window,
    evidence: ScenarioEvidence,
    emails: int,
) -> None:
    """As SendGrid received them, to the configured user list. Red: users mailed of a routine
    change, not mailed of a major one, mailed at a hard-coded address, or after the start."""
    mails = cloud.sendgrid.received_by(notice_channels.customers)
    evidence.check("maintenance emails to the user list", len(mails), "==", emails)
    for mail in mails:
        evidence.check(
            "emailed before the window", (window.start - mail.at).total_seconds(), ">", 0, "s"
        )
