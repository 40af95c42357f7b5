"""pytest plugin for ``runbook drill`` (``-p runbook_lib.progress``): a line per scenario.

"[  3/12] backup_recovery > Restore meets the Database RTO  PASS  4.2s" instead of dots, so a
long drill shows where it is. Also home of :func:`scenario_template`, the one place that maps
a collected item back to its Gherkin scenario.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd.parser import ScenarioTemplate
from pytest_bdd.scenario import scenario_wrapper_template_registry

_PROGRESS_CONFIG: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    _PROGRESS_CONFIG[:] = [config]


def scenario_template(item: pytest.Item) -> ScenarioTemplate | None:
    """The Gherkin scenario behind a collected item (None for plain tests)."""
    function = getattr(item, "obj", None)
    if function is None:
        return None
    try:
        return scenario_wrapper_template_registry.get(function)
    except TypeError:  # not weak-referenceable: not a scenario
        return None


_LABELS = pytest.StashKey[dict[str, str]]()
_WORDS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    labels = config.stash.setdefault(_LABELS, {})
    for number, item in enumerate(items, 1):
        template = scenario_template(item)
        name = (
            f"{Path(template.feature.filename).stem} > {template.name}" if template else item.name
        )
        labels[item.nodeid] = f"[{number:>3}/{len(items)}] {name}"


def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if _is_final(report):
        outcome = "xfailed" if _is_gap(report) else report.outcome
        return outcome, "", outcome.upper()
    return None


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _is_final(report):
        word = "GAP " if _is_gap(report) else _WORDS.get(report.outcome, report.outcome)
        label = (
            _PROGRESS_CONFIG[0].stash.get(_LABELS, {}).get(report.nodeid, report.nodeid)
            if _PROGRESS_CONFIG
            else report.nodeid
        )
        print(f"{label}  {word}  {report.duration:.1f}s", flush=True)


def _is_final(report: pytest.TestReport) -> bool:
    return report.when == "call" or (report.when == "setup" and report.outcome != "passed")


def _is_gap(report: pytest.TestReport) -> bool:
    return hasattr(report, "wasxfail") and report.skipped
