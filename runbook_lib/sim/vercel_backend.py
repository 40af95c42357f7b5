"""The state of the simulated Vercel API: the account, projects with their custom environments and
protection, deployments and their builds, uploaded files, rollback and promote jobs, on the
simulated cloud's clock. No HTTP here (moto's ``models.py``); :mod:`runbook_lib.sim.vercel`
serves it.

What it holds to, read from the real clients (the Vercel CLI 59.25.4 and its ``@vercel/client``,
github.com/vercel/vercel ``packages/cli/src``; the SDK's generated models, github.com/vercel/sdk
``src/models/*.ts``, named where they are used):

- a deployment moves QUEUED -> BUILDING -> READY | ERROR (``CANCELED`` when cancelled), its
  ``readySubstate`` is ``PROMOTED`` once it has served production and ``STAGED`` before; a
  production deployment gets the production domain when it is READY, unless a rollback turned
  automatic assignment off (it stays off until a promote);
- ``target`` is ``production`` or unset (preview); any other environment is a custom environment
  of the project, named by slug or id, and one the project does not define is refused (404
  "Invalid request: Custom Environment not found", as the CLI's own test double of the API
  answers, ``packages/cli/test/unit/commands/redeploy/index.test.ts``);
- rollback and promote are jobs recorded in the project's ``lastAliasRequest``
  (``getprojectinternalroutes.ts``: ``fromDeploymentId``, ``toDeploymentId``, ``jobStatus``
  pending | in-progress | succeeded | failed | skipped, ``requestedAt``, ``type``); a rollback is
  refused with 409 while another job runs, with 422 to a deployment that is not a READY
  production deployment of the project, with 402 past the previous production deployment on
  the Hobby plan (``requestrollbackop.ts``: 400/401/402/403/409/410/422);
- a deployment's generated URL is behind Vercel Authentication (401) unless the project's
  protection is off, or the request carries the project's automation bypass secret; the
  production domain is public (Standard Protection, Vercel's default);
- timestamps are milliseconds on the client's clock: the wall clock when the backend was made,
  plus the simulated time since (the CLI compares ``requestedAt`` with its own ``Date.now()``).

Time: a client that reads the status of unfinished work (:meth:`VercelBackend.waited_for`,
:meth:`VercelBackend.waited_for_job`) stands for one that waited for it, so the simulated clock
moves on to that work's next change (at most :data:`WAIT_STEP_SECONDS` at once) before the
answer: a real client polling in real time sees a 60-second build end after two polls, and the
time it took is the simulated build's own.

Refusals are :class:`VercelRefusal` (status, ``error.code``, ``error.message``).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from runbook_lib.world.clock import Clock, VirtualClock

QUEUE_SECONDS = 5.0
BUILD_SECONDS = 60.0
JOB_PENDING_SECONDS = 1.0  # a rollback or promote job is picked up after this long
JOB_SECONDS = 10.0  # and has moved every domain after this long
# the longest a status read moves the clock at once: a build that never ends has run into the
# drill's build limit (BUILD_LIMIT_SECONDS, 15 min) after one read, not after three polls of the
# CLI, each a real second apart
WAIT_STEP_SECONDS = 900.0
_ALPHABET = string.ascii_letters + string.digits
_LOWER = string.ascii_lowercase + string.digits

State = Literal["QUEUED", "BUILDING", "READY", "ERROR", "CANCELED"]
JobStatus = Literal["pending", "in-progress", "succeeded", "failed", "skipped"]
JobType = Literal["rollback", "promote"]
Plan = Literal["hobby", "pro", "enterprise"]


class VercelRefusal(Exception):
    """What the API answers instead: ``status`` and ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def token() -> str:
    """A token of the form Vercel issues: 24 letters and digits (the CLI refuses a ``-``)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(24))


@dataclass(frozen=True)
class Account:
    user_id: str
    username: str
    email: str
    team_id: str
    team_slug: str
    team_name: str
    plan: Plan = "pro"


@dataclass(frozen=True)
class CustomEnvironment:
    id: str
    slug: str
    domain: str  # its branch domain, e.g. napoleon-ai-env-staging-napoleon-ai.vercel.app


@dataclass(frozen=True)
class RequestRecord:
    """One request a deployment served, as its request logs show it."""

    at: float
    method: str
    host: str
    path: str
    status: int


@dataclass
class Deployment:
    id: str
    url: str
    name: str
    project_id: str
    target: Literal["production"] | None
    environment: CustomEnvironment | None
    created: float  # clock.monotonic() at creation
    meta: dict[str, str]
    build_seconds: float = BUILD_SECONDS
    fail_build: bool = False
    healthy: bool = True
    canceled_at: float | None = None
    promoted: bool = False  # has served production (readySubstate PROMOTED)
    alias_assigned_at: float | None = None
    files: tuple[str, ...] = ()
    requests: list[RequestRecord] = field(default_factory=list)  # what its URLs answered

    @property
    def building_at(self) -> float:
        return self.created + QUEUE_SECONDS

    @property
    def done_at(self) -> float:
        return self.created + QUEUE_SECONDS + self.build_seconds

    def state(self, now: float) -> State:
        if self.canceled_at is not None and self.canceled_at < self.done_at:
            return "CANCELED" if now >= self.canceled_at else self._running(now)
        if now >= self.done_at:
            return "ERROR" if self.fail_build else "READY"
        return self._running(now)

    def _running(self, now: float) -> State:
        return "QUEUED" if now < self.building_at else "BUILDING"

    def next_change(self, now: float) -> float | None:
        """When its state next changes (None: it is done)."""
        if self.state(now) in ("READY", "ERROR", "CANCELED"):
            return None
        return self.building_at if now < self.building_at else self.done_at

    @property
    def commit(self) -> str:
        return self.meta.get("githubCommitSha", "")

    @property
    def environment_name(self) -> str:
        if self.environment:
            return self.environment.slug
        return self.target or "preview"


@dataclass
class AliasJob:
    """A rollback or promote, as ``lastAliasRequest`` reports it."""

    type: JobType
    from_id: str | None
    to_id: str
    requested: float
    fails: bool = False

    def status(self, now: float) -> JobStatus:
        if now < self.requested + JOB_PENDING_SECONDS:
            return "pending"
        if now < self.requested + JOB_SECONDS:
            return "in-progress"
        return "failed" if self.fails else "succeeded"

    def next_change(self, now: float) -> float | None:
        if self.status(now) == "pending":
            return self.requested + JOB_PENDING_SECONDS
        if self.status(now) == "in-progress":
            return self.requested + JOB_SECONDS
        return None


@dataclass
class Project:
    id: str
    name: str
    account_id: str
    environments: dict[str, CustomEnvironment] = field(default_factory=dict)  # by slug
    protected: bool = True  # Vercel Authentication on generated URLs (Standard Protection)
    bypass_secret: str = field(default_factory=lambda: token() + token()[:8])
    production: str | None = None  # the deployment the production domain points at
    environment_aliases: dict[str, str] = field(default_factory=dict)  # env slug -> deployment
    auto_assign: bool = True  # off after a rollback, until a promote
    job: AliasJob | None = None
    created: float = 0.0
    rolling_release: bool = False  # a rolling release is active: promotions queue behind it
    queued_promotion: str | None = None

    @property
    def production_domain(self) -> str:
        return f"{self.name}.vercel.app"

    def environment(self, slug_or_id: str) -> CustomEnvironment | None:
        return self.environments.get(slug_or_id) or next(
            (e for e in self.environments.values() if e.id == slug_or_id), None
        )


class VercelBackend:
    """Everything the simulated Vercel API knows, with typed operations."""

    def __init__(self, clock: Clock, account: Account | None = None) -> None:
        self.clock = clock
        self.account = account or Account(
            random_id("usr_"),
            "napoleon-ops",
            "ops@napoleon.ai",
            random_id("team_"),
            "napoleon-ai",
            "Napoleon AI",
        )
        self.projects: dict[str, Project] = {}
        self.deployments: dict[str, Deployment] = {}
        self.files: dict[str, bytes] = {}  # sha1 -> content (uploaded with POST /v2/files)
        self.build_seconds = BUILD_SECONDS  # for new deployments; raise it for a stuck build
        self.fail_all_builds = False  # every new deployment fails its build
        self.fates: dict[str, dict[str, bool]] = {}  # environment -> its next deployment's fate
        self.epoch = time.time() - clock.monotonic()  # wall seconds at simulated time 0
        self.lock = threading.RLock()
        self._serial = itertools.count(1)

    # -- time --
    def now(self) -> float:
        return self.clock.monotonic()

    def ms(self, instant: float) -> int:
        """A simulated instant as the client's clock reads it (epoch milliseconds)."""
        return int((self.epoch + instant) * 1000)

    def _wait_until(self, instant: float | None) -> None:
        if instant is None or not isinstance(self.clock, VirtualClock):
            return
        step = min(instant - self.now(), WAIT_STEP_SECONDS)
        if step > 0:
            self.clock.advance(step)

    def waited_for(self, deployment: Deployment) -> None:
        """A client read the status of ``deployment``: it waited for its next change."""
        self._wait_until(deployment.next_change(self.now()))
        self.settle()

    def waited_for_job(self, project: Project) -> None:
        """A client read the status of the project's rollback or promote job."""
        if project.job is not None:
            self._wait_until(project.job.next_change(self.now()))
        self.settle()

    # -- projects --
    def add_project(
        self,
        project_id: str,
        name: str,
        environments: tuple[str, ...] = (),
        protected: bool = True,
    ) -> Project:
        project = Project(project_id, name, self.account.team_id, protected=protected)
        for slug in environments:
            domain = f"{name}-env-{slug}-{self.account.team_slug}.vercel.app"
            project.environments[slug] = CustomEnvironment(random_id("env_"), slug, domain)
        project.created = self.now()
        self.projects[project_id] = project
        return project

    def project(self, id_or_name: str) -> Project:
        found = self.projects.get(id_or_name) or next(
            (p for p in self.projects.values() if p.name == id_or_name), None
        )
        if found is None:
            raise VercelRefusal(404, "not_found", "Project not found")
        return found

    # -- deployments --
    def create_deployment(
        self,
        project: Project,
        target: str | None,
        environment: str | None,
        meta: dict[str, str],
        files: tuple[str, ...] = (),
        fail_build: bool = False,
        healthy: bool = True,
    ) -> Deployment:
        if target not in (None, "production", "preview"):
            environment, target = target, None  # a custom environment named as the target
        custom = None
        if environment:
            custom = project.environment(environment)
            if custom is None:
                raise VercelRefusal(
                    404, "not_found", "Invalid request: Custom Environment not found"
                )
        missing = [sha for sha in files if sha not in self.files]
        if missing:
            raise VercelRefusal(400, "missing_files", "Missing files", missing=missing)
        fate = self.fates.pop(custom.slug if custom else (target or "preview"), {})
        deployment_id = random_id("dpl_", 28)
        digest = hashlib.sha1(deployment_id.encode()).hexdigest()
        suffix = "".join(_LOWER[int(c, 16) % len(_LOWER)] for c in digest[:9])
        deployment = Deployment(
            deployment_id,
            f"{project.name}-{suffix}-{self.account.team_slug}.vercel.app",
            project.name,
            project.id,
            "production" if target == "production" else None,
            custom,
            self.now(),
            meta,
            build_seconds=self.build_seconds,
            fail_build=fail_build or self.fail_all_builds or fate.get("fail_build", False),
            healthy=healthy and fate.get("healthy", True),
            files=files,
        )
        self.deployments[deployment.id] = deployment
        return deployment

    def doom(self, environment: str, fail_build: bool = False, healthy: bool = True) -> None:
        """The next deployment to ``environment`` (``production``, ``preview`` or a custom
        environment's slug) fails its build or answers unhealthy: a release that breaks there."""
        self.fates[environment] = {"fail_build": fail_build, "healthy": healthy}

    def deployment(self, id_or_url: str) -> Deployment:
        ref = id_or_url.removeprefix("https://").rstrip("/")
        found = self.deployments.get(ref) or next(
            (d for d in self.deployments.values() if d.url == ref), None
        )
        if found is None:
            raise VercelRefusal(404, "not_found", "Deployment not found")
        return found

    def cancel(self, deployment: Deployment) -> Deployment:
        if deployment.state(self.now()) not in ("QUEUED", "BUILDING"):
            raise VercelRefusal(400, "bad_request", "Deployment cannot be canceled")
        deployment.canceled_at = self.now()
        return deployment

    def list_deployments(
        self,
        project_id: str | None = None,
        target: str | None = None,
        states: set[str] | None = None,
        until_ms: int | None = None,
        rollback_candidate: bool | None = None,
    ) -> list[Deployment]:
        found = sorted(self.deployments.values(), key=lambda d: d.created, reverse=True)
        if project_id:
            project = self.project(project_id)
            found = [d for d in found if d.project_id == project.id]
        if target:
            found = [d for d in found if d.environment_name == target]
        if states:
            found = [d for d in found if d.state(self.now()) in states]
        if until_ms is not None:
            found = [d for d in found if self.ms(d.created) < until_ms]
        if rollback_candidate is not None:
            found = [d for d in found if self.is_rollback_candidate(d) == rollback_candidate]
        return found

    def is_rollback_candidate(self, deployment: Deployment) -> bool:
        return deployment.target == "production" and deployment.state(self.now()) == "READY"

    def upload(self, sha: str, content: bytes) -> None:
        if hashlib.sha1(content).hexdigest() != sha:
            raise VercelRefusal(400, "bad_request", "The file digest does not match its content")
        self.files[sha] = content

    def break_all_deployments(self) -> None:
        """An outage: every deployment's health endpoint starts answering 503."""
        for deployment in self.deployments.values():
            deployment.healthy = False

    # -- domains and jobs --
    def settle(self) -> None:
        """Move time-driven state forward: READY deployments get their domains (production only
        while automatic assignment is on), finished jobs move the production domain."""
        now = self.now()
        for d in sorted(self.deployments.values(), key=lambda d: d.created):
            if d.alias_assigned_at is not None or d.state(now) != "READY":
                continue
            project = self.projects[d.project_id]
            d.alias_assigned_at = d.done_at
            if d.environment is not None:
                project.environment_aliases[d.environment.slug] = d.id
            elif d.target == "production" and project.auto_assign:
                self._point_production(project, d)
        for project in self.projects.values():
            job = project.job
            if job and job.status(now) == "succeeded" and project.production != job.to_id:
                self._point_production(project, self.deployments[job.to_id])

    def _point_production(self, project: Project, deployment: Deployment) -> None:
        project.production = deployment.id
        deployment.promoted = True

    def request_rollback(self, project: Project, deployment: Deployment) -> AliasJob:
        self.settle()
        now = self.now()
        if project.job and project.job.status(now) in ("pending", "in-progress"):
            raise VercelRefusal(
                409, "conflict", f"A {project.job.type} is already in progress for this project"
            )
        if deployment.project_id != project.id or not self.is_rollback_candidate(deployment):
            raise VercelRefusal(
                422,
                "invalid_rollback_target",
                "You can only roll back to a READY production deployment of this project",
            )
        if deployment.id == project.production:
            raise VercelRefusal(
                409, "conflict", "This deployment is already serving the production domain"
            )
        if self.account.plan == "hobby" and deployment.id != self._previous_production(project):
            raise VercelRefusal(
                402,
                "payment_required",
                "Rolling back to a deployment older than the previous production deployment "
                "requires a Pro plan",
            )
        project.job = AliasJob("rollback", project.production, deployment.id, now)
        project.auto_assign = False
        return project.job

    def _previous_production(self, project: Project) -> str | None:
        served = [
            d
            for d in self.list_deployments(project.id, target="production", states={"READY"})
            if d.promoted and d.id != project.production
        ]
        return served[0].id if served else None

    def request_promote(self, project: Project, deployment: Deployment) -> AliasJob | None:
        """Promote ``deployment`` to production: the job moving the domains (201), or None when
        the project has an active rolling release, behind which the promotion is queued (202,
        as the CLI reads it: "Promotion has been queued...")."""
        self.settle()
        now = self.now()
        if deployment.project_id != project.id or deployment.state(now) != "READY":
            raise VercelRefusal(
                409, "conflict", "You can only promote a READY deployment of this project"
            )
        if project.job and project.job.status(now) in ("pending", "in-progress"):
            raise VercelRefusal(
                409, "conflict", f"A {project.job.type} is already in progress for this project"
            )
        if project.rolling_release:
            project.queued_promotion = deployment.id
            return None
        project.auto_assign = True
        project.job = AliasJob("promote", project.production, deployment.id, now)
        return project.job

    # -- deployment URLs --
    def serving(self, host: str) -> tuple[Deployment, Project] | None:
        """The deployment a host serves and its project, or None."""
        self.settle()
        for project in self.projects.values():
            if host == project.production_domain and project.production:
                return self.deployments[project.production], project
            for slug, env in project.environments.items():
                if host == env.domain and slug in project.environment_aliases:
                    return self.deployments[project.environment_aliases[slug]], project
        deployment = next((d for d in self.deployments.values() if d.url == host), None)
        return (deployment, self.projects[deployment.project_id]) if deployment else None

    def is_public(self, host: str, project: Project) -> bool:
        """Standard Protection: only the production domain is public while protection is on."""
        return not project.protected or host == project.production_domain

    def next_serial(self) -> str:
        return f"{next(self._serial):016d}"
