"""Every maintenance-window check turns red in its broken world (issue: truthful evidence).

Child drills of features/maintenance_windows.feature: the guide edited (the code follows:
green), or a procedure broken by a mutant (red, in the check's own words). The notice's lead
time is measured from its arrival in Slack on the virtual clock, never computed by the step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from runbook_lib.errors import GuideError
from runbook_lib.guide.model import load_guide, parse_guide
from runbook_lib.paths import DEFAULT_GUIDE
from runbook_lib.procedures.maintenance_windows import Schedule, unstated
from tests.broken_worlds import Case, World, judge

NOTICES = "everyone_the_guide_names"
MAJOR, ROUTINE = "[a major", "[a routine"  # the outline's rows
LEAD_AND_CHANNEL = (
    "- **Internal**: Slack notification 24h before",
    "- **Internal**: Slack #maintenance notification 48h before",
)
QUARTERLY_DAY_ONLY = (
    "- **Quarterly**: Security updates and audits",
    "- **Quarterly**: First Sunday of Jan/Apr/Jul/Oct (security updates and audits)",
)
PROCEDURE = (
    "from datetime import timedelta\n"
    "from runbook_lib.procedures import maintenance_windows as mw\n"
    "from runbook_lib.procedures.incident_response.communications import Message, Notifier\n"
)

CASES = (
    # lead time and channel come from the guide: changed, the procedure follows ...
    Case(
        World("guide-says-48h-in-maintenance", (LEAD_AND_CHANNEL,)),
        "maintenance_windows",
        NOTICES,
        {},
        measured=("maintenance notices in #maintenance",),
    ),
    # ... a procedure with a hard-coded 24h is red ...
    Case(
        World(
            "notices-keep-a-hard-coded-24h",
            (LEAD_AND_CHANNEL,),
            PROCEDURE + "mw.notice_lead_seconds = lambda guide: 86400.0\n",
        ),
        "maintenance_windows",
        NOTICES,
        {NOTICES: "notice lead time: 86400 s is not == 172800 s"},
    ),
    # ... and so is one posting to a hard-coded channel
    Case(
        World(
            "notices-go-to-a-hard-coded-channel",
            (LEAD_AND_CHANNEL,),
            PROCEDURE + "post = Notifier.post_slack\n"
            "Notifier.post_slack = lambda self, text, channel=None: post(self, text, '#incidents')\n",
        ),
        "maintenance_windows",
        NOTICES,
        {NOTICES: "maintenance notices in #maintenance: 0 is not == 1"},
    ),
    # notices sent the moment the procedure is called (Thursday noon, not Saturday 02:00)
    Case(
        World(
            "notices-go-out-at-once",
            mutant=PROCEDURE + "send = mw.send_notices\n"
            "def at_once(notifier, window, *, major_change):\n"
            "    sleep = notifier.clock.sleep\n"
            "    notifier.clock.sleep = lambda seconds: None\n"
            "    try:\n"
            "        send(notifier, window, major_change=major_change)\n"
            "    finally:\n"
            "        notifier.clock.sleep = sleep\n"
            "mw.send_notices = at_once\n",
        ),
        "maintenance_windows",
        NOTICES,
        {NOTICES: "notice lead time: 223200 s is not == 86400 s"},
    ),
    Case(
        World(
            "notices-skip-the-status-page",
            mutant=PROCEDURE + "Notifier.schedule_status_page = "
            "lambda self, name, text, window: Message('status page', text)\n",
        ),
        "maintenance_windows",
        NOTICES,
        {NOTICES: "scheduled maintenances on the status page: 0 is not == 1"},
    ),
    Case(
        World(
            "status-page-shows-other-times",
            mutant=PROCEDURE + "schedule = Notifier.schedule_status_page\n"
            "def shifted(self, name, text, window):\n"
            "    hour = timedelta(hours=1)\n"
            "    return schedule(self, name, text, (window[0] + hour, window[1] + hour))\n"
            "Notifier.schedule_status_page = shifted\n",
        ),
        "maintenance_windows",
        NOTICES,
        {NOTICES: "scheduled for the window's start and end: no"},
    ),
    Case(
        World(
            "users-mailed-of-routine-changes",
            mutant=PROCEDURE + "send = mw.send_notices\n"
            "mw.send_notices = lambda notifier, window, *, major_change: "
            "send(notifier, window, major_change=True)\n",
        ),
        "maintenance_windows",
        NOTICES,
        {ROUTINE: "maintenance emails to the user list: 1 is not == 0"},
    ),
    Case(
        World(
            "users-mailed-at-a-hard-coded-address",
            mutant=PROCEDURE + "send = Notifier.send_email\n"
            "Notifier.send_email = lambda self, recipients, subject, text: "
            "send(self, ('customers@napoleon.ai',), subject, text)\n",
        ),
        "maintenance_windows",
        NOTICES,
        {MAJOR: "maintenance emails to the user list: 0 is not == 1"},
    ),
    # the monthly window's day is the guide's
    Case(
        World(
            "monthly-window-on-the-second-sunday",
            mutant="import dataclasses\n"
            "from runbook_lib.procedures.maintenance_windows import Schedule\n"
            "made = Schedule.from_guide.__func__\n"
            "Schedule.from_guide = classmethod("
            "lambda cls, guide: dataclasses.replace(made(cls, guide), monthly_week=2))\n",
        ),
        "maintenance_windows",
        "falls_on_the_first_sunday",
        {"falls_on_the_first_sunday": "next monthly window on the expected day: no"},
    ),
    # "names its day and time": a quarterly line with a day but no time is still the gap
    Case(
        World("quarterly-day-without-time", (QUARTERLY_DAY_ONLY,)),
        "maintenance_windows",
        "states_when_the_quarterly_window_is",
        {"quarterly": "'First Sunday of Jan/Apr/Jul/Oct (security updates and audits)'"},
        status="gap",
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.world.name)
def test_the_check_turns_red_in_its_broken_world_only(case: Case, tmp_path: Path) -> None:
    run = judge(case, tmp_path)
    if case.status == "gap":
        (record,) = run.scenarios.values()
        assert "names no time and no time zone" in record["error"]
        assert "FindingConfirmed: finding GUIDE-QUARTERLY-UNSCHEDULED" in record["error"]


def test_no_quarterly_window_is_invented_while_the_guide_gives_it_no_day() -> None:
    after = datetime(2026, 4, 6, tzinfo=UTC)
    with pytest.raises(GuideError, match="names no day for Quarterly"):
        Schedule.from_guide(load_guide()).next_of_kind(after, "Quarterly")
    fixed = DEFAULT_GUIDE.read_text(encoding="utf-8").replace(
        "- **Quarterly**: Security updates and audits",
        "- **Quarterly**: First Sunday of Jan/Apr/Jul/Oct, 2-4 AM UTC",
    )
    window = Schedule.from_guide(parse_guide(fixed)).next_of_kind(after, "Quarterly")
    assert window.start == datetime(2026, 7, 5, 2, tzinfo=UTC)


def test_a_window_line_is_judged_for_day_time_and_zone() -> None:
    windows = {w.cadence: w for w in load_guide().maintenance_windows}
    assert unstated(windows["Weekly"]) == []
    assert unstated(windows["Monthly"]) == ["time", "time zone"]
    assert unstated(windows["Quarterly"]) == ["day", "time", "time zone"]
