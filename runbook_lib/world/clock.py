"""Time as a seam: procedures about minutes and days run on a virtual clock.

Restore and query timings use :class:`WallClock`; escalation, maintenance windows, Vercel state
transitions and backup schedules use :class:`VirtualClock`, which only moves when told to
(``sleep`` advances it instantly), so a day of incident timeline takes milliseconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for measuring durations)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class VirtualClock:
    """A clock that stands still until advanced; ``sleep`` advances it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start")
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += timedelta(seconds=seconds)
        self._elapsed += seconds
        return self._now

    def set(self, instant: datetime) -> None:
        self.advance((instant - self._now).total_seconds())


def parse_instant(text: str) -> datetime:
    """ "2026-03-01 02:00 UTC", "2026-03-01 02:00:00 UTC" or "... -0500" -> an aware datetime."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + " +0000"
    for pattern in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not an instant like '2026-03-01 02:00:00 UTC' or '... -0500'")
