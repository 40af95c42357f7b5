"""The feature files, read once and typed: the one home of Gherkin reading outside the drills.

Drift (guide figures quoted in feature tables), guide coverage (``@guide:<anchor>``) and
compliance coverage (``@compliance:<NAME>``) all read the features through :func:`read_features`.
It is built on pytest-bdd's own parser (``pytest_bdd.gherkin_parser.get_gherkin_document``, the
document its ``FeatureParser`` turns into the scenarios the drills run), so it sees exactly what
the drills run: the same scenarios, steps and tags, and a feature file the drills would refuse
is refused here too. Unlike pytest-bdd's scenario objects it keeps the order of tags and the line
of every table row, which drift reports point at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.gherkin_parser import DataTable, ExamplesTable, Tag, get_gherkin_document
from pytest_bdd.gherkin_parser import Row as GherkinRow
from pytest_bdd.gherkin_parser import Scenario as GherkinScenario
from pytest_bdd.gherkin_parser import Step as GherkinStep

from runbook_lib.errors import ConfigurationError


@dataclass(frozen=True)
class Row:
    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A step's data table or an outline's examples: the first row is the header."""

    rows: tuple[Row, ...]
    tags: tuple[str, ...] = ()  # an examples table's own tags

    @property
    def line(self) -> int:
        return self.rows[0].line

    @property
    def header(self) -> tuple[str, ...]:
        return self.rows[0].cells

    @property
    def body(self) -> tuple[Row, ...]:
        return self.rows[1:]


@dataclass(frozen=True)
class Step:
    keyword: str
    text: str
    line: int
    table: Table | None = None


@dataclass(frozen=True)
class Scenario:
    feature: str  # the stem of its feature file
    name: str
    line: int
    tags: tuple[str, ...]  # without "@": the feature's (and rule's) first, then its own
    steps: tuple[Step, ...]  # the background's first, as the drill runs them
    examples: tuple[Table, ...] = ()

    @property
    def title(self) -> str:
        """``<feature stem>: <scenario name>``, how coverage and evidence name a scenario."""
        return f"{self.feature}: {self.name}"

    def values(self, kind: str) -> tuple[str, ...]:
        """The values of its ``@kind:<value>`` tags, in order."""
        prefix = f"{kind}:"
        return tuple(tag[len(prefix) :] for tag in self.tags if tag.startswith(prefix))


@dataclass(frozen=True)
class FeatureFile:
    path: Path
    name: str
    line: int
    tags: tuple[str, ...]  # without "@", in file order
    scenarios: tuple[Scenario, ...]

    @property
    def stem(self) -> str:
        return self.path.stem

    def values(self, kind: str) -> tuple[str, ...]:
        """The values of the feature's own ``@kind:<value>`` tags, in order."""
        prefix = f"{kind}:"
        return tuple(tag[len(prefix) :] for tag in self.tags if tag.startswith(prefix))

    def tables(self) -> tuple[Table, ...]:
        """Every table of the file once (a background's too), in file order."""
        found: dict[int, Table] = {}
        for scenario in self.scenarios:
            for table in (*(s.table for s in scenario.steps if s.table), *scenario.examples):
                found.setdefault(table.line, table)
        return tuple(found[line] for line in sorted(found))


def read_features(directory: Path) -> tuple[FeatureFile, ...]:
    """Every ``*.feature`` file of ``directory``, sorted by file name."""
    return tuple(read_feature(path) for path in sorted(directory.glob("*.feature")))


def read_feature(path: Path) -> FeatureFile:
    """One feature file; a file pytest-bdd cannot parse is a :class:`ConfigurationError`."""
    try:
        document = get_gherkin_document(str(path.resolve()))
    except GherkinParseError as exc:
        raise ConfigurationError(
            f"{path}:{exc.line}: {exc.message}; fix the feature file, the drills cannot run it"
        ) from exc
    feature = document.feature
    tags = _tag_names(feature.tags)
    background: tuple[Step, ...] = ()
    scenarios: list[Scenario] = []
    for child in feature.children:
        if child.background:
            background = _steps(child.background.steps)
        elif child.scenario:
            scenarios.append(_scenario(path.stem, child.scenario, tags, background))
        elif child.rule:
            rule_tags = _merged(tags, _tag_names(child.rule.tags))
            rule_background = background
            for grandchild in child.rule.children:
                if grandchild.background:
                    rule_background = background + _steps(grandchild.background.steps)
                elif grandchild.scenario:
                    scenarios.append(
                        _scenario(path.stem, grandchild.scenario, rule_tags, rule_background)
                    )
    return FeatureFile(path, feature.name, feature.location.line, tags, tuple(scenarios))


def scenarios_by_tag(features: Iterable[FeatureFile], kind: str) -> dict[str, list[str]]:
    """``@kind:<value>`` tag value (upper case) -> titles of the scenarios carrying it, a
    feature's tags counting for each of its scenarios."""
    found: dict[str, list[str]] = {}
    for feature in features:
        for scenario in feature.scenarios:
            for value in scenario.values(kind):
                found.setdefault(value.upper(), []).append(scenario.title)
    return found


def _scenario(
    stem: str, scenario: GherkinScenario, inherited: tuple[str, ...], background: tuple[Step, ...]
) -> Scenario:
    return Scenario(
        stem,
        scenario.name,
        scenario.location.line,
        _merged(inherited, _tag_names(scenario.tags)),
        background + _steps(scenario.steps),
        tuple(_examples(table) for table in scenario.examples if table.table_header is not None),
    )


def _steps(steps: list[GherkinStep]) -> tuple[Step, ...]:
    return tuple(
        Step(
            step.keyword.strip(),
            step.text,
            step.location.line,
            _table(step.datatable) if step.datatable else None,
        )
        for step in steps
    )


def _table(table: DataTable) -> Table:
    return Table(tuple(_row(row) for row in table.rows))


def _examples(table: ExamplesTable) -> Table:
    assert table.table_header is not None
    rows = [table.table_header, *(table.table_body or [])]
    return Table(tuple(_row(row) for row in rows), _tag_names(table.tags))


def _row(row: GherkinRow) -> Row:
    return Row(row.location.line, tuple(cell.value for cell in row.cells))


def _tag_names(tags: list[Tag]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.name.lstrip("@") for tag in tags))


def _merged(first: tuple[str, ...], then: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *then)))
