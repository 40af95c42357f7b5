"""Stateful property test: whatever happens, production is a READY deployment that passed its
smoke test, and a rollback lands on the newest earlier healthy deployment (the REST path, :func:`ship`)."""

from __future__ import annotations

import httpx
import respx
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from runbook_lib.errors import ProcedureFailed
from runbook_lib.procedures.deployment import deploy
from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.sim.cloud import VERCEL_PROJECT_ID, VERCEL_PROJECT_NAME, SimulatedCloud


class DeploymentMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.cloud = SimulatedCloud()
        self.router = respx.mock(assert_all_mocked=True, assert_all_called=False)
        self.router.start()
        for host, handler in self.cloud.routes():
            self.router.route(host__regex=f"^{host}$").mock(side_effect=handler)
        self.http = httpx.Client()
        self.client = VercelClient(
            self.cloud.credentials.vercel_token,
            VERCEL_PROJECT_ID,
            VERCEL_PROJECT_NAME,
            self.cloud.clock,
            self.http,
            bypass_secret=self.cloud.vercel.projects[VERCEL_PROJECT_ID].bypass_secret,
        )
        self.commits = 0
        self.healthy: list[str] = [
            deploy.ship(self.client, self._commit()).id
        ]  # model: healthy deployments, oldest first

    def teardown(self) -> None:
        self.http.close()
        self.router.stop()

    def _commit(self) -> str:
        self.commits += 1
        return f"{self.commits:040x}"

    @rule(kind=st.sampled_from(["healthy", "unhealthy", "failed build"]))
    def release(self, kind: str) -> None:
        meta = {
            "simulateUnhealthy": kind == "unhealthy",
            "simulateBuildFailure": kind == "failed build",
        }
        try:
            shipped = deploy.ship(self.client, self._commit(), meta)
        except ProcedureFailed:
            assert kind != "healthy"
        else:
            assert kind == "healthy"
            self.healthy.append(shipped.id)

    @precondition(lambda self: len(self.healthy) >= 2)
    @rule()
    def rollback(self) -> None:
        current = self.client.production()
        assert current is not None
        # ids are random: the model's order is the order of creation
        expected = self.healthy[: self.healthy.index(current.id)][-1:]
        if not expected:
            return
        result = deploy.rollback_with_client(self.client)
        assert result.to.id == expected[0]

    @rule(minutes=st.integers(min_value=0, max_value=120))
    def time_passes(self, minutes: int) -> None:
        self.cloud.clock.advance(minutes * 60)

    @invariant()
    def production_is_ready_and_passed_its_smoke_test(self) -> None:
        current = self.client.production()
        assert current is not None
        assert current.state == "READY"
        assert current.id in self.healthy
        assert self.client.healthy(current)


TestDeployments = DeploymentMachine.TestCase
TestDeployments.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
