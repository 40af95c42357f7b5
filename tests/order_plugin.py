"""A pytest plugin for drills started by tests: ``RUNBOOK_TEST_ORDER`` lists substrings of
test names; the scenarios run in that order (the scheduler's order is otherwise the
durations', and a scenario must not depend on what ran before it)."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    wanted = [w for w in os.environ.get("RUNBOOK_TEST_ORDER", "").split("|") if w]
    if wanted:
        items.sort(
            key=lambda i: next((n for n, w in enumerate(wanted) if w in i.name), len(wanted))
        )
