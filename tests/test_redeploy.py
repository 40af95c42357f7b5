"""Application Recovery runs the guide's own command, and says when that command alone would not
have taken production back (after a rollback Vercel stops assigning production)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from runbook_lib.errors import ConfigurationError
from runbook_lib.procedures.deployment import deploy
from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.sim.cloud import VERCEL_PROJECT_ID, VERCEL_PROJECT_NAME, SimulatedCloud


@pytest.fixture
def client() -> Iterator[VercelClient]:
    cloud = SimulatedCloud()
    with (
        respx.mock(assert_all_mocked=True, assert_all_called=False) as router,
        httpx.Client() as http,
    ):
        for host, handler in cloud.routes():
            router.route(host__regex=f"^{host}$").mock(side_effect=handler)
        yield VercelClient(
            cloud.credentials.vercel_token,
            VERCEL_PROJECT_ID,
            VERCEL_PROJECT_NAME,
            cloud.clock,
            http,
        )


def test_a_redeploy_without_a_rollback_reaches_production_by_itself(client: VercelClient) -> None:
    deploy.ship(client, "a" * 40)
    done = deploy.redeploy(client, "b" * 40, "vercel --prod")
    assert not done.promoted
    production = client.production()
    assert production is not None
    assert production.id == done.deployment.id


def test_after_a_rollback_the_guides_command_needs_a_promote_and_says_so(
    client: VercelClient,
) -> None:
    deploy.ship(client, "a" * 40)
    deploy.ship(client, "b" * 40)
    deploy.rollback_production(client)
    done = deploy.redeploy(client, "c" * 40, "vercel --prod")
    assert done.promoted  # the step reports GUIDE-REDEPLOY-AFTER-ROLLBACK for this


def test_a_command_the_drill_cannot_map_is_refused_not_replaced(client: VercelClient) -> None:
    with pytest.raises(ConfigurationError, match="cannot map"):
        deploy.redeploy(client, "a" * 40, "vercel deploy --prebuilt --prod")
