"""A simulated cloud served over real HTTP(S) on loopback, with the real Vercel CLI linked to an
app repository: what the drill gives the deployment scenarios, for the unit tests that need the
real client (tests/test_contracts_vercel.py, tests/test_redeploy.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.procedures.deployment import deploy
from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.procedures.deployment.vercel_cli import VercelCli
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.serve import Gateway, SessionCA


@dataclass(frozen=True)
class ServedVercel:
    cloud: SimulatedCloud
    gateway: Gateway
    vercel: deploy.Vercel
    repo: Path

    @property
    def client(self) -> VercelClient:
        return self.vercel.client

    @property
    def cli(self) -> VercelCli:
        return self.vercel.cli


def client_of(cloud: SimulatedCloud, gateway: Gateway, bypass: bool = True) -> VercelClient:
    target = cloud.target
    project = cloud.vercel.projects[target.vercel_project]
    return VercelClient(
        cloud.credentials.vercel_token,
        target.vercel_project,
        target.vercel_project_name,
        cloud.clock,
        gateway.client(),
        bypass_secret=project.bypass_secret if bypass else None,
    )


@contextmanager
def served(tmp_path: Path, cloud: SimulatedCloud | None = None) -> Iterator[ServedVercel]:
    """The cloud's routes on a gateway, the pinned CLI configured for its Vercel origin (a test
    fails when the CLI is not installed: `runbook setup` installs it), the repo linked."""
    cloud = cloud or SimulatedCloud()
    gateway = Gateway(SessionCA(tmp_path / "ca")).start()
    try:
        with gateway.mounted(cloud.routes()):
            cli = VercelCli.prepare(
                tmp_path / "cli", cloud.credentials.vercel_token, gateway.origin("api.vercel.com")
            )
            repo = deploy.make_app_repo(tmp_path / "app")
            team = cloud.vercel.backend.account.team_id
            linked = cli.link(repo, cloud.target.vercel_project, team)
            client = client_of(cloud, gateway)
            with client.http:
                yield ServedVercel(cloud, gateway, deploy.Vercel(client, linked), repo)
    finally:
        gateway.stop()
