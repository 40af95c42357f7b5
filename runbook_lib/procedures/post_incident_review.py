"""Post-Incident Review (guide: Post-Incident Review > Review Process, Documentation).

Deadlines run from the incident's resolution: technical debrief within 24h, full review within
1 week, action items within 2 weeks (from the guide). A review document is Markdown; it must
contain every part the guide's Documentation list names, as a heading or a bold label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from runbook_lib.guide.markdown import parse_document
from runbook_lib.guide.model import Guide


@dataclass(frozen=True)
class ReviewStep:
    name: str
    due: datetime
    done_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        finished = self.done_at or now
        return finished > self.due


def review_plan(
    guide: Guide, resolved_at: datetime, done: dict[str, datetime] | None = None
) -> list[ReviewStep]:
    done = done or {}
    return [
        ReviewStep(d.name, resolved_at + timedelta(seconds=d.seconds), done.get(d.name))
        for d in guide.post_incident_review
    ]


def overdue_steps(plan: list[ReviewStep], now: datetime) -> list[str]:
    return [f"{s.name} was due {s.due:%Y-%m-%d %H:%M} UTC" for s in plan if s.overdue(now)]


def missing_parts(guide: Guide, document: str) -> list[str]:
    """Parts of the guide's Documentation list that the review document lacks."""
    doc = parse_document(document)
    present = {s.title.lower() for s in doc.sections}
    present |= {i.label.lower() for s in doc.sections for i in doc.items(s) if i.label}
    return [part for part in guide.review_documentation if part.lower() not in present]
