"""Every incident-response check turns red in its broken world (issue: truthful evidence).

Each case is a child drill of features/incident_response.feature in a world where the guide was
edited (and the code follows it: green) or a procedure was broken by a mutant (red, with the
check's own words). Unit tests below pin the simulations the checks read: the pager, Slack's
channel addressing, and the virtual-clock times each service records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from runbook_lib.guide.model import load_guide, parse_guide
from runbook_lib.paths import DEFAULT_GUIDE
from runbook_lib.procedures.incident_response.communications import Notifier, internal_channel
from runbook_lib.procedures.incident_response.incidents import Escalation
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.notify import PagerFake, with_mailing_lists
from runbook_lib.world.clock import VirtualClock
from tests.broken_worlds import Case, World, judge

GUIDE = load_guide()
CHANNELS = "reaches_every_channel or stays_internal"
STAKEHOLDERS = "stakeholders_hear_directly"
LADDER = "climbs_every_level"
DEADLINES = "escalates_at_its_response_deadline"

RENAMED_CHANNEL = ("- **Internal**: Slack #incidents", "- **Internal**: Slack #ops-incidents")
P0_ONLY = ("Direct communication for P0/P1", "Direct communication for P0")
RENAMED_LADDER = (
    ("2. **Senior Developer** (Secondary)", "2. **Staff Engineer** (Secondary)"),
    ("- **On-Call**: +1-555-0123", "- **On-Call**: +1-555-0199"),
)

NOTIFIER = "from runbook_lib.procedures.incident_response.communications import Channels, Message, Notifier\n"
ESCALATION = (
    "import dataclasses\nfrom datetime import timedelta\n"
    "from runbook_lib.procedures.incident_response import incidents\n"
    "from runbook_lib.procedures.incident_response.incidents import Escalation\n"
)


def _due_shifted(seconds: int) -> str:
    return ESCALATION + (
        "due = Escalation.next_escalation\n"
        "def shifted(self, incident):\n"
        "    d = due(self, incident)\n"
        f"    return None if d is None else d + timedelta(seconds={seconds})\n"
        "Escalation.next_escalation = shifted\n"
    )


CASES = (
    # the Slack channel comes from the guide: renamed, the code follows (green) ...
    Case(
        World("guide-renames-the-channel", (RENAMED_CHANNEL,)),
        "incident_response",
        CHANNELS,
        {},
        measured=("messages in #ops-incidents",),
    ),
    # ... and a notifier posting where its webhook was made for (#incidents) is red
    Case(
        World(
            "notifier-posts-to-a-hard-coded-channel",
            (RENAMED_CHANNEL,),
            NOTIFIER + "slack = Notifier._slack\n"
            "Notifier._slack = lambda self, text, channel: slack(self, text, '#incidents')\n",
        ),
        "incident_response",
        CHANNELS,
        {
            "reaches_every_channel": "messages in #ops-incidents: 0",
            "stays_internal": "messages in #ops-incidents: 0 is not == 1",
        },
    ),
    Case(
        World(
            "notifier-skips-the-status-page",
            mutant=NOTIFIER + "Notifier._status_page = "
            "lambda self, incident, status, text: Message('status page', text)\n",
        ),
        "incident_response",
        CHANNELS,
        {"reaches_every_channel": "status page incidents: 0 is not == 1"},
    ),
    # arrival is measured on the clock: mail that goes out after the P0 deadline (15 min) is red
    Case(
        World(
            "notifier-mails-after-the-deadline",
            mutant=NOTIFIER + "send = Notifier.send_email\n"
            "def late(self, recipients, subject, text):\n"
            "    self.clock.sleep(16 * 60)\n"
            "    send(self, recipients, subject, text)\n"
            "Notifier.send_email = late\n",
        ),
        "incident_response",
        CHANNELS,
        {"reaches_every_channel": "email heard after the opening: 960 s is not <= 900 s"},
    ),
    # recipients are the configured lists, not the code's defaults
    Case(
        World(
            "notifier-ignores-its-mailing-lists",
            mutant=NOTIFIER + "email = Notifier._email\n"
            "def defaults(self, audience, recipients, subject, text):\n"
            "    return email(self, audience, getattr(Channels('', '', '', ''), audience), subject, text)\n"
            "Notifier._email = defaults\n",
        ),
        "incident_response",
        f"{CHANNELS} or {STAKEHOLDERS}",
        {
            "reaches_every_channel": "emails to the customer list: 0 is not == 1",
            "for_them[P0]": "direct emails to the stakeholder list: 0 is not == 1",
            "for_them[P1]": "direct emails to the stakeholder list: 0 is not == 1",
        },
    ),
    # the P1 stakeholder path runs: a notifier that drops it is red for P1 only
    Case(
        World(
            "notifier-drops-p1-stakeholders",
            mutant="from runbook_lib.procedures.incident_response import communications\n"
            "communications.stakeholder_levels = lambda guide: {'P0'}\n",
        ),
        "incident_response",
        STAKEHOLDERS,
        {"for_them[P1]": "direct emails to the stakeholder list: 0 is not == 1"},
    ),
    Case(World("guide-names-p0-only", (P0_ONLY,)), "incident_response", STAKEHOLDERS, {}),
    Case(
        World(
            "notifier-keeps-p1-the-guide-dropped",
            (P0_ONLY,),
            "from runbook_lib.procedures.incident_response import communications\n"
            "communications.stakeholder_levels = lambda guide: {'P0', 'P1'}\n",
        ),
        "incident_response",
        STAKEHOLDERS,
        {"for_them[P1]": "direct emails to the stakeholder list: 1 is not == 0"},
    ),
    # escalation is measured on the pager's rings against the guide's deadlines
    Case(
        World("escalation-pages-a-second-early", mutant=_due_shifted(-1)),
        "incident_response",
        f"{DEADLINES} or {LADDER}",
        {
            "1 second before": "escalation levels paged: 2 is not == 1",
            LADDER: "Senior Developer paged after On-Call Engineer: 899 s is not == 900 s",
        },
    ),
    Case(
        World("escalation-pages-a-second-late", mutant=_due_shifted(1)),
        "incident_response",
        f"{DEADLINES} or {LADDER}",
        {
            "exactly": "escalation levels paged: 1 is not == 2",
            LADDER: "Senior Developer paged after On-Call Engineer: 901 s is not == 900 s",
        },
    ),
    # the old escalation: time jumps, every due page is sent at the jump but recorded at its
    # due time (the records are a deadline apart; the rings are not)
    Case(
        World(
            "escalation-rings-late-but-records-the-due-time",
            mutant=ESCALATION + "def jump(self, seconds):\n"
            "    self.clock.sleep(seconds)\n"
            "    paged = []\n"
            "    for incident in self.incidents.values():\n"
            "        due = self.next_escalation(incident)\n"
            "        while due is not None and self.clock.now() >= due:\n"
            "            paged.append(self._page(incident, incident.level))\n"
            "            incident.pages[-1] = dataclasses.replace(incident.pages[-1], at=due)\n"
            "            due = self.next_escalation(incident)\n"
            "    return paged\n"
            "Escalation.advance = jump\n",
        ),
        "incident_response",
        LADDER,
        {LADDER: "Senior Developer paged after On-Call Engineer: 7200 s is not == 900 s"},
    ),
    Case(
        World(
            "escalation-skips-a-level",
            mutant=ESCALATION + "init = Escalation.__init__\n"
            "def skipping(self, *args, **kwargs):\n"
            "    init(self, *args, **kwargs)\n"
            "    self.ladder = tuple(r for r in self.ladder if r.rank != 2)\n"
            "Escalation.__init__ = skipping\n",
        ),
        "incident_response",
        LADDER,
        {LADDER: "pages followed the Escalation Matrix: no"},
    ),
    # roles and numbers come from the guide: renamed, the code follows ...
    Case(
        World("guide-renames-a-level-and-a-number", RENAMED_LADDER), "incident_response", LADDER, {}
    ),
    # ... and a pager ringing a hard-coded number is red
    Case(
        World(
            "pager-rings-a-hard-coded-number",
            RENAMED_LADDER,
            ESCALATION + "incidents.contact_for = "
            "lambda role, contacts: '+1-555-0123' if role.rank == 1 else None\n",
        ),
        "incident_response",
        LADDER,
        {LADDER: "On-Call Engineer rung at the On-Call number: no"},
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.world.name)
def test_the_check_turns_red_in_its_broken_world_only(case: Case, tmp_path: Path) -> None:
    judge(case, tmp_path)


def test_pages_ring_at_their_deadlines_when_time_jumps() -> None:
    clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    pager = PagerFake(clock)
    escalation = Escalation(GUIDE, clock, pager)
    incident = escalation.open(GUIDE.severity("P0"))
    escalation.advance(7200)
    deadline = timedelta(seconds=GUIDE.severity("P0").response_seconds)
    rang = pager.pages_for(incident.id)
    assert [p.at - incident.opened_at for p in rang] == [deadline * n for n in range(4)]
    assert [p.subject for p in rang] == [r.role for r in GUIDE.escalation]
    assert [p.at for p in incident.pages] == [p.at for p in rang]
    assert clock.now() == incident.opened_at + timedelta(hours=2)


def test_the_internal_channel_is_read_from_the_guide() -> None:
    text = DEFAULT_GUIDE.read_text(encoding="utf-8").replace(*RENAMED_CHANNEL)
    assert internal_channel(GUIDE) == "#incidents"
    assert internal_channel(parse_guide(text)) == "#ops-incidents"


def test_slack_honours_the_channel_a_message_names_and_stamps_its_arrival() -> None:
    cloud = SimulatedCloud()
    cloud.clock.advance(90)
    with httpx.Client(transport=httpx.MockTransport(cloud.slack.handle)) as http:
        named = http.post(cloud.slack_webhook_url, json={"channel": "#ops", "text": "a"})
        default = http.post(cloud.slack_webhook_url, json={"text": "b"})
        bad = http.post(cloud.slack_webhook_url, json={"channel": "ops room", "text": "c"})
    assert [r.status_code for r in (named, default, bad)] == [200, 200, 404]
    assert bad.text == "channel_not_found"
    assert [(d.to, d.text, d.at) for d in cloud.slack.deliveries] == [
        (("#ops",), "a", cloud.clock.now()),
        (("#incidents",), "b", cloud.clock.now()),
    ]


def test_every_service_records_what_it_received_and_when() -> None:
    cloud = SimulatedCloud()
    channels = with_mailing_lists(cloud.channels())
    with httpx.Client(transport=httpx.MockTransport(_route(cloud))) as http:
        notifier = Notifier(GUIDE, channels, cloud.clock, http)
        incident = Escalation(GUIDE, cloud.clock).open(GUIDE.severity("P1"))
        cloud.clock.advance(60)
        notifier.announce(incident, external_impact=True)
    arrived = cloud.clock.now()
    assert [d.at for d in cloud.slack.deliveries] == [arrived]
    assert [(d.to, d.at) for d in cloud.statuspage.deliveries] == [(("np0l30n41",), arrived)]
    assert [(d.to, d.at) for d in cloud.sendgrid.deliveries] == [
        (channels.customers, arrived),
        (channels.stakeholders, arrived),
    ]


def _route(cloud: SimulatedCloud) -> Callable[[httpx.Request], httpx.Response]:
    hosts = {
        "hooks.slack.com": cloud.slack.handle,
        "api.statuspage.io": cloud.statuspage.handle,
        "api.sendgrid.com": cloud.sendgrid.handle,
    }
    return lambda request: hosts[request.url.host](request)
