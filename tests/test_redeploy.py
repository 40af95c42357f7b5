"""Application Recovery runs the guide's own command through the real Vercel CLI, and says when
that command alone would not have taken production back (after a rollback Vercel stops assigning
production until a promote, which then runs through the CLI too)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_lib.errors import ConfigurationError
from runbook_lib.procedures.deployment import deploy
from tests.served_vercel import ServedVercel, served


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ServedVercel]:
    with served(tmp_path) as world:
        yield world


def test_a_redeploy_without_a_rollback_reaches_production_by_itself(world: ServedVercel) -> None:
    deploy.ship(world.client, "a" * 40)
    done = deploy.redeploy(world.vercel, "vercel --prod")
    assert not done.promoted
    assert done.promote is None
    production = world.client.production()
    assert production is not None
    assert production.id == done.deployment.id
    assert done.seconds == pytest.approx(65)  # queued 5 s + built 60 s, on the simulated clock
    assert [run.command for run in world.cli.runs] == ["vercel --prod"]


def test_after_a_rollback_the_guides_command_needs_a_promote_and_says_so(
    world: ServedVercel,
) -> None:
    """Broken world: a simulation that keeps assigning production after a rollback (the finding
    would never show), or a promote that does not move production."""
    deploy.ship(world.client, "a" * 40)
    deploy.ship(world.client, "b" * 40)
    deploy.rollback_with_client(world.client)
    done = deploy.redeploy(world.vercel, "vercel --prod")
    assert done.promoted  # the step reports GUIDE-REDEPLOY-AFTER-ROLLBACK for this
    assert done.promote is not None
    assert done.promote.ok
    assert done.promote.command == f"vercel promote {done.deployment.url}"
    production = world.client.production()
    assert production is not None
    assert production.id == done.deployment.id


def test_a_command_that_is_no_production_deploy_is_refused_not_replaced(
    world: ServedVercel,
) -> None:
    with pytest.raises(ConfigurationError, match="no production deploy"):
        deploy.redeploy(world.vercel, "vercel deploy --prebuilt")
    assert world.cli.runs == []
