"""Guide coverage: every testable item of the guide mapped to the scenarios that exercise it.

An item (a section, a table row, a threshold, a command, a checklist item, a statement) is
exercised by the scenarios tagged with its section's anchor (``@guide:<anchor>``); a section is
also covered through its subsections. Items that a drill cannot test are listed with the reason
in :data:`NOT_TESTABLE`, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runbook_lib.guide.features import read_features, scenarios_by_tag
from runbook_lib.guide.model import Guide

NOT_TESTABLE = {
    "production-operations-guide": "the document title",
    "overview": "one sentence of prose",
    "dashboard-urls": "links to vendor dashboards: nothing to execute",
    "monitoring-tools": "third-party SaaS products; the drills use their own probes and alert rules instead",
    "application-optimization": "front-end and runtime choices (Redis, CDN, Next.js Image, code splitting) that a drill cannot observe",
    "continuous-improvement": "commitments about the process, not a procedure",
}


@dataclass(frozen=True)
class Row:
    anchor: str
    title: str
    line: int
    items: int
    scenarios: tuple[str, ...]
    reason: str  # why it is not testable, when it is not

    @property
    def status(self) -> str:
        return "not testable" if self.reason else ("covered" if self.scenarios else "UNCOVERED")


def _items_per_section(guide: Guide) -> dict[str, int]:
    counts = {s.title: 1 for s in guide.sections}
    for block in guide.code_blocks:
        counts[block.section] = counts.get(block.section, 1) + max(len(block.commands()), 1)
    for statement in guide.statements:
        counts[statement.section] = counts.get(statement.section, 1) + 1
    counts["Recovery Time Objectives (RTO)"] += 2 * len(guide.recovery_objectives)
    counts["Pre-Deployment Checklist"] += len(guide.checklist)
    counts["Documentation"] += len(guide.review_documentation)
    return counts


def coverage(guide: Guide, features: Path) -> list[Row]:
    tagged = {k.lower(): v for k, v in scenarios_by_tag(read_features(features), "guide").items()}
    counts = _items_per_section(guide)
    rows = []
    for section in guide.sections:
        scenarios = list(tagged.get(section.anchor, []))
        for child in guide.sections:  # a parent is exercised through its subsections
            if child.path[:-1] and child.path[:-1][-1] == section.title:
                scenarios += tagged.get(child.anchor, [])
        rows.append(
            Row(
                section.anchor,
                section.title,
                section.line,
                counts.get(section.title, 1),
                tuple(dict.fromkeys(scenarios)),
                NOT_TESTABLE.get(section.anchor, ""),
            )
        )
    return rows


def covered_share(rows: list[Row]) -> float:
    testable = [r for r in rows if not r.reason]
    return sum(r.items for r in testable if r.scenarios) / max(sum(r.items for r in testable), 1)
