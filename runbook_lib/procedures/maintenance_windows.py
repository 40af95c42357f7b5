"""Maintenance Windows (guide: Maintenance Windows > Scheduled Maintenance, Communication).

UTC is the ground truth: the weekly window is "Sunday 2-4 AM UTC"; the monthly window is the
weekly window of the first Sunday of the month (the guide gives it no time of its own: see
GUIDE-MONTHLY-UNTIMED); a quarterly window is scheduled only when the guide states its day (it
does not: see GUIDE-QUARTERLY-UNSCHEDULED), as the monthly window of each quarter's first month.
Viewers in any time zone see the same instants rendered locally, across daylight-saving changes.

:func:`send_notices` sends the guide's Communication list on the notifier's clock: it waits
until the guide's lead time before the window ("Slack notification 24h before").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from runbook_lib.errors import GuideError
from runbook_lib.guide.model import Guide, MaintenanceWindow
from runbook_lib.guide.units import parse_duration
from runbook_lib.procedures.incident_response.communications import Notifier, maintenance_channel


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC
    end: datetime
    kinds: tuple[str, ...]  # ("Weekly",), ("Weekly", "Monthly"), ("Weekly", "Monthly", "Quarterly")

    def local(self, zone: str) -> tuple[datetime, datetime]:
        tz = ZoneInfo(zone)
        return self.start.astimezone(tz), self.end.astimezone(tz)


@dataclass(frozen=True)
class Schedule:
    weekday: int
    start_hour: int
    end_hour: int
    monthly_week: int | None
    quarterly: bool

    @classmethod
    def from_guide(cls, guide: Guide) -> Schedule:
        by_cadence: dict[str, MaintenanceWindow] = {w.cadence: w for w in guide.maintenance_windows}
        weekly = by_cadence.get("Weekly")
        if (
            weekly is None
            or weekly.weekday is None
            or weekly.start_hour is None
            or weekly.end_hour is None
        ):
            raise GuideError(
                guide.path,
                None,
                "Scheduled Maintenance",
                "expected a weekly window with day and hours",
            )
        if (weekly.timezone or "UTC").upper() != "UTC":
            raise GuideError(
                guide.path,
                weekly.line,
                "Scheduled Maintenance",
                "expected the weekly window in UTC",
            )
        monthly, quarterly = by_cadence.get("Monthly"), by_cadence.get("Quarterly")
        return cls(
            weekly.weekday,
            weekly.start_hour,
            weekly.end_hour,
            monthly.week_of_month if monthly else None,
            quarterly is not None and quarterly.weekday is not None,
        )

    def _window_on(self, day: datetime) -> Window:
        start = day.replace(hour=self.start_hour, minute=0, second=0, microsecond=0)
        kinds = ["Weekly"]
        nth = (day.day - 1) // 7 + 1
        if self.monthly_week is not None and nth == self.monthly_week:
            kinds.append("Monthly")
            if self.quarterly and day.month in (1, 4, 7, 10):
                kinds.append("Quarterly")
        return Window(start, start + timedelta(hours=self.end_hour - self.start_hour), tuple(kinds))

    def window_at_or_after(self, instant: datetime) -> Window:
        """The window containing ``instant``, else the next one to start."""
        instant = _utc(instant)
        day = instant.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
        while True:
            day += timedelta(days=(self.weekday - day.weekday()) % 7)
            window = self._window_on(day)
            if window.end > instant:
                return window
            day += timedelta(days=1)

    def in_window(self, instant: datetime) -> bool:
        window = self.window_at_or_after(instant)
        return window.start <= _utc(instant) < window.end

    def next_of_kind(self, instant: datetime, kind: str) -> Window:
        """The next window of ``kind``; GuideError when the guide schedules none of that kind."""
        monthly = self.monthly_week is not None
        scheduled = {"Weekly": True, "Monthly": monthly, "Quarterly": monthly and self.quarterly}
        if not scheduled.get(kind, False):
            raise GuideError(
                "(guide)", None, "Scheduled Maintenance", f"the guide names no day for {kind}"
            )
        window = self.window_at_or_after(instant)
        while kind not in window.kinds:
            window = self.window_at_or_after(window.end)
        return window


def unstated(window: MaintenanceWindow) -> list[str]:
    """What a window's line of the guide leaves out: its day, its hours, its time zone."""
    missing = ["day"] if window.weekday is None else []
    missing += ["time"] if window.start_hour is None or window.end_hour is None else []
    return missing + (["time zone"] if window.timezone is None else [])


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("maintenance times must be timezone-aware")
    return instant.astimezone(UTC)


def notice_lead_seconds(guide: Guide) -> float:
    """How long before a window the internal notice goes out ("Slack notification 24h before")."""
    for notice in guide.maintenance_notices:
        if notice.label.lower() == "internal":
            return parse_duration(notice.text)
    raise GuideError(
        guide.path, None, "Communication", "expected '**Internal**: ... <duration> before'"
    )


def send_notices(notifier: Notifier, window: Window, *, major_change: bool) -> None:
    """The guide's Communication list: Slack (internal), status page (external), and email to
    users "for major changes" only, once the notifier's clock reaches the guide's lead time
    before the window (called later than that, they go out at once: late)."""
    send_at = window.start - timedelta(seconds=notice_lead_seconds(notifier.guide))
    wait = (send_at - notifier.clock.now()).total_seconds()
    if wait > 0:
        notifier.clock.sleep(wait)
    when = f"{window.start:%A %Y-%m-%d %H:%M}-{window.end:%H:%M} UTC"
    kinds = "/".join(window.kinds).lower()
    notifier.post_slack(
        f"Maintenance ({kinds}) {when}: deploys frozen, expect brief interruptions.",
        maintenance_channel(notifier.guide),
    )
    notifier.schedule_status_page(
        f"Scheduled maintenance {when}",
        f"Napoleon AI {kinds} maintenance {when}.",
        (window.start, window.end),
    )
    if major_change:
        notifier.send_email(
            notifier.channels.customers,
            f"Scheduled maintenance {when}",
            f"Napoleon AI will be briefly unavailable during maintenance {when}.",
        )
