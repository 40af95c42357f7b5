"""Drift between the feature files and the guide: a figure a feature quotes must be the guide's.

Feature tables that quote the guide (a first column naming a guide item: component, severity
level, key metric, alerting rule, review step) are read cell by cell; every duration or threshold
in them is compared with the guide model. "the feature says 10 minutes, the guide says 15
minutes" is reported with both locations. Scenarios whose figures are inputs, not quotes (series
values, clock offsets), are not tables of guide items and are left alone; the mutation tests in
tests/ prove those scenarios follow the guide or fail when a guide figure changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runbook_lib.guide.features import Row, read_features
from runbook_lib.guide.model import Guide, Objective
from runbook_lib.guide.units import Quantity, parse_quantity


@dataclass(frozen=True)
class Drift:
    feature: str
    feature_line: int
    item: str
    feature_says: str
    guide_says: str
    guide_line: int

    def __str__(self) -> str:
        return (
            f"{self.feature}:{self.feature_line} says {self.item} is {self.feature_says}; "
            f"the guide says {self.guide_says} (line {self.guide_line})"
        )


def guide_figures(guide: Guide) -> dict[tuple[str, str], tuple[Quantity, str, int]]:
    """(item, column) -> (the guide's quantity, its text, its line)."""
    figures: dict[tuple[str, str], tuple[Quantity, str, int]] = {}
    for row in guide.recovery_objectives:
        figures[(row.component.lower(), "rto")] = (
            Quantity(None, row.rto_seconds, "s"),
            f"{row.rto_seconds / 60:g} minutes",
            row.line,
        )
        figures[(row.component.lower(), "rpo")] = (
            Quantity(None, row.rpo_seconds, "s"),
            f"{row.rpo_seconds / 60:g} minutes",
            row.line,
        )
    for level in guide.severity_levels:
        figures[(level.level.lower(), "response")] = (
            Quantity(None, level.response_seconds, "s"),
            level.response_text,
            level.line,
        )
    for item in (*guide.key_metrics, *guide.alert_rules):
        if item.threshold is not None:
            figures[
                (item.metric.lower(), "target" if item.source == "Key Metrics" else "threshold")
            ] = (Quantity(item.comparator, item.threshold, item.unit or ""), item.text, item.line)
    return figures


def states_exactly(item: Objective, quoted: Quantity) -> bool:
    """Whether a key metric or alert rule of the guide states exactly the quoted comparator,
    value and unit ("< 500ms" is not "< 0.5s" here: a quote repeats the guide's words)."""
    return (item.comparator, item.threshold, item.unit) == (
        quoted.comparator,
        quoted.value,
        quoted.unit,
    )


def _same(feature: Quantity, guide: Quantity) -> bool:
    if feature.is_duration and guide.unit == "s" and guide.comparator is None:
        return abs(feature.seconds - guide.value) < 1e-9
    if feature.is_duration and guide.is_duration:
        return (
            feature.comparator == guide.comparator and abs(feature.seconds - guide.seconds) < 1e-9
        )
    return (feature.comparator, feature.value, feature.unit) == (
        guide.comparator,
        guide.value,
        guide.unit,
    )


def find_drift(guide: Guide, features: Path) -> list[Drift]:
    """Every figure a feature table quotes that differs from the guide's, in file order."""
    figures = guide_figures(guide)
    found = []
    for feature in read_features(features):
        for table in feature.tables():
            header = [c.lower() for c in table.header]
            for row in table.body:
                found += _row_drift(
                    f"{feature.path.parent.name}/{feature.path.name}", row, header, figures
                )
    return found


def _row_drift(
    where: str,
    row: Row,
    header: list[str],
    figures: dict[tuple[str, str], tuple[Quantity, str, int]],
) -> list[Drift]:
    found = []
    item = row.cells[0]
    for column, cell in zip(header[1:], row.cells[1:], strict=False):
        known = figures.get((item.lower(), column))
        if known is None:
            continue
        try:
            quoted = parse_quantity(cell)
        except ValueError:
            continue
        if not _same(quoted, known[0]):
            found.append(Drift(where, row.line, f"{item} {column}", cell, known[1], known[2]))
    return found
