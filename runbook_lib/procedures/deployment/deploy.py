"""Deployment Procedures, Rollback Procedures and Application Recovery (guide sections of the
same names).

- :func:`readiness_gate` refuses a release while any Pre-Deployment Checklist item is unmet.
- :func:`run_release` runs the guide's Deployment Steps in order on a real git repository: git and
  npm commands run as written (npm where installed), ``vercel`` commands map to the Vercel REST
  API (see :mod:`runbook_lib.procedures.deployment.vercel`), and ``npm run e2e:staging`` is the drill's smoke test of
  the staging deployment. The first failing step stops every later one.
- :func:`rollback_production` is ``vercel rollback --prod``: back to the newest earlier
  production deployment that is READY and healthy.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.errors import ConfigurationError, ProcedureFailed, RunbookError
from runbook_lib.guide.model import DeploymentStep, Guide
from runbook_lib.procedures.deployment.vercel import Deployment, VercelClient
from runbook_lib.world import rewrites, shell
from runbook_lib.world.rewrites import Rewrite

NPM_ENV = {
    "NPM_CONFIG_UPDATE_NOTIFIER": "false",
    "NPM_CONFIG_OFFLINE": "true",
    "NPM_CONFIG_FUND": "false",
    "NPM_CONFIG_AUDIT": "false",
    "GIT_AUTHOR_NAME": "Runbook Drill",
    "GIT_AUTHOR_EMAIL": "drill@napoleon.ai",
    "GIT_COMMITTER_NAME": "Runbook Drill",
    "GIT_COMMITTER_EMAIL": "drill@napoleon.ai",
}


def readiness_gate(checklist: tuple[str, ...], status: dict[str, bool]) -> None:
    """Refuse the release, naming every checklist item that is not met (or not reported)."""
    unmet = [item for item in checklist if not status.get(item, False)]
    if unmet:
        raise ProcedureFailed(f"release refused: checklist items not met: {', '.join(unmet)}")


@dataclass(frozen=True)
class StepResult:
    number: int
    title: str
    command: str
    status: str  # passed, failed, not run
    detail: str = ""


@dataclass
class Release:
    repo: Path
    client: VercelClient
    staging: Deployment | None = None
    production: Deployment | None = None
    steps: list[StepResult] = field(default_factory=list)
    version: str = ""
    faults: dict[str, dict[str, bool]] = field(
        default_factory=dict
    )  # target -> Vercel fake meta flags

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)


def make_app_repo(
    path: Path, version: str = "1.1.9", scripts: dict[str, str] | None = None
) -> Path:
    """A minimal Next.js-like app repository with the npm scripts the guide runs."""
    path.mkdir(parents=True, exist_ok=True)
    package = {
        "name": "napoleon-ai",
        "version": version,
        "private": True,
        "scripts": {
            "test:ci": "node -e \"console.log('tests passed')\"",
            "build": "node -e \"require('fs').mkdirSync('.next', {recursive: true}); console.log('built')\"",
            "e2e:staging": "node -e \"console.log('smoke tests run by the drill against the staging URL')\"",
            **(scripts or {}),
        },
    }
    (path / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    (path / ".gitignore").write_text(".next/\nnode_modules/\n")
    env = shell.child_env(NPM_ENV)
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "."],
        ["git", "commit", "-q", "-m", "app"],
    ):
        shell.run(argv, cwd=str(path), env=env).check()
    return path


def set_script(repo: Path, name: str, command: str) -> None:
    """Change an npm script and commit it (how a broken test suite or build enters a release)."""
    package = json.loads((repo / "package.json").read_text())
    package["scripts"][name] = command
    (repo / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    env = shell.child_env(NPM_ENV)
    shell.run(["git", "commit", "-q", "-am", f"change {name}"], cwd=str(repo), env=env).check()


def run_release(guide: Guide, release: Release) -> Release:
    """The guide's Deployment Steps in order; the first failure stops the rest."""
    for step in guide.deployment_steps:
        if release.failed_step:
            release.steps.append(StepResult(step.number, step.title, step.command, "not run"))
            continue
        try:
            detail = _run_step(step, release)
        except RunbookError as exc:
            release.steps.append(
                StepResult(step.number, step.title, step.command, "failed", str(exc))
            )
        else:
            release.steps.append(
                StepResult(step.number, step.title, step.command, "passed", detail)
            )
    return release


def _run_step(step: DeploymentStep, release: Release) -> str:
    command, client = step.command, release.client
    env = shell.child_env(NPM_ENV)
    if command.startswith("git "):
        return shell.run_shell(command, cwd=str(release.repo), env=env).check().stdout.strip()
    if command == "npm version patch":
        result = _npm(["version", "patch"], release.repo, env)
        release.version = json.loads((release.repo / "package.json").read_text())["version"]
        return result
    if command == "npm run e2e:staging":
        return smoke_test(client, release.staging)
    if command.startswith("npm run "):
        return _npm(["run", command.removeprefix("npm run ")], release.repo, env)
    commit = shell.run(["git", "rev-parse", "HEAD"], cwd=str(release.repo)).check().stdout.strip()
    if command == "vercel --target staging":
        release.staging = client.wait_ready(
            client.deploy("staging", commit, release.faults.get("staging"))
        )
        return f"staging deployment {release.staging.id} READY"
    if command == "vercel --prod":
        release.production = client.wait_ready(
            client.deploy("production", commit, release.faults.get("production"))
        )
        return f"production deployment {release.production.id} READY"
    if command == "vercel logs --prod":
        return monitor(client, release.production)
    raise ConfigurationError(
        f"the guide's deployment step {step.number} runs `{command}`, which the drill cannot map"
    )


# What the drill runs for each vercel line of the guide: the drill's REST client on the
# simulated Vercel API (the same client live mode uses), not the Vercel CLI.
VERCEL_AS_RUN = {
    "vercel --target staging": "POST /v13/deployments (target staging), polled until READY",
    "vercel --prod": "POST /v13/deployments (target production), polled until READY",
    "vercel logs --prod": "GET the production deployment's events, then its health URL",
    "vercel rollback --prod": "POST /v1/projects/{id}/rollback/{deployment}, polled",
}


def vercel_rewrites(commands: list[str]) -> list[Rewrite]:
    """The guide's vercel lines as the drill ran them, each judged against the real CLI."""
    return [
        rewrites.vercel_command(c, VERCEL_AS_RUN.get(c, "the drill's Vercel REST client"))
        for c in commands
        if c.startswith("vercel")
    ]


def _npm(args: list[str], repo: Path, env: dict[str, str]) -> str:
    if shutil.which("npm") is None:
        raise ProcedureFailed(
            "npm is not installed: the guide's npm steps cannot run (apt-get install npm)"
        )
    result = shell.run(["npm", *args], cwd=str(repo), env=env)
    if not result.ok:
        raise ProcedureFailed(
            f"`npm {' '.join(args)}` exited {result.returncode}: {(result.stderr or result.stdout).strip()[-200:]}"
        )
    return result.stdout.strip()[-200:]


def smoke_test(client: VercelClient, deployment: Deployment | None) -> str:
    if deployment is None:
        raise ProcedureFailed("no deployment to smoke-test")
    if not client.healthy(deployment):
        raise ProcedureFailed(
            f"smoke test failed: https://{deployment.url}/api/health is not healthy"
        )
    return f"https://{deployment.url}/api/health answered 200"


def monitor(client: VercelClient, deployment: Deployment | None) -> str:
    """``vercel logs --prod``: the production deployment's log has no error and it answers healthy."""
    if deployment is None:
        raise ProcedureFailed("no production deployment to monitor")
    errors = [line for line in client.logs(deployment.id) if line.startswith("Error")]
    if errors or not client.healthy(deployment):
        raise ProcedureFailed(
            f"production deployment {deployment.id} is unhealthy after release"
            + (f": {errors[-1]}" if errors else "")
        )
    return f"{deployment.id}: logs clean, health 200"


@dataclass(frozen=True)
class Rollback:
    from_id: str
    to: Deployment
    seconds: float


def rollback_production(client: VercelClient) -> Rollback:
    """``vercel rollback --prod`` to the newest earlier READY production deployment that is healthy."""
    current = client.production()
    if current is None:
        raise ProcedureFailed("nothing is in production: there is nothing to roll back")
    earlier = [
        d
        for d in client.deployments(target="production", state="READY")
        if d.created_ms < current.created_ms and d.id != current.id
    ]
    for candidate in sorted(earlier, key=lambda d: d.created_ms, reverse=True):
        if client.healthy(candidate):
            return Rollback(current.id, candidate, client.rollback(candidate))
    raise ProcedureFailed(
        f"no earlier healthy READY production deployment to roll back to from {current.id}; "
        "redeploy the last good commit with `vercel --prod`"
    )


@dataclass(frozen=True)
class Redeploy:
    deployment: Deployment
    seconds: float  # on the client's clock
    promoted: bool  # production needed a promote: the guide's command alone did not reach it


def redeploy(client: VercelClient, commit: str, command: str) -> Redeploy:
    """Application Recovery: the guide's ``command`` (it must be ``vercel --prod``, the only one
    the drill maps) for the last good commit. After a rollback Vercel stops assigning production
    to new deployments, so the command alone does not bring production back: the drill then
    promotes, and says so (``promoted``), for the caller to report."""
    if command != "vercel --prod":
        raise ConfigurationError(
            f"the guide's application recovery runs `{command}`, which the drill cannot map"
        )
    started = client.clock.monotonic()
    deployment = client.wait_ready(client.deploy("production", commit))
    current = client.production()
    promoted = current is None or current.id != deployment.id
    if promoted:
        client.promote(deployment)
    smoke_test(client, deployment)
    return Redeploy(deployment, client.clock.monotonic() - started, promoted)


def ship(client: VercelClient, commit: str, meta: dict[str, bool] | None = None) -> Deployment:
    """Deploy to production, smoke-test it, and roll back at once when the smoke test fails."""
    deployment, _ = redeploy_unchecked(client, commit, meta)
    if not client.healthy(deployment):
        rollback_production(client)
        raise ProcedureFailed(
            f"deployment {deployment.id} failed its smoke test and was rolled back"
        )
    return deployment


def redeploy_unchecked(
    client: VercelClient, commit: str, meta: dict[str, bool] | None = None
) -> tuple[Deployment, float]:
    started = client.clock.monotonic()
    deployment = client.wait_ready(client.deploy("production", commit, meta))
    current = client.production()
    if (
        current is None or current.id != deployment.id
    ):  # after a rollback Vercel stops auto-assigning
        client.promote(deployment)
    return deployment, client.clock.monotonic() - started
