"""Deployment Procedures, Rollback Procedures and Application Recovery (guide sections of the
same names).

- :func:`readiness_gate` refuses a release while any Pre-Deployment Checklist item is unmet.
- :func:`run_release` runs the guide's Deployment Steps in order on a real git repository: git and
  npm commands run as written (npm where installed), ``vercel`` lines through the real Vercel CLI
  (:mod:`runbook_lib.procedures.deployment.vercel_cli`) against the simulated API, each result
  then read back with the REST client (:mod:`runbook_lib.procedures.deployment.vercel`), and
  ``npm run e2e:staging`` is the drill's smoke test of the staging deployment. The first failing
  step stops every later one.
- A line the CLI refuses (its argument parser: "unknown or unexpected option") is a
  :class:`Refusal` in the CLI's own words; the corrected line (the option dropped, the
  deployment named) then runs through the CLI too. Any other failure fails the step.
- :func:`rollback_production` is the guide's rollback line: back to the newest earlier
  production deployment that is READY and healthy; :func:`redeploy` is Application Recovery.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.errors import ConfigurationError, ProcedureFailed, RunbookError
from runbook_lib.guide import reading
from runbook_lib.guide.model import DeploymentStep, Guide
from runbook_lib.procedures.deployment.vercel import (
    BUILD_LIMIT_SECONDS,
    UNFINISHED,
    Deployment,
    VercelClient,
)
from runbook_lib.procedures.deployment.vercel_cli import CliRun, VercelCli, corrected
from runbook_lib.world import shell
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


@dataclass(frozen=True)
class Vercel:
    """The operator's two ways to Vercel: the real CLI that the guide's ``vercel`` lines run
    through, and the REST client of the checks that follow (state, production, health)."""

    client: VercelClient
    cli: VercelCli


@dataclass(frozen=True)
class Refusal:
    """A guide line the real CLI refused, in its own words, and the corrected line that ran."""

    run: CliRun  # the guide's line as written, and the CLI's answer
    option: str  # what the CLI's argument parser refused
    corrected: str  # the line that ran instead
    finding: str  # the finding it confirms

    def rewrite(self) -> Rewrite:
        why = f"the Vercel CLI {self.run.version} refuses it: {self.run.words}"
        return Rewrite(self.run.command, self.option, self.corrected, False, why)


@dataclass
class Release:
    repo: Path
    vercel: Vercel
    staging: Deployment | None = None
    production: Deployment | None = None
    steps: list[StepResult] = field(default_factory=list)
    version: str = ""
    faults: dict[str, dict[str, bool]] = field(default_factory=dict)  # environment -> fate
    arrange: Callable[[str, dict[str, bool]], None] | None = None  # gives an environment a fate
    stop_after: str | None = None  # the guide's command after which the release stops
    start_at: str | None = None  # the guide's command the release starts at (earlier: not run)

    @property
    def client(self) -> VercelClient:
        return self.vercel.client

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
    (path / ".gitignore").write_text(".next/\nnode_modules/\n.vercel\n")  # as `vercel link` adds
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
    """The guide's Deployment Steps in order; the first failure stops the rest (and so does
    ``release.stop_after``, once that command has run). With ``release.start_at`` the steps
    before that command are listed as not run."""
    with reading.paused():  # finding the start reads no step: only running one does
        commands = [step.command for step in guide.deployment_steps]
    if release.start_at is not None and release.start_at not in commands:
        raise ConfigurationError(
            f"the guide's deployment steps have no `{release.start_at}`: they run "
            + ", ".join(f"`{c}`" for c in commands)
        )
    first = commands.index(release.start_at) if release.start_at is not None else 0
    stopped = False
    for index, step in enumerate(guide.deployment_steps):
        if release.failed_step or stopped or index < first:
            with reading.paused():  # listed, not run: the step proves nothing of its line
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
        stopped = step.command == release.stop_after
    return release


def _run_step(step: DeploymentStep, release: Release) -> str:
    command = step.command
    env = shell.child_env(NPM_ENV)
    if command.startswith("git "):
        return shell.run_shell(command, cwd=str(release.repo), env=env).check().stdout.strip()
    if command == "npm version patch":
        result = _npm(["version", "patch"], release.repo, env)
        release.version = json.loads((release.repo / "package.json").read_text())["version"]
        return result
    if command == "npm run e2e:staging":
        return smoke_test(release.client, release.staging)
    if command.startswith("npm run "):
        return _npm(["run", command.removeprefix("npm run ")], release.repo, env)
    if _subcommand(command) == "deploy":
        environment = environment_of(command)
        if environment in release.faults and release.arrange:
            release.arrange(environment, release.faults[environment])
        deployment = deploy_with_cli(release.vercel, command)
        if environment == "production":
            release.production = deployment
        else:
            release.staging = deployment
        return f"{environment} deployment {deployment.id} READY ({deployment.url})"
    if _subcommand(command) == "logs":
        return monitor_with_cli(release, command)
    raise ConfigurationError(
        f"the guide's deployment step {step.number} runs `{command}`, which the drill cannot run"
    )


def _subcommand(command: str) -> str:
    """The CLI subcommand of a ``vercel`` line (``deploy`` when it names none)."""
    words = shlex.split(command)
    if not words or words[0] != "vercel":
        return ""
    rest = [w for w in words[1:] if not w.startswith("-")]
    flags_with_values = {"--target", "--scope", "--token", "--cwd"}
    values = {words[i + 1] for i, w in enumerate(words[:-1]) if w in flags_with_values}
    named = [w for w in rest if w not in values]
    return named[0] if named and named[0] in CLI_SUBCOMMANDS else "deploy"


CLI_SUBCOMMANDS = ("deploy", "logs", "rollback", "promote", "inspect", "list", "ls", "redeploy")


def environment_of(command: str) -> str:
    """Where a ``vercel`` deploy line deploys: ``--target X``, ``--prod``, else preview."""
    words = shlex.split(command)
    for index, word in enumerate(words):
        if word == "--target" and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("--target="):
            return word.split("=", 1)[1]
    return "production" if "--prod" in words else "preview"


class _BuildWatch:
    """Bounds a CLI deploy on the simulated clock: past ``limit`` seconds the unfinished build is
    cancelled, as an operator cancels a stuck build; the CLI then sees it CANCELED and ends."""

    def __init__(self, client: VercelClient, limit: float) -> None:
        self.client, self.limit = client, limit
        self.started = client.clock.monotonic()
        self.cancelled: list[str] = []

    def __call__(self) -> None:
        if self.cancelled or self.client.clock.monotonic() - self.started < self.limit:
            return
        for stuck in self.client.deployments(state=",".join(UNFINISHED), limit=10):
            self.client.cancel(stuck.id)
            self.cancelled.append(stuck.id)


def deploy_with_cli(vercel: Vercel, command: str) -> Deployment:
    """The guide's deploy line through the CLI; the deployment it printed is then read back
    with the REST client, which must find it READY."""
    watch = _BuildWatch(vercel.client, BUILD_LIMIT_SECONDS)
    run = vercel.cli.run(command, watch=watch)
    if watch.cancelled:
        raise ProcedureFailed(
            f"`{command}`: deployment {watch.cancelled[0]} still building after "
            f"{BUILD_LIMIT_SECONDS:g} s (simulated clock): cancelled; the CLI said: {run.words}"
        )
    run.check()
    url = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    deployment = vercel.client.get(url.removeprefix("https://"))
    if deployment.state != "READY":
        raise ProcedureFailed(f"`{command}` exited 0, but {deployment.id} is {deployment.state}")
    return deployment


def refusals(runs: list[CliRun]) -> list[Refusal]:
    """Every line in ``runs`` the CLI refused, with the corrected line that ran next (or what
    stopped the procedure before one could)."""
    found = []
    for index, run in enumerate(runs):
        option, finding = run.refused_option, REFUSAL_FINDINGS.get(_subcommand(run.command))
        if option and finding:
            after = runs[index + 1].command if index + 1 < len(runs) else ""
            found.append(
                Refusal(run, option, after or "nothing: the procedure failed first", finding)
            )
    return found


def refusal_of(run: CliRun, argument: str) -> Refusal:
    """The CLI refused ``run``'s line: the finding it confirms and the corrected line (the
    refused option dropped, ``argument`` named). Any other failure is the procedure's."""
    option, finding = run.refused_option, REFUSAL_FINDINGS.get(_subcommand(run.command))
    if option is None or finding is None:
        raise ProcedureFailed(f"`{run.command}` exited {run.returncode}: {run.words}")
    return Refusal(run, option, corrected(run.command, option, argument), finding)


# The guide's lines the real CLI refuses, and the findings they confirm (evidence/findings.py)
REFUSAL_FINDINGS = {
    "rollback": "GUIDE-VERCEL-ROLLBACK-PROD",
    "logs": "GUIDE-VERCEL-LOGS-PROD",
}


def monitor_with_cli(release: Release, command: str) -> str:
    """Step 8 (``vercel logs --prod``) through the CLI, corrected if the CLI refuses it, then the
    REST client's checks of the production deployment (build log, health)."""
    deployment = release.production
    if deployment is None:
        raise ProcedureFailed("no production deployment to monitor")
    run = release.vercel.cli.run(command)
    if not run.ok:
        run = release.vercel.cli.run(refusal_of(run, deployment.url).corrected).check()
    return f"{run.summary()}; {monitor(release.client, deployment)}"


def vercel_runs(runs: list[CliRun]) -> list[str]:
    """What the evidence says of each CLI run: the line, what ran, the version, the outcome."""
    return [
        f"ran `{r.command}` as `{shlex.join(r.argv)}` (Vercel CLI {r.version} on Node.js {r.node}): exit "
        f"{r.returncode} in {r.seconds:.2f} s" + (f": {r.words}" if not r.ok else "")
        for r in runs
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
    """The production deployment's build log has no error and it answers healthy."""
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
    seconds: float  # on the client's clock
    refusal: Refusal | None = None  # the guide's line, refused by the CLI
    run: CliRun | None = None  # the line that rolled back


def previous_healthy(client: VercelClient, current: Deployment) -> Deployment:
    """The newest earlier READY production deployment that answers healthy."""
    earlier = [
        d
        for d in client.deployments(target="production", state="READY")
        if d.created_ms < current.created_ms and d.id != current.id
    ]
    for candidate in sorted(earlier, key=lambda d: d.created_ms, reverse=True):
        if client.healthy(candidate):
            return candidate
    raise ProcedureFailed(
        f"no earlier healthy READY production deployment to roll back to from {current.id}; "
        "redeploy the last good commit with `vercel --prod`"
    )


def rollback_production(vercel: Vercel, command: str = "vercel rollback") -> Rollback:
    """The guide's rollback line through the CLI: when the CLI refuses it, the corrected line
    names the newest earlier healthy READY production deployment. Production must then be it."""
    client = vercel.client
    current = client.production()
    if current is None:
        raise ProcedureFailed("nothing is in production: there is nothing to roll back")
    started = client.clock.monotonic()
    run, refusal = vercel.cli.run(command), None
    target: Deployment | None = None
    if not run.ok:
        target = previous_healthy(client, current)
        refusal = refusal_of(run, target.url)
        run = vercel.cli.run(refusal.corrected)
    run.check()
    now = client.production()
    if now is None or now.id == current.id or (target and now.id != target.id):
        raise ProcedureFailed(
            f"`{run.command}` exited 0, but production is {now.id if now else 'nothing'}"
            f" (it was {current.id}): the command did not roll production back"
        )
    return Rollback(current.id, now, client.clock.monotonic() - started, refusal, run)


def rollback_with_client(client: VercelClient) -> Rollback:
    """A rollback through the REST API alone (what :func:`ship` does when its smoke test fails)."""
    current = client.production()
    if current is None:
        raise ProcedureFailed("nothing is in production: there is nothing to roll back")
    target = previous_healthy(client, current)
    return Rollback(current.id, target, client.rollback(target))


@dataclass(frozen=True)
class Redeploy:
    deployment: Deployment
    seconds: float  # on the client's clock
    promoted: bool  # production needed a promote: the guide's command alone did not reach it
    promote: CliRun | None = None  # the `vercel promote <url>` that then took production back


def redeploy(vercel: Vercel, command: str) -> Redeploy:
    """Application Recovery: the guide's ``command`` (a deploy line, ``vercel --prod``) through
    the CLI in the app's repository. After a rollback Vercel stops assigning production to new
    deployments, so the command alone does not bring production back: the drill then runs
    ``vercel promote <url>`` (the finding's fix) and says so (``promoted``)."""
    if _subcommand(command) != "deploy" or environment_of(command) != "production":
        raise ConfigurationError(
            f"the guide's application recovery runs `{command}`, which is no production deploy"
        )
    client = vercel.client
    started = client.clock.monotonic()
    deployment = deploy_with_cli(vercel, command)
    current = client.production()
    promoted = current is None or current.id != deployment.id
    promote = None
    if promoted:
        promote = vercel.cli.run(shlex.join(["vercel", "promote", deployment.url])).check()
    smoke_test(client, deployment)
    return Redeploy(deployment, client.clock.monotonic() - started, promoted, promote)


def ship(client: VercelClient, commit: str, meta: dict[str, bool] | None = None) -> Deployment:
    """Deploy to production, smoke-test it, and roll back at once when the smoke test fails."""
    deployment, _ = redeploy_unchecked(client, commit, meta)
    if not client.healthy(deployment):
        rollback_with_client(client)
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
