"""The Production Operations Guide as a typed, frozen model.

:func:`load_guide` reads the Markdown (through :mod:`runbook_lib.guide.markdown`) and extracts every
number and procedure the drills rely on: recovery objectives, severity levels and response
times, escalation, key metrics, alerting rules, maintenance windows, post-incident review
deadlines, the pre-deployment checklist, deployment steps and the backup, recovery and
rollback commands. A missing or malformed part raises :class:`GuideError` naming the
section, the line and what was expected.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from runbook_lib.errors import GuideError
from runbook_lib.guide.markdown import (
    CodeBlock,
    Command,
    Document,
    DocumentItem,
    Item,
    Section,
    parse_document,
)
from runbook_lib.guide.reading import Traced, lookup, note, paused
from runbook_lib.guide.units import Comparator, Quantity, parse_quantity
from runbook_lib.paths import DEFAULT_GUIDE


@dataclass(frozen=True)
class RecoveryObjective(Traced):
    """One row of "Recovery Time Objectives (RTO)"."""

    component: str
    rto_seconds: float
    rpo_seconds: float
    line: int


@dataclass(frozen=True)
class SeverityLevel(Traced):
    """ "Severity Levels" joined with "Response Timeline"."""

    level: str  # "P0"
    name: str  # "Critical"
    description: str
    response_seconds: float
    response_text: str
    line: int
    response_line: int = 0  # the Response Timeline item it was joined with

    _lines_of: ClassVar[dict[str, str]] = {
        "response_seconds": "response_line",
        "response_text": "response_line",
    }


@dataclass(frozen=True)
class Role(Traced):
    """One rung of an escalation ladder, in order."""

    rank: int
    role: str
    note: str  # "(Primary)" in the matrix, "First Level" in the procedures
    line: int


@dataclass(frozen=True)
class Objective(Traced):
    """A stated target or alert condition: metric, comparator, threshold, unit."""

    source: str  # "Key Metrics", or the alert group: "Vercel", "Supabase", "External"
    text: str
    metric: str
    comparator: Comparator | None
    threshold: float | None
    unit: str | None
    line: int


@dataclass(frozen=True)
class MaintenanceWindow(Traced):
    cadence: str  # "Weekly", "Monthly", "Quarterly"
    text: str
    line: int
    weekday: int | None = None  # 0 = Monday ... 6 = Sunday
    start_hour: int | None = None
    end_hour: int | None = None
    timezone: str | None = None
    week_of_month: int | None = None  # 1 for "First Sunday of month"


@dataclass(frozen=True)
class Statement(Traced):
    """A ``**Label**: text`` line of the guide (access policy, compliance, contacts, ...)."""

    section: str
    label: str
    text: str
    line: int


@dataclass(frozen=True)
class Deadline(Traced):
    name: str
    text: str
    seconds: float
    line: int


@dataclass(frozen=True)
class DeploymentStep(Traced):
    number: int
    title: str
    command: str
    line: int


@dataclass(frozen=True)
class BackupSchedule(Traced):
    """How often the guide says a component is backed up (None: the guide does not say)."""

    component: str
    interval_seconds: float | None
    text: str  # the guide's words, e.g. "Automated daily backups via Supabase"
    line: int


@dataclass(frozen=True)
class Phase(Traced):
    """One numbered phase of a procedure with its actions ("Immediate Actions": isolate, ...)."""

    number: int
    name: str
    actions: tuple[str, ...]
    line: int
    action_lines: tuple[int, ...] = ()

    _lines_of: ClassVar[dict[str, str]] = {"actions": "action_lines"}


_TEXT_FIELDS = frozenset({"checklist", "review_documentation", "toc"})


@dataclass(frozen=True)
class Guide:
    path: str
    sha256: str
    sections: tuple[Section, ...]
    code_blocks: tuple[CodeBlock, ...]
    recovery_objectives: tuple[RecoveryObjective, ...]
    severity_levels: tuple[SeverityLevel, ...]
    escalation: tuple[Role, ...]
    escalation_procedures: tuple[Role, ...]
    key_metrics: tuple[Objective, ...]
    alert_rules: tuple[Objective, ...]
    maintenance_windows: tuple[MaintenanceWindow, ...]
    maintenance_notices: tuple[Statement, ...]
    post_incident_review: tuple[Deadline, ...]
    review_documentation: tuple[str, ...]
    checklist: tuple[str, ...]
    deployment_steps: tuple[DeploymentStep, ...]
    backup_commands: tuple[Command, ...]
    recovery_commands: tuple[Command, ...]
    rollback_commands: tuple[Command, ...]
    optimization_sql: tuple[Command, ...]
    statements: tuple[Statement, ...]
    toc: tuple[tuple[str, str], ...]  # (title, "#anchor") of each Table of Contents entry
    backup_schedules: tuple[BackupSchedule, ...]
    security_phases: tuple[Phase, ...]
    # every item the guide states (per-item coverage), and the source lines of the fields that
    # hold plain text (checklist, review_documentation, toc), so reading them is noted too
    items: tuple[DocumentItem, ...] = ()
    field_lines: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name in _TEXT_FIELDS:
            note(object.__getattribute__(self, "field_lines").get(name, ()))
        return value

    def _missing(self, section: str, expected: str) -> GuideError:
        return GuideError(self.path, None, section, expected)

    @lookup
    def backup_schedule(self, component: str) -> BackupSchedule:
        for schedule in self.backup_schedules:
            if schedule.component == component:
                return schedule
        names = ", ".join(b.component for b in self.backup_schedules)
        raise self._missing(
            "Backup & Recovery", f"no backup schedule for {component!r}; the guide has {names}"
        )

    @lookup
    def objective(self, component: str) -> RecoveryObjective:
        for row in self.recovery_objectives:
            if row.component.lower() == component.lower():
                return row
        names = ", ".join(r.component for r in self.recovery_objectives)
        raise self._missing(
            "Recovery Time Objectives (RTO)",
            f"no recovery objective for {component!r}; the guide has {names}",
        )

    @lookup
    def key_metric(self, metric: str) -> Objective:
        for row in self.key_metrics:
            if row.metric == metric:
                return row
        names = ", ".join(m.metric for m in self.key_metrics)
        raise self._missing("Key Metrics", f"no key metric {metric!r}; the guide has {names}")

    @lookup
    def severity(self, level: str) -> SeverityLevel:
        for row in self.severity_levels:
            if row.level == level:
                return row
        raise self._missing("Severity Levels", f"no severity level {level!r}")

    def section(self, title: str) -> Section:
        for section in self.sections:
            if section.title == title or section.anchor == title:
                return section
        raise self._missing(title, "no such section")

    @lookup
    def statements_in(self, section: str) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.section == section)

    @lookup
    def command(self, program: str, commands: tuple[Command, ...]) -> Command:
        """The first command of ``commands`` that runs ``program`` (e.g. "pg_restore")."""
        for command in commands:
            if command.text.split()[0] == program:
                return command
        lines = ", ".join(str(c.line) for c in commands) or "none"
        raise self._missing("(commands)", f"no {program} command among the lines {lines}")


def load_guide(path: str | Path = DEFAULT_GUIDE) -> Guide:
    """Read and check the guide; GuideError (exit code 2) names what is missing or malformed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GuideError(
            str(path), None, "(file)", f"cannot read the guide: {exc.strerror}"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise GuideError(str(path), None, "(file)", "expected UTF-8 Markdown text") from None
    return parse_guide(text, str(path), hashlib.sha256(raw).hexdigest())


def parse_guide(text: str, path: str = "<guide>", sha256: str = "") -> Guide:
    """The guide model of ``text``; reading the guide to build it is not a scenario's read."""
    with paused():
        return _parse_guide(text, path, sha256)


def _parse_guide(text: str, path: str, sha256: str) -> Guide:
    reader = _Reader(parse_document(text), path)
    return Guide(
        path=path,
        sha256=sha256 or hashlib.sha256(text.encode()).hexdigest(),
        sections=reader.doc.sections,
        code_blocks=reader.doc.all_code_blocks(),
        recovery_objectives=reader.recovery_objectives(),
        severity_levels=reader.severity_levels(),
        escalation=reader.roles(("Incident Response", "Escalation Matrix")),
        escalation_procedures=reader.roles(("Emergency Contacts", "Escalation Procedures")),
        key_metrics=reader.key_metrics(),
        alert_rules=reader.alert_rules(),
        maintenance_windows=reader.maintenance_windows(),
        maintenance_notices=reader.statements(("Maintenance Windows", "Communication")),
        post_incident_review=reader.review_deadlines(),
        review_documentation=reader.plain_items(("Post-Incident Review", "Documentation")),
        checklist=tuple(
            re.sub(r"^\[[ xX]\]\s*", "", item)
            for item in reader.plain_items(("Deployment Procedures", "Pre-Deployment Checklist"))
        ),
        deployment_steps=reader.deployment_steps(),
        backup_commands=reader.commands(("Backup & Recovery", "Database Backups"))
        + reader.commands(("Backup & Recovery", "File Storage Backups")),
        recovery_commands=reader.commands(("Backup & Recovery", "Recovery Procedures")),
        rollback_commands=reader.commands(("Deployment Procedures", "Rollback Procedures")),
        optimization_sql=reader.commands(("Performance Optimization", "Database Optimization")),
        statements=reader.all_statements(),
        toc=reader.toc(),
        security_phases=reader.phases(("Security Procedures", "Security Incident Response")),
        backup_schedules=(
            reader.backup_schedule("Database", ("Backup & Recovery", "Database Backups")),
            reader.backup_schedule("File Storage", ("Backup & Recovery", "File Storage Backups")),
        ),
        items=reader.doc.every_item(),
        field_lines={
            "checklist": reader.item_lines(("Deployment Procedures", "Pre-Deployment Checklist")),
            "review_documentation": reader.item_lines(("Post-Incident Review", "Documentation")),
            "toc": reader.item_lines(("Table of Contents",)),
        },
    )


class _Reader:
    """Extraction helpers; each raises GuideError with the section, line and expectation."""

    def __init__(self, doc: Document, path: str) -> None:
        self.doc = doc
        self.path = path

    def fail(self, section: str, line: int | None, expected: str) -> GuideError:
        return GuideError(self.path, line, section, expected)

    def section(self, path: tuple[str, ...]) -> Section:
        found = self.doc.find(*path)
        if found is None:
            parent = f" under '{path[0]}'" if len(path) > 1 else ""
            raise self.fail(path[-1], None, f"missing; expected a heading '{path[-1]}'{parent}")
        return found

    def labelled(self, path: tuple[str, ...], minimum: int = 1) -> tuple[Item, ...]:
        section = self.section(path)
        items = tuple(i for i in self.doc.items(section) if i.label)
        if len(items) < minimum:
            raise self.fail(
                section.title,
                section.line,
                f"expected at least {minimum} '- **Label**: text' items",
            )
        return items

    def quantity(self, section: str, item: Item, text: str, what: str) -> Quantity:
        try:
            return parse_quantity(text)
        except ValueError:
            raise self.fail(section, item.line, f"expected {what} in {text!r}") from None

    def recovery_objectives(self) -> tuple[RecoveryObjective, ...]:
        section = self.section(("Recovery Time Objectives (RTO)",))
        tables = self.doc.tables(section)
        expected = ("Component", "RTO", "RPO")
        if not tables or tables[0].header[:3] != expected:
            raise self.fail(
                section.title, section.line, "expected a table with columns Component | RTO | RPO"
            )
        rows = []
        for row, line in zip(tables[0].rows, tables[0].row_lines, strict=True):
            durations = []
            for column, cell in zip(expected[1:], row[1:3], strict=True):
                try:
                    quantity = parse_quantity(cell)
                    durations.append(quantity.seconds)
                except ValueError:
                    raise self.fail(
                        section.title,
                        line,
                        f"expected a duration in the {column} column, got {cell!r}",
                    ) from None
            rows.append(RecoveryObjective(row[0], durations[0], durations[1], line))
        if not rows:
            raise self.fail(section.title, section.line, "expected at least one component row")
        return tuple(rows)

    def severity_levels(self) -> tuple[SeverityLevel, ...]:
        levels = self.labelled(("Incident Response", "Severity Levels"))
        timeline = {i.label: i for i in self.labelled(("Incident Response", "Response Timeline"))}
        result = []
        for item in levels:
            assert item.label is not None
            match = re.fullmatch(r"(P\d)\s*\(([^)]+)\)", item.label)
            if not match:
                raise self.fail(
                    "Severity Levels", item.line, f"expected '**P<n> (Name)**', got {item.label!r}"
                )
            response = timeline.get(match.group(1))
            if response is None:
                raise self.fail(
                    "Response Timeline", None, f"missing a '**{match.group(1)}**' response time"
                )
            seconds = self.quantity(
                "Response Timeline", response, response.text, "a response time"
            ).seconds
            result.append(
                SeverityLevel(
                    match.group(1),
                    match.group(2),
                    item.text,
                    seconds,
                    response.text,
                    item.line,
                    response.line,
                )
            )
        return tuple(result)

    def roles(self, path: tuple[str, ...]) -> tuple[Role, ...]:
        section = self.section(path)
        items = [i for i in self.doc.items(section) if i.ordinal and i.label and i.depth == 0]
        if len(items) < 2:
            raise self.fail(
                section.title,
                section.line,
                "expected an ordered list of at least two '**Role**' levels",
            )
        roles = []
        for item in items:
            assert item.label is not None
            assert item.ordinal is not None
            if path[-1] == "Escalation Matrix":
                roles.append(Role(item.ordinal, item.label, item.text.strip("() "), item.line))
            else:
                roles.append(Role(item.ordinal, item.text, item.label, item.line))
        return tuple(roles)

    def key_metrics(self) -> tuple[Objective, ...]:
        result = []
        for item in self.labelled(("Monitoring & Alerting", "Key Metrics")):
            assert item.label is not None
            quantity = self.quantity("Key Metrics", item, item.text, "a target such as '< 500ms'")
            # "99.9% target" states no comparator: a target is a floor ("at least").
            comparator = quantity.comparator or ">="
            result.append(
                Objective(
                    "Key Metrics",
                    item.text,
                    item.label,
                    comparator,
                    quantity.value,
                    quantity.unit,
                    item.line,
                )
            )
        return tuple(result)

    def alert_rules(self) -> tuple[Objective, ...]:
        section = self.section(("Monitoring & Alerting", "Alerting Rules"))
        blocks = [b for b in self.doc.code_blocks(section) if b.language in ("yaml", "yml")]
        if not blocks:
            raise self.fail(section.title, section.line, "expected a ```yaml block of alert rules")
        rules: list[Objective] = []
        source: str | None = None
        for offset, raw in enumerate(blocks[0].text.splitlines()):
            line, stripped = blocks[0].line + offset, raw.strip()
            if stripped.startswith("#"):
                source = re.sub(r"\s*(Service\s+)?Alerts?$", "", stripped.lstrip("# ").strip())
            elif stripped.startswith("- "):
                if source is None:
                    raise self.fail(
                        section.title,
                        line,
                        "expected a '# <Source> Alerts' comment before the first rule",
                    )
                rules.append(_alert_rule(source, stripped[2:].strip(), line))
            elif stripped:
                raise self.fail(
                    section.title,
                    line,
                    f"expected '# <Source> Alerts' or '- <rule>', got {stripped!r}",
                )
        if not rules:
            raise self.fail(section.title, blocks[0].line, "expected at least one '- <rule>' line")
        return tuple(rules)

    def maintenance_windows(self) -> tuple[MaintenanceWindow, ...]:
        windows = []
        for item in self.labelled(("Maintenance Windows", "Scheduled Maintenance")):
            assert item.label is not None
            windows.append(_maintenance_window(item.label, item.text, item.line))
        weekly = [w for w in windows if w.cadence == "Weekly"]
        if not weekly or weekly[0].weekday is None:
            raise self.fail(
                "Scheduled Maintenance", None, "expected '**Weekly**: <Day> <h>-<h> AM|PM <TZ>'"
            )
        return tuple(windows)

    def review_deadlines(self) -> tuple[Deadline, ...]:
        result = []
        for item in self.labelled(("Post-Incident Review", "Review Process"), minimum=1):
            assert item.label is not None
            seconds = self.quantity(
                "Review Process", item, item.text, "a deadline such as 'within 24h'"
            ).seconds
            result.append(Deadline(item.label, item.text, seconds, item.line))
        return tuple(result)

    def plain_items(self, path: tuple[str, ...]) -> tuple[str, ...]:
        section = self.section(path)
        items = tuple(i.text for i in self.doc.items(section) if i.text)
        if not items:
            raise self.fail(section.title, section.line, "expected a list of items")
        return items

    def item_lines(self, path: tuple[str, ...]) -> tuple[int, ...]:
        found = self.doc.find(*path)
        return tuple(i.line for i in self.doc.items(found)) if found is not None else ()

    def deployment_steps(self) -> tuple[DeploymentStep, ...]:
        commands = self.commands(("Deployment Procedures", "Deployment Steps"))
        steps = []
        for command in commands:
            match = re.fullmatch(r"(\d+)\.\s*(.+)", command.comment or "")
            if not match:
                raise self.fail(
                    "Deployment Steps",
                    command.line,
                    "expected a '# <n>. <title>' comment above each command",
                )
            steps.append(
                DeploymentStep(int(match.group(1)), match.group(2), command.text, command.line)
            )
        if [s.number for s in steps] != list(range(1, len(steps) + 1)):
            raise self.fail(
                "Deployment Steps", steps[0].line, "expected steps numbered 1, 2, 3, ... in order"
            )
        return tuple(steps)

    def commands(self, path: tuple[str, ...]) -> tuple[Command, ...]:
        section = self.section(path)
        found = tuple(c for b in self.doc.code_blocks(section) for c in b.commands())
        if not found:
            raise self.fail(
                section.title,
                section.line,
                "expected a ```bash or ```sql block with at least one command",
            )
        return found

    def statements(self, path: tuple[str, ...]) -> tuple[Statement, ...]:
        return tuple(
            Statement(path[-1], i.label, i.text, i.line) for i in self.labelled(path) if i.label
        )

    def backup_schedule(self, component: str, path: tuple[str, ...]) -> BackupSchedule:
        """The schedule stated in the comments of a backup section's code block, if any."""
        section = self.section(path)
        comments = [c for b in self.doc.code_blocks(section) for c in b.comments()]
        for text, line in comments:
            interval = schedule_interval(text)
            if interval is not None:
                return BackupSchedule(component, interval, text, line)
        text, line = comments[0] if comments else ("", section.line)
        return BackupSchedule(component, None, text, line)

    def phases(self, path: tuple[str, ...]) -> tuple[Phase, ...]:
        section = self.section(path)
        phases: list[Phase] = []
        actions: list[Item] = []

        def close(phase: Phase) -> Phase:
            texts, lines = tuple(a.text for a in actions), tuple(a.line for a in actions)
            return Phase(phase.number, phase.name, texts, phase.line, lines)

        for item in self.doc.items(section):
            if item.depth == 0 and item.ordinal and item.label:
                if phases:
                    phases[-1] = close(phases[-1])
                phases.append(Phase(item.ordinal, item.label, (), item.line))
                actions = []
            elif item.depth > 0 and phases:
                actions.append(item)
        if phases:
            phases[-1] = close(phases[-1])
        if len(phases) < 2 or any(not p.actions for p in phases):
            raise self.fail(
                section.title,
                section.line,
                "expected numbered '**Phase**' items, each with a list of actions",
            )
        return tuple(phases)

    def toc(self) -> tuple[tuple[str, str], ...]:
        section = self.doc.find("Table of Contents")
        if section is None:
            return ()
        return tuple((i.text, i.links[0]) for i in self.doc.items(section) if i.links)

    def all_statements(self) -> tuple[Statement, ...]:
        return tuple(
            Statement(section.title, item.label, item.text, item.line)
            for section in self.doc.sections
            for item in self.doc.items(section)
            if item.label and item.text
        )


def _alert_rule(source: str, text: str, line: int) -> Objective:
    match = re.fullmatch(r"(?P<metric>.+?)\s*(?P<rest>(?:<=|>=|[<>≤≥]).*)", text)
    if not match:
        return Objective(source, text, text, None, None, None, line)
    quantity = parse_quantity(match.group("rest"))
    return Objective(
        source,
        text,
        match.group("metric"),
        quantity.comparator,
        quantity.value,
        quantity.unit,
        line,
    )


_CADENCES = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "nightly": 86400.0,
    "weekly": 604800.0,
    "monthly": 31 * 86400.0,
    "quarterly": 92 * 86400.0,
    "yearly": 366 * 86400.0,
}


def schedule_interval(text: str) -> float | None:
    lowered = text.lower()
    for word, seconds in _CADENCES.items():
        if re.search(rf"\b{word}\b", lowered):
            return seconds
    every = re.search(r"\bevery\s+(.+)", lowered)
    if every:
        try:
            return parse_quantity(every.group(1)).seconds
        except ValueError:
            return None
    return None


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def _maintenance_window(cadence: str, text: str, line: int) -> MaintenanceWindow:
    lowered = text.lower()
    weekday = next((i for i, day in enumerate(_WEEKDAYS) if day in lowered), None)
    hours = re.search(r"(\d{1,2})\s*-\s*(\d{1,2})\s*(am|pm)\s*([A-Z]{2,5})?", text, re.IGNORECASE)
    ordinal = next((n for word, n in _ORDINALS.items() if re.search(rf"\b{word}\b", lowered)), None)
    start = end = None
    timezone = None
    if hours:
        shift = 12 if hours.group(3).lower() == "pm" else 0
        start, end = int(hours.group(1)) % 12 + shift, int(hours.group(2)) % 12 + shift
        timezone = hours.group(4)
    return MaintenanceWindow(cadence, text, line, weekday, start, end, timezone, ordinal)
