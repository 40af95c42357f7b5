"""Incident Response: severity, response deadlines and escalation (guide: Incident Response,
Escalation Matrix, Emergency Contacts).

- :func:`classify` maps incident facts to P0-P3 using the guide's own severity descriptions; when
  facts point at several levels, the most severe wins (an ambiguous incident is treated as the
  worse one, so nobody waits on a slower clock by mistake).
- :class:`Escalation` runs the response timeline on a clock: the first rung of the escalation
  matrix is paged when an incident opens; every time the current rung's response deadline
  (the severity's, from the Response Timeline) passes without acknowledgement, the next rung is
  paged, up to the final one. Acknowledgement stops escalation; a severity change applies the new
  deadline from the latest page. Each page is handed to a :class:`Pager` at the instant it is
  sent: :meth:`Escalation.advance` lets time pass deadline by deadline, so a page is never
  stamped with a time it was not sent at.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.model import Guide, Role, SeverityLevel, Statement
from runbook_lib.world.clock import Clock

# Incident facts an operator reports -> the phrase of the guide's severity descriptions they match.
FACTS: dict[str, str] = {
    "service down": "service completely down",
    "data loss": "data loss",
    "major functionality broken": "major functionality broken",
    "minor functionality issue": "minor functionality issues",
    "cosmetic issue": "cosmetic issues",
    "performance degradation": "performance degradation",
}


def classify(facts: list[str], guide: Guide) -> SeverityLevel:
    """The most severe level whose guide description names any of ``facts``."""
    if not facts:
        raise ConfigurationError("an incident needs at least one fact to classify it")
    matched = []
    for fact in facts:
        phrase = FACTS.get(fact.lower().strip())
        if phrase is None:
            raise ConfigurationError(f"unknown incident fact {fact!r}; known: {', '.join(FACTS)}")
        levels = [s for s in guide.severity_levels if phrase in s.description.lower()]
        if not levels:
            raise ConfigurationError(f"no severity level of the guide describes {phrase!r}")
        matched += levels
    return min(matched, key=lambda s: s.level)


class Pager(Protocol):
    """Rings an emergency contact (``number`` None: the guide gives the role none)."""

    def page(self, role: str, number: str | None, text: str) -> None: ...


@dataclass(frozen=True)
class Page:
    incident: str
    rank: int
    role: str
    contact: str | None
    at: datetime


@dataclass
class Incident:
    id: str
    severity: SeverityLevel
    opened_at: datetime
    pages: list[Page] = field(default_factory=list)
    acknowledged_at: datetime | None = None

    @property
    def level(self) -> int:
        """Rank of the highest rung paged so far (1 = first)."""
        return self.pages[-1].rank if self.pages else 0


def contact_for(role: Role, contacts: tuple[Statement, ...]) -> str | None:
    """The Emergency Contacts entry whose label abbreviates the role ("Senior Dev" -> "Senior Developer")."""
    role_words = re.split(r"[\s-]+", role.role.lower())
    for contact in contacts:
        label_words = re.split(r"[\s-]+", contact.label.lower())
        if len(label_words) <= len(role_words) and all(
            r.startswith(w) for w, r in zip(label_words, role_words, strict=False)
        ):
            return contact.text
    return None


class Escalation:
    """Pages rungs of the guide's escalation matrix as response deadlines pass."""

    def __init__(self, guide: Guide, clock: Clock, pager: Pager | None = None) -> None:
        self.ladder = guide.escalation
        self.contacts = guide.statements_in("Technical Team")
        self.clock = clock
        self.pager = pager
        self.incidents: dict[str, Incident] = {}
        self._ids = itertools.count(1)

    def open(self, severity: SeverityLevel) -> Incident:
        incident = Incident(f"INC-{next(self._ids):04d}", severity, self.clock.now())
        self.incidents[incident.id] = incident
        self._page(incident, 0)
        return incident

    def acknowledge(self, incident_id: str) -> None:
        incident = self.incidents[incident_id]
        self.tick()
        if incident.acknowledged_at is None:
            incident.acknowledged_at = self.clock.now()

    def change_severity(self, incident_id: str, severity: SeverityLevel) -> list[Page]:
        """Apply the new deadline from the latest page; an upgrade may make a page due at once."""
        self.tick()
        self.incidents[incident_id].severity = severity
        return self.tick()

    def next_escalation(self, incident: Incident) -> datetime | None:
        if incident.acknowledged_at is not None or incident.level >= len(self.ladder):
            return None
        return incident.pages[-1].at + timedelta(seconds=incident.severity.response_seconds)

    def tick(self) -> list[Page]:
        """Page, now, the next rung of every incident whose deadline has passed (or is now)."""
        return [
            self._page(incident, incident.level)
            for incident in self.incidents.values()
            if (due := self.next_escalation(incident)) is not None and self.clock.now() >= due
        ]

    def advance(self, seconds: float) -> list[Page]:
        """Let ``seconds`` pass, paging each rung at the instant its deadline passes."""
        end = self.clock.now() + timedelta(seconds=seconds)
        paged = self.tick()
        while (due := self._earliest_due()) is not None and due <= end:
            self.clock.sleep(max(0.0, (due - self.clock.now()).total_seconds()))
            paged += self.tick()
        self.clock.sleep(max(0.0, (end - self.clock.now()).total_seconds()))
        return paged

    def _earliest_due(self) -> datetime | None:
        dues = [d for i in self.incidents.values() if (d := self.next_escalation(i)) is not None]
        return min(dues, default=None)

    def _page(self, incident: Incident, index: int) -> Page:
        role = self.ladder[index]
        severity = incident.severity
        page = Page(
            incident.id, role.rank, role.role, contact_for(role, self.contacts), self.clock.now()
        )
        if self.pager is not None:
            self.pager.page(
                role.role,
                page.contact,
                f"{incident.id} {severity.level} {severity.name}: {severity.description}"
                f" (escalation level {role.rank}, {role.role})",
            )
        incident.pages.append(page)
        return page


_PHONE = re.compile(r"^\+\d{1,3}[-\s]?\d{3}[-\s]?\d{4}$|^\+\d{1,3}(?:[-\s]?\d{2,4}){2,4}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def contact_problems(guide: Guide) -> list[str]:
    """Escalation rungs without a contact, and contacts in neither phone nor email format."""
    team, services = guide.statements_in("Technical Team"), guide.statements_in("External Services")
    problems = [
        f"escalation level {role.rank} ({role.role}) has no emergency contact"
        for role in guide.escalation
        if contact_for(role, team) is None
    ]
    problems += [
        f"{c.label} (line {c.line}): '{c.text}' is not a phone number like +1-555-0123"
        for c in team
        if not _PHONE.match(c.text)
    ]
    problems += [
        f"{c.label} (line {c.line}): '{c.text}' is not an email address"
        for c in services
        if not _EMAIL.match(c.text)
    ]
    return problems
