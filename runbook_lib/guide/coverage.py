"""Guide coverage: every item of the guide, the scenarios that check it, and how strongly.

Per item (:func:`item_coverage`, from a drill's evidence): an item is a list item, table row,
line of code or paragraph of the guide (:meth:`Document.every_item`); a scenario checks it when
it read that line while it ran (:mod:`runbook_lib.guide.reading`), and the item's level of proof
is the strongest among those scenarios, each scenario's level being the weakest component it
ran against (:mod:`runbook_lib.world.touched`): executed against a *real* component, executed
against a *simulation*, or *restated* (only the guide's text was checked). Items of sections a
drill cannot test are *untestable* with the reason (:data:`NOT_TESTABLE`); the rest, read by no
scenario, are *uncovered*. Never dropped silently.

Per section (:func:`coverage`, from the features alone): the scenarios tagged with a section's
anchor (``@guide:<anchor>``) or a subsection's. This credits a whole section to any scenario
tagged with it, so it is the coarse view; the per-item one is the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


LEVELS = ("real", "simulated", "restated", "uncovered", "untestable")
_STRENGTH = {"real": 3, "simulated": 2, "restated": 1}


@dataclass(frozen=True)
class ItemRow:
    line: int
    section: str
    kind: str
    text: str
    level: str  # one of LEVELS
    scenarios: tuple[str, ...]  # the scenarios that read it
    reason: str = ""  # why it is untestable


def _untestable(guide: Guide, section_title: str) -> str:
    """Why items of this section (or of an untestable parent below the title) are untestable."""
    by_title = {s.title: s for s in guide.sections}
    section = by_title.get(section_title)
    if section is None:
        return ""
    for title in (*section.path, section.title):
        parent = by_title.get(title)
        below_title = parent is not None and (parent.level > 1 or parent is section)
        if below_title and parent is not None and parent.anchor in NOT_TESTABLE:
            return NOT_TESTABLE[parent.anchor]
    return ""


def item_coverage(guide: Guide, scenarios: list[dict[str, Any]]) -> list[ItemRow]:
    """Every item of the guide with the scenarios (evidence records) that read it."""
    readers: dict[int, list[tuple[str, str]]] = {}
    for scenario in scenarios:
        if scenario.get("status") in ("passed", "gap"):  # a failed check proved nothing
            for line in scenario.get("guide_lines", []):
                readers.setdefault(line, []).append((scenario["name"], scenario.get("proof", "")))
    rows = []
    for item in guide.items:
        reason = _untestable(guide, item.section.title)
        found = readers.get(item.line, [])
        best = max((_STRENGTH.get(level, 0) for _, level in found), default=0)
        level = (
            "untestable"
            if reason
            else next((k for k, v in _STRENGTH.items() if v == best), "uncovered")
        )
        names = tuple(dict.fromkeys(name for name, _ in found))
        rows.append(
            ItemRow(item.line, item.section.title, item.kind, item.text, level, names, reason)
        )
    return rows


def distribution(rows: list[ItemRow]) -> dict[str, int]:
    counts = dict.fromkeys(LEVELS, 0)
    for row in rows:
        counts[row.level] += 1
    return counts


def proven_share(rows: list[ItemRow], at_least: str) -> float:
    """Share of testable items proven at ``at_least`` or stronger (real > simulated > restated)."""
    testable = [r for r in rows if r.level != "untestable"]
    strong = [r for r in testable if _STRENGTH.get(r.level, 0) >= _STRENGTH[at_least]]
    return len(strong) / max(len(testable), 1)
