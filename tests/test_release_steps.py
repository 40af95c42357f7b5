"""The guide's Deployment Steps run in its order from a named step (a scenario about one step's
faults need not run the npm steps before it), and a step the guide does not have is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide import reading
from runbook_lib.guide.model import Guide, load_guide
from runbook_lib.procedures.deployment import deploy
from tests.served_vercel import ServedVercel, served


@pytest.fixture(scope="module")
def guide() -> Guide:
    return load_guide()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ServedVercel]:
    with served(tmp_path) as world:
        yield world


def _release(world: ServedVercel) -> deploy.Release:
    return deploy.Release(world.repo, world.vercel, arrange=world.cloud.vercel.doom)


def _version(repo: Path) -> str:
    return str(json.loads((repo / "package.json").read_text())["version"])


def test_from_a_named_step_the_earlier_steps_are_listed_as_not_run(
    world: ServedVercel, guide: Guide
) -> None:
    """Broken world: a release that ran the earlier steps anyway (npm bumps the version), or
    skipped the named one."""
    release = _release(world)
    release.start_at = "vercel --target staging"
    deploy.run_release(guide, release)
    statuses = [(s.number, s.status) for s in release.steps]
    assert statuses[:4] == [(1, "not run"), (2, "not run"), (3, "not run"), (4, "not run")]
    assert statuses[4] == (5, "passed")
    assert _version(world.repo) == "1.1.9"  # `npm version patch` never ran
    assert release.staging is not None
    assert world.cli.runs[0].command == "vercel --target staging"


def test_a_start_the_guide_does_not_have_is_refused_before_anything_runs(
    world: ServedVercel, guide: Guide
) -> None:
    """(A stop the guide does not have runs every step: the step after which the release would
    have stopped never came; the scenario's own check then says what went wrong.)"""
    release = _release(world)
    release.start_at = "vercel --target qa"
    with pytest.raises(ConfigurationError, match="have no `vercel --target qa`"):
        deploy.run_release(guide, release)
    assert release.steps == []
    assert world.cli.runs == []


def test_a_release_reads_only_the_lines_of_the_steps_it_runs(
    world: ServedVercel, guide: Guide
) -> None:
    """The evidence credits a scenario with the guide lines it read. Broken world (it shipped
    once, in the change that added ``start_at``): looking the start up read every step's
    command, and a release stopped after ``npm version patch`` claimed ``npm run test:ci``
    ... ``vercel logs --prod`` as proven by real programs."""
    with reading.paused():
        line_of = {s.command: s.line for s in guide.deployment_steps}
    release = _release(world)
    release.stop_after = "npm version patch"
    with reading.recording() as lines:
        deploy.run_release(guide, release)
    assert {line_of["git checkout -b release/v1.2.0"], line_of["npm version patch"]} <= lines
    assert not {line_of["npm run test:ci"], line_of["vercel --target staging"]} & lines
    release = _release(world)
    release.start_at = "vercel logs --prod"  # fails (nothing in production): read, not run
    with reading.recording() as lines:
        deploy.run_release(guide, release)
    assert line_of["vercel logs --prod"] in lines
    assert not {line_of["npm version patch"], line_of["vercel --prod"]} & lines
