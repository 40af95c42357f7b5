"""Consistency checks of the guide against itself (whole guide).

Each function returns what is wrong, as sentences naming the guide's own words and lines; an
empty result means the guide is consistent on that point.
"""

from __future__ import annotations

from itertools import pairwise

from runbook_lib.guide.model import Guide

# Sections that are not procedures and need no entry in the table of contents.
_NOT_IN_TOC = {"Overview", "Table of Contents"}


def broken_toc_links(guide: Guide) -> list[str]:
    anchors = {s.anchor for s in guide.sections}
    return [
        f"'{title}' links to {href}, which no heading has"
        for title, href in guide.toc
        if href.removeprefix("#") not in anchors
    ]


def sections_missing_from_toc(guide: Guide) -> list[str]:
    top = min((s.level for s in guide.sections if s.level > 1), default=2)
    listed = {href.removeprefix("#") for _, href in guide.toc}
    return [
        f"'{s.title}' (line {s.line})"
        for s in guide.sections
        if s.level == top and s.title not in _NOT_IN_TOC and s.anchor not in listed
    ]


def escalation_mismatches(guide: Guide) -> list[str]:
    """The Escalation Matrix and the Escalation Procedures must name the same ladder."""
    problems = []
    matrix, procedures = guide.escalation, guide.escalation_procedures
    if len(matrix) != len(procedures):
        problems.append(f"the matrix has {len(matrix)} levels, the procedures {len(procedures)}")
    for a, b in zip(matrix, procedures, strict=False):
        if _role_key(a.role) != _role_key(b.role):
            problems.append(
                f"level {a.rank}: '{a.role}' (line {a.line}) vs '{b.role}' (line {b.line})"
            )
    return problems


def _role_key(role: str) -> str:
    return " ".join(role.lower().replace("-", " ").split())


def response_time_inversions(guide: Guide) -> list[str]:
    """A more severe level must never get a slower response than a less severe one."""
    levels = sorted(guide.severity_levels, key=lambda s: s.level)
    return [
        f"{a.level} ({a.response_text}) is slower than {b.level} ({b.response_text})"
        for a, b in pairwise(levels)
        if a.response_seconds > b.response_seconds
    ]


def review_deadline_inversions(guide: Guide) -> list[str]:
    steps = guide.post_incident_review
    return [
        f"'{a.name}' ({a.text}) is due after '{b.name}' ({b.text})"
        for a, b in pairwise(steps)
        if a.seconds > b.seconds
    ]
