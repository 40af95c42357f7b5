"""Property and stateful tests of escalation, classification and maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.model import load_guide
from runbook_lib.procedures.incident_response.incidents import FACTS, Escalation, classify
from runbook_lib.procedures.maintenance_windows import Schedule
from runbook_lib.world.clock import VirtualClock

GUIDE = load_guide()
LEVELS = [s.level for s in GUIDE.severity_levels]


class EscalationMachine(RuleBasedStateMachine):
    """Any sequence of incidents, acks, severity changes and clock advances keeps the ladder's rules."""

    @initialize()
    def start(self) -> None:
        self.clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        self.escalation = Escalation(GUIDE, self.clock)

    @rule(level=st.sampled_from(LEVELS))
    def open_incident(self, level: str) -> None:
        self.escalation.open(GUIDE.severity(level))

    @precondition(lambda self: self.escalation.incidents)
    @rule(data=st.data())
    def acknowledge(self, data: st.DataObject) -> None:
        self.escalation.acknowledge(data.draw(st.sampled_from(sorted(self.escalation.incidents))))

    @precondition(lambda self: self.escalation.incidents)
    @rule(data=st.data(), level=st.sampled_from(LEVELS))
    def change_severity(self, data: st.DataObject, level: str) -> None:
        self.escalation.change_severity(
            data.draw(st.sampled_from(sorted(self.escalation.incidents))), GUIDE.severity(level)
        )

    @rule(seconds=st.integers(min_value=1, max_value=3 * 86400))
    def advance(self, seconds: int) -> None:
        self.escalation.advance(seconds)

    @invariant()
    def ladder_is_climbed_in_order_without_skipping(self) -> None:
        for incident in self.escalation.incidents.values():
            assert [p.rank for p in incident.pages] == list(range(1, len(incident.pages) + 1))

    @invariant()
    def no_rung_is_paged_before_the_previous_deadline(self) -> None:
        fastest = min(s.response_seconds for s in GUIDE.severity_levels)
        for incident in self.escalation.incidents.values():
            for earlier, later in zip(incident.pages, incident.pages[1:], strict=False):
                assert (later.at - earlier.at).total_seconds() >= fastest
                assert incident.acknowledged_at is None or later.at <= incident.acknowledged_at

    @invariant()
    def every_incident_is_acknowledged_or_still_climbing_or_at_the_top(self) -> None:
        for incident in self.escalation.incidents.values():
            due = self.escalation.next_escalation(incident)
            assert (
                incident.acknowledged_at is not None
                or incident.level == len(GUIDE.escalation)
                or (due is not None and due > self.clock.now())
            )


TestEscalation = EscalationMachine.TestCase
TestEscalation.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


@given(st.lists(st.sampled_from(sorted(FACTS)), min_size=1, max_size=4))
def test_more_facts_never_lower_the_severity(facts: list[str]) -> None:
    worst = classify(facts, GUIDE).level
    assert all(worst <= classify([fact], GUIDE).level for fact in facts)


def test_unknown_fact_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown incident fact 'aliens'"):
        classify(["aliens"], GUIDE)


SCHEDULE = Schedule.from_guide(GUIDE)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from(
    [
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Australia/Sydney",
        "Asia/Kolkata",
        "America/Los_Angeles",
    ]
)


@given(instants)
def test_windows_are_sunday_two_to_four_utc(instant: datetime) -> None:
    window = SCHEDULE.window_at_or_after(instant)
    assert window.start.weekday() == 6
    assert (window.start.hour, window.end.hour) == (2, 4)
    assert window.end > instant
    assert window.start - instant < timedelta(days=7)


@given(instants, zones)
def test_in_window_is_the_same_from_every_time_zone(instant: datetime, zone: str) -> None:
    from zoneinfo import ZoneInfo

    local = instant.astimezone(ZoneInfo(zone))
    window = SCHEDULE.window_at_or_after(instant)
    assert (
        SCHEDULE.in_window(local)
        == SCHEDULE.in_window(instant)
        == (window.start <= instant < window.end)
    )
    assert window.local(zone)[0] == window.start  # the same instant, rendered locally


@given(instants)
def test_monthly_windows_fall_on_the_first_sunday(instant: datetime) -> None:
    window = SCHEDULE.next_of_kind(instant, "Monthly")
    assert window.start.weekday() == 6
    assert window.start.day <= 7
