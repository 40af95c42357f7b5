"""pytest plugin for ``runbook drill`` (``-p runbook_lib.drill.progress``): a line per scenario.

"[  3/12] backup_recovery > Restore meets the Database RTO  PASS  4.2s" instead of dots, so a
long drill shows where it is. Also home of :func:`scenario_template`, the one place that maps
a collected item back to its Gherkin scenario.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd.parser import ScenarioTemplate
from pytest_bdd.scenario import scenario_wrapper_template_registry


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(ProgressLines(config), "runbook-progress-lines")


def scenario_template(item: pytest.Item) -> ScenarioTemplate | None:
    """The Gherkin scenario behind a collected item (None for plain tests)."""
    function = getattr(item, "obj", None)
    if function is None:
        return None
    try:
        return scenario_wrapper_template_registry.get(function)
    except TypeError:  # not weak-referenceable: not a scenario
        return None


_TOTAL = pytest.StashKey[int]()
_DONE = pytest.StashKey[int]()
_WORDS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[_TOTAL] = len(items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Name the scenario on the item's reports, so an xdist controller can print it too."""
    template = scenario_template(item)
    if template is not None:
        stem = Path(template.feature.filename).stem
        item.user_properties.append(("scenario", f"{stem} > {template.name}{example_label(item)}"))


def example_label(item: pytest.Item) -> str:
    """ " [level=P0, ...]" for a Scenario Outline example, "" for a plain scenario."""
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example", {}) if callspec is not None else {}
    return f" [{', '.join(f'{k}={v}' for k, v in example.items())}]" if example else ""


def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if _is_final(report):
        outcome = "xfailed" if _is_gap(report) else report.outcome
        return outcome, "", outcome.upper()
    return None


class ProgressLines:
    """Prints one line per finished scenario, counting against the collected total."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        """Under xdist the controller collects nothing itself: the workers say how many."""
        self.config.stash[_TOTAL] = len(ids)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not _is_final(report):
            return
        stash = self.config.stash
        stash[_DONE] = stash.get(_DONE, 0) + 1
        word = "GAP " if _is_gap(report) else _WORDS.get(report.outcome, report.outcome)
        if getattr(report, "not_runnable", None):  # a capability the server lacks, named
            word = f"NOT RUNNABLE (needs {report.not_runnable})"
        name = dict(report.user_properties).get("scenario", report.nodeid)
        print(
            f"[{stash[_DONE]:>3}/{stash.get(_TOTAL, 0)}] {name}  {word}  {report.duration:.1f}s",
            flush=True,
        )


def _is_final(report: pytest.TestReport) -> bool:
    return report.when == "call" or (report.when == "setup" and report.outcome != "passed")


def _is_gap(report: pytest.TestReport) -> bool:
    return hasattr(report, "wasxfail") and report.skipped
