"""The simulated Vercel API (https://api.vercel.com) and deployments' URLs: routes, thin handlers
over :class:`~runbook_lib.sim.vercel_backend.VercelBackend` (moto's ``responses.py``).

Served (the paths the Vercel CLI 59.25.4 and the SDK call; bodies in the SDK models' shapes,
checked by ``tests/test_contracts_vercel.py``):

- ``GET /v2/user``, ``GET /v1/teams``, ``GET /teams/{id}`` (and ``/v2/teams/{id}``): who the
  token is (every CLI command asks first);
- ``GET /v9/projects/{idOrName}`` (``?rollbackInfo=true`` adds ``lastAliasRequest``, what
  ``vercel rollback`` polls), ``GET /v9/projects/{idOrName}/custom-environments``;
- ``POST /v13/deployments`` (the CLI's file list; files the API lacks are refused as
  ``missing_files`` and uploaded with ``POST /v2/files``), ``GET /v13/deployments/{idOrUrl}``,
  ``GET /v7/deployments`` (the current list version: items carry ``uid``, pagination
  ``{count, next, prev}``), ``PATCH /v12/deployments/{id}/cancel``,
  ``GET /v3/deployments/{idOrUrl}/events`` (build logs in the three record shapes of
  ``getdeploymenteventsop.ts``), ``GET /v2/deployments/{id}/aliases``;
- ``POST /v10/projects/{id}/promote/{deploymentId}`` (201: the job started; 202: queued behind
  an active rolling release, as the CLI reads it),
  ``POST /v9/projects/{id}/rollback/{deploymentId}`` (the CLI's path) and
  ``POST /v1/projects/{id}/rollback/{deploymentId}`` (the SDK's): 201, or 402/409/422;
- ``GET /v9/projects/{id}/rollback/aliases`` (what ``vercel rollback`` lists when a job failed).

A token the API does not know is answered 403 ``{"error": {"code": "forbidden", "message":
"Not authorized", "invalidToken": true}}``: what the CLI turns into "The token provided via
VERCEL_TOKEN environment variable is not valid".

Deployment URLs (:meth:`VercelFake.handle_deployment_url`) answer ``GET /api/health`` with 200 or
503; a generated URL of a protected project answers 401 (Vercel Authentication) unless the
request carries the project's automation bypass (``x-vercel-protection-bypass``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from runbook_lib.sim.http import FakeAPI, json_body, json_response
from runbook_lib.sim.vercel_backend import (
    AliasJob,
    Deployment,
    Project,
    RequestRecord,
    VercelBackend,
    VercelRefusal,
)
from runbook_lib.world.clock import Clock, WallClock

BASE_URL = "https://api.vercel.com"
BYPASS_HEADER = "x-vercel-protection-bypass"
PAGE_LIMIT = 20

Answer = tuple[int, Any]  # (status, JSON body)
RouteHandler = Callable[..., Answer]


class VercelFake(FakeAPI):
    def __init__(self, clock: Clock | None = None, backend: VercelBackend | None = None) -> None:
        super().__init__(BASE_URL)
        self.backend = backend or VercelBackend(clock or WallClock())
        project, deployment = "/v9/projects/{project}", "/v13/deployments/{ref}"
        self._serve("GET", "/v2/user", self._user)
        self._serve("GET", "/v1/teams", self._teams)
        for path in ("/teams/{team}", "/v2/teams/{team}"):
            self._serve("GET", path, self._team)
        self._serve("GET", project, self._project)
        self._serve("GET", project + "/custom-environments", self._environments)
        self._serve("GET", project + "/rollback/aliases", self._rollback_aliases)
        self._serve("POST", "/v13/deployments", self._create)
        self._serve("POST", "/v2/files", self._upload)
        self._serve("GET", deployment, self._get)
        self._serve("GET", "/v7/deployments", self._list)
        self._serve("GET", "/api/logs/request-logs", self._request_logs)
        self._serve("PATCH", "/v12/deployments/{ref}/cancel", self._cancel)
        for path in ("/v3/deployments/{ref}/events", "/v3/now/deployments/{ref}/events"):
            self.add_route("GET", path, self._events)  # the SDK's path, the CLI's
        self._serve("GET", "/v2/deployments/{ref}/aliases", self._aliases)
        self._serve("POST", "/v10/projects/{project}/promote/{ref}", self._promote)
        for path in (
            "/v9/projects/{project}/rollback/{ref}",
            "/v1/projects/{project}/rollback/{ref}",
        ):
            self._serve("POST", path, self._rollback)

    def _serve(self, method: str, pattern: str, handler: RouteHandler) -> None:
        def answer(request: httpx.Request, **params: str) -> httpx.Response:
            try:
                status, body = handler(request, **params)
            except VercelRefusal as refusal:
                return json_response(refusal.status, refusal.body())
            return json_response(status, body)

        self.add_route(method, pattern, answer)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.backend.lock:  # served to real clients from the gateway's threads
            return super().handle(request)

    # -- the API's own error shapes --
    def unauthorized(self) -> httpx.Response:
        return json_response(
            403, {"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": True}}
        )

    def not_found(self, request: httpx.Request) -> httpx.Response:
        return json_response(
            404, {"error": {"code": "not_found", "message": "The requested path was not found"}}
        )

    def error(self, status: int, message: str) -> httpx.Response:
        code = "internal_server_error" if status >= 500 else "bad_request"
        return json_response(status, {"error": {"code": code, "message": message}})

    # -- what steps and faults reach (the backend's, by their old names) --
    def add_project(
        self, project_id: str, name: str, environments: tuple[str, ...] = ()
    ) -> Project:
        return self.backend.add_project(project_id, name, environments)

    def doom(self, environment: str, flags: dict[str, bool]) -> None:
        """The next deployment to ``environment`` fails or answers unhealthy, by the flags a
        deployment's meta may carry (``simulateBuildFailure``, ``simulateUnhealthy``)."""
        self.backend.doom(
            environment,
            fail_build=flags.get("simulateBuildFailure", False),
            healthy=not flags.get("simulateUnhealthy", False),
        )

    def break_all_deployments(self) -> None:
        self.backend.break_all_deployments()

    @property
    def projects(self) -> dict[str, Project]:
        return self.backend.projects

    @property
    def deployments(self) -> dict[str, Deployment]:
        return self.backend.deployments

    # -- account --
    def _user(self, request: httpx.Request) -> Answer:
        a = self.backend.account
        user = {
            "id": a.user_id,
            "uid": a.user_id,
            "email": a.email,
            "name": "Napoleon Ops",
            "username": a.username,
            "defaultTeamId": a.team_id,
            "createdAt": self.backend.ms(0),
            "softBlock": None,
            "billing": None,
            "resourceConfig": {},
            "stagingPrefix": a.username,
            "hasTrialAvailable": False,
            "version": "northstar",
        }
        return 200, {"user": user}

    def _team_body(self) -> dict[str, Any]:
        a = self.backend.account
        return {
            "id": a.team_id,
            "slug": a.team_slug,
            "name": a.team_name,
            "avatar": None,
            "createdAt": self.backend.ms(0),
            "membership": {"role": "OWNER", "confirmed": True},
            "billing": {"plan": a.plan},
        }

    def _teams(self, request: httpx.Request) -> Answer:
        return 200, {
            "teams": [self._team_body()],
            "pagination": {"count": 1, "next": None, "prev": None},
        }

    def _team(self, request: httpx.Request, team: str) -> Answer:
        a = self.backend.account
        if team not in (a.team_id, a.team_slug):
            raise VercelRefusal(404, "not_found", "Team not found")
        return 200, self._team_body()

    # -- projects --
    def _project(self, request: httpx.Request, project: str) -> Answer:
        found = self.backend.project(project)
        rollback_info = request.url.params.get("rollbackInfo") == "true"
        if rollback_info:
            self.backend.waited_for_job(found)
        self.backend.settle()
        body = self.project_body(found)
        if rollback_info:
            body["lastAliasRequest"] = self.job_body(found.job)
        return 200, body

    def project_body(self, project: Project) -> dict[str, Any]:
        b = self.backend
        production = b.deployments.get(project.production or "")
        targets: dict[str, Any] = {
            "production": self.target_body(production) if production else None
        }
        return {
            "id": project.id,
            "name": project.name,
            "accountId": project.account_id,
            "alias": [],
            "createdAt": b.ms(project.created),
            "updatedAt": b.ms(b.now()),
            "deploymentExpiration": {},
            "directoryListing": False,
            "framework": "nextjs",
            "nodeVersion": "20.x",
            "resourceConfig": {},
            "defaultResourceConfig": {},
            "customEnvironments": [
                self.environment_body(project, e.slug) for e in project.environments.values()
            ],
            "ssoProtection": {"deploymentType": "all_except_custom_domains"}
            if project.protected
            else None,
            "targets": targets,
            "latestDeployments": [self.target_body(d) for d in b.list_deployments(project.id)[:5]],
            "live": False,
            "autoAssignCustomDomains": True,
        }

    def target_body(self, d: Deployment) -> dict[str, Any]:
        """A deployment as ``targets`` and ``latestDeployments`` list it (``id``, not ``uid``)."""
        b = self.backend
        state = d.state(b.now())
        body: dict[str, Any] = {
            "id": d.id,
            "url": d.url,
            "name": d.name,
            "createdAt": b.ms(d.created),
            "createdIn": "iad1",
            "creator": {"uid": b.account.user_id, "username": b.account.username},
            "deploymentHostname": d.url.removesuffix(".vercel.app"),
            "meta": d.meta,
            "plan": b.account.plan,
            "private": True,
            "readyState": state,
            "target": d.target,
            "type": "LAMBDAS",
            "aliasAssigned": b.ms(d.alias_assigned_at) if d.alias_assigned_at is not None else None,
        }
        if state == "READY":
            body["readySubstate"] = "PROMOTED" if d.promoted else "STAGED"
            body["readyAt"] = b.ms(d.done_at)
        return body

    def environment_body(self, project: Project, slug: str) -> dict[str, Any]:
        env = project.environments[slug]
        return {
            "id": env.id,
            "slug": env.slug,
            "type": "preview",
            "description": "",
            "branchMatcher": None,
            "domains": [
                {
                    "name": env.domain,
                    "apexName": "vercel.app",
                    "projectId": project.id,
                    "customEnvironmentId": env.id,
                    "verified": True,
                }
            ],
            "createdAt": self.backend.ms(project.created),
            "updatedAt": self.backend.ms(project.created),
        }

    def _environments(self, request: httpx.Request, project: str) -> Answer:
        found = self.backend.project(project)
        return 200, {
            "environments": [self.environment_body(found, slug) for slug in found.environments],
        }

    def job_body(self, job: AliasJob | None) -> dict[str, Any] | None:
        if job is None:
            return None
        return {
            "fromDeploymentId": job.from_id,
            "toDeploymentId": job.to_id,
            "jobStatus": job.status(self.backend.now()),
            "requestedAt": self.backend.ms(job.requested),
            "type": job.type,
        }

    # -- deployments --
    def deployment_body(self, d: Deployment) -> dict[str, Any]:
        """``GET /v13/deployments/{idOrUrl}`` and ``POST /v13/deployments``
        (``getdeploymentresponsebody.ts``)."""
        b = self.backend
        state = d.state(b.now())
        project = b.projects[d.project_id]
        aliases = self._aliases_of(d)
        body: dict[str, Any] = {
            "id": d.id,
            "url": d.url,
            "name": d.name,
            "projectId": d.project_id,
            "ownerId": b.account.team_id,
            "team": {
                "id": b.account.team_id,
                "name": b.account.team_name,
                "slug": b.account.team_slug,
            },
            "target": d.target,
            "readyState": state,
            "status": state,
            "createdAt": b.ms(d.created),
            "buildingAt": b.ms(d.building_at),
            "bootedAt": b.ms(d.created),
            "createdIn": "iad1",
            "creator": {"uid": b.account.user_id, "username": b.account.username},
            "meta": d.meta,
            "type": "LAMBDAS",
            "version": 2,
            "public": not project.protected,
            "plan": b.account.plan,
            "regions": ["iad1"],
            "routes": None,
            "env": [],
            "build": {"env": []},
            "buildSkipped": False,
            "isInConcurrentBuildsQueue": False,
            "isInSystemBuildsQueue": False,
            "projectSettings": {},
            "inspectorUrl": f"https://vercel.com/{b.account.team_slug}/{d.name}/{d.id[4:]}",
            "source": "cli",
            "alias": aliases,
            "aliasAssigned": d.alias_assigned_at is not None,
            "aliasAssignedAt": b.ms(d.alias_assigned_at)
            if d.alias_assigned_at is not None
            else None,
            "aliasError": None,
            "automaticAliases": [],
        }
        if d.environment is not None:
            body["customEnvironment"] = {"id": d.environment.id, "slug": d.environment.slug}
        if state == "READY":
            body["ready"] = b.ms(d.done_at)
            body["readySubstate"] = "PROMOTED" if d.promoted else "STAGED"
        if state == "ERROR":
            body["errorCode"] = "BUILD_FAILED"
            body["errorMessage"] = 'Command "npm run build" exited with 1'
            body["buildErrorAt"] = b.ms(d.done_at)
        if state == "CANCELED" and d.canceled_at is not None:
            body["canceledAt"] = b.ms(d.canceled_at)
            body["errorMessage"] = "The deployment was canceled"
        return body

    def _aliases_of(self, d: Deployment) -> list[str]:
        project = self.backend.projects[d.project_id]
        found = [project.production_domain] if project.production == d.id else []
        for slug, deployment_id in project.environment_aliases.items():
            if deployment_id == d.id:
                found.append(project.environments[slug].domain)
        return found

    def list_item(self, d: Deployment) -> dict[str, Any]:
        """One item of ``GET /v7/deployments`` (``getdeploymentsop.ts``: ``uid``, not ``id``)."""
        b = self.backend
        state = d.state(b.now())
        item: dict[str, Any] = {
            "uid": d.id,
            "name": d.name,
            "url": d.url,
            "projectId": d.project_id,
            "created": b.ms(d.created),
            "createdAt": b.ms(d.created),
            "buildingAt": b.ms(d.building_at),
            "state": state,
            "readyState": state,
            "type": "LAMBDAS",
            "creator": {"uid": b.account.user_id, "username": b.account.username},
            "meta": d.meta,
            "target": d.target,
            "source": "cli",
            "aliasAssigned": b.ms(d.alias_assigned_at) if d.alias_assigned_at is not None else None,
            "aliasError": None,
            "inspectorUrl": f"https://vercel.com/{b.account.team_slug}/{d.name}/{d.id[4:]}",
            "isRollbackCandidate": b.is_rollback_candidate(d),
        }
        if d.environment is not None:
            item["customEnvironment"] = {"id": d.environment.id, "slug": d.environment.slug}
        if state == "READY":
            item["ready"] = b.ms(d.done_at)
            item["readySubstate"] = "PROMOTED" if d.promoted else "STAGED"
        if state == "ERROR":
            item["errorCode"] = "BUILD_FAILED"
        return item

    def _create(self, request: httpx.Request) -> Answer:
        body = json_body(request)
        if not isinstance(body, dict) or not body.get("name"):
            raise VercelRefusal(
                400, "bad_request", "Invalid request: missing required property `name`."
            )
        meta = body.get("meta") or {}
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise VercelRefusal(
                400, "bad_request", "Invalid request: `meta` values should be string."
            )
        project = self.backend.project(str(body.get("project") or body["name"]))
        git = body.get("gitMetadata") or {}
        if isinstance(git, dict) and git.get("commitSha") and "githubCommitSha" not in meta:
            meta = {**meta, "githubCommitSha": str(git["commitSha"])}  # what the CLI sends
        files = tuple(
            str(f.get("sha"))
            for f in body.get("files") or []
            if isinstance(f, dict) and f.get("sha")
        )
        deployment = self.backend.create_deployment(
            project,
            body.get("target"),
            body.get("customEnvironmentSlugOrId"),
            {str(k): str(v) for k, v in meta.items()},
            files,
            fail_build=meta.get("simulateBuildFailure") == "1",
            healthy=meta.get("simulateUnhealthy") != "1",
        )
        return 200, self.deployment_body(deployment)

    def _upload(self, request: httpx.Request) -> Answer:
        sha = request.headers.get("x-vercel-digest") or request.headers.get("x-now-digest", "")
        self.backend.upload(sha, request.content)
        return 200, {"urls": []}

    def _get(self, request: httpx.Request, ref: str) -> Answer:
        d = self.backend.deployment(ref)
        self.backend.waited_for(d)
        return 200, self.deployment_body(d)

    def _list(self, request: httpx.Request) -> Answer:
        params = request.url.params
        self.backend.settle()
        states = set(params["state"].split(",")) if params.get("state") else None
        candidate = params.get("rollbackCandidate")
        found = self.backend.list_deployments(
            params.get("projectId"),
            params.get("target"),
            states,
            int(params["until"]) if params.get("until") else None,
            None if candidate is None else candidate == "true",
        )
        limit = int(params.get("limit", str(PAGE_LIMIT)))
        page, more = found[:limit], len(found) > limit
        pagination = {
            "count": len(page),
            "next": self.backend.ms(page[-1].created) if more and page else None,
            "prev": self.backend.ms(page[0].created) if page else None,
        }
        return 200, {"deployments": [self.list_item(d) for d in page], "pagination": pagination}

    def _cancel(self, request: httpx.Request, ref: str) -> Answer:
        return 200, self.deployment_body(self.backend.cancel(self.backend.deployment(ref)))

    def _events(self, request: httpx.Request, ref: str) -> httpx.Response:
        """Build logs as the SDK models them: records with a ``payload``, flat records without
        one, and the ``alias-assigned`` record; ``format=lines`` as JSON lines (what the CLI
        reads). ``follow=1`` streams until the build is done: the answer stands for a client
        that followed the log to its end (or for :data:`WAIT_STEP_SECONDS`, then it reconnects)."""
        try:
            d = self.backend.deployment(ref)
        except VercelRefusal as refusal:
            return json_response(refusal.status, refusal.body())
        if request.url.params.get("follow") == "1":
            self.backend.waited_for(d)
            self.backend.waited_for(d)
        events = self.build_events(d)
        if request.url.params.get("format") == "lines":
            lines = "".join(json.dumps(event) + "\n" for event in events)
            return httpx.Response(200, text=lines, headers={"content-type": "application/x-ndjson"})
        return json_response(200, events)

    def build_events(self, d: Deployment) -> list[dict[str, Any]]:
        b = self.backend
        b.settle()
        state = d.state(b.now())
        lines = [
            ("command", 'Running "vercel build"'),
            ("stdout", f"Cloning completed: {d.commit[:7] or 'local files'}"),
        ]
        if state == "ERROR":
            lines.append(("stderr", 'Error: Command "npm run build" exited with 1'))
        elif state == "READY":
            lines.append(("stdout", "Build Completed in /vercel/output"))
        events: list[dict[str, Any]] = []
        for index, (kind, text) in enumerate(lines):
            at = b.ms(d.building_at) + index
            record = {
                "id": f"{d.id}-{index}",
                "deploymentId": d.id,
                "date": at,
                "created": at,
                "serial": b.next_serial(),
                "text": text,
                "info": {"type": "build", "name": "bld_" + d.id[4:16], "entrypoint": "."},
            }
            if index % 2 == 0:  # the payload shape
                events.append({"type": kind, "created": at, "payload": record})
            else:  # the flat shape
                flat = {**record, "type": kind}
                if kind == "stderr":
                    flat["level"] = "error"
                events.append(flat)
        if d.alias_assigned_at is not None:
            events.append(
                {
                    "type": "alias-assigned",
                    "deploymentId": d.id,
                    "date": b.ms(d.alias_assigned_at),
                    "alias": self._aliases_of(d),
                    "aliasError": None,
                    "aliasWarning": None,
                }
            )
        return events

    def _aliases(self, request: httpx.Request, ref: str) -> Answer:
        d = self.backend.deployment(ref)
        self.backend.settle()
        aliases = [
            {
                "uid": "alias_" + hashlib.sha1(a.encode()).hexdigest()[:24],
                "alias": a,
                "created": self.backend.ms(d.done_at),
                "deploymentId": d.id,
            }
            for a in self._aliases_of(d)
        ]
        return 200, {"aliases": aliases}

    def _promote(self, request: httpx.Request, project: str, ref: str) -> Answer:
        found = self.backend.project(project)
        job = self.backend.request_promote(found, self.backend.deployment(ref))
        return (201 if job else 202), None  # 202: queued behind a rolling release

    def _rollback(self, request: httpx.Request, project: str, ref: str) -> Answer:
        found = self.backend.project(project)
        self.backend.request_rollback(found, self.backend.deployment(ref))
        return 201, None

    def _request_logs(self, request: httpx.Request) -> Answer:
        """The request logs ``vercel logs`` reads (the dashboard's ``/api/logs/request-logs``,
        which the CLI asks its API origin for when that is not api.vercel.com): one row per
        request a deployment's URLs served."""
        b, params = self.backend, request.url.params
        project = b.project(params.get("projectId", ""))
        wanted = params.get("deploymentId")
        start, end = int(params.get("startDate", "0")), int(params.get("endDate", str(2**62)))
        rows = []
        for d in b.list_deployments(project.id):
            if wanted and wanted not in (d.id, d.url):
                continue
            for index, r in enumerate(d.requests):
                if not start <= b.ms(r.at) <= max(end, b.ms(b.now())):
                    continue
                level = "error" if r.status >= 500 else "info"
                rows.append(
                    {
                        "requestId": f"iad1::{d.id[4:12]}-{index}",
                        "timestamp": datetime.fromtimestamp(b.ms(r.at) / 1000, UTC).isoformat(),
                        "deploymentId": d.id,
                        "requestMethod": r.method,
                        "requestPath": r.path,
                        "statusCode": r.status,
                        "environment": "production" if d.target == "production" else "preview",
                        "domain": r.host,
                        "logs": [{"level": level, "message": f"{r.method} {r.path} {r.status}"}],
                        "events": [{"source": "serverless"}],
                    }
                )
        return 200, {"rows": rows, "hasMoreRows": False}

    def _rollback_aliases(self, request: httpx.Request, project: str) -> Answer:
        found = self.backend.project(project)
        job = found.job
        aliases = []
        if job is not None and job.status(self.backend.now()) == "failed":
            aliases.append(
                {
                    "alias": {"alias": found.production_domain, "deploymentId": job.to_id},
                    "id": "alias_" + job.to_id[4:20],
                    "status": "failed",
                }
            )
        return 200, {
            "aliases": aliases,
            "pagination": {"count": len(aliases), "next": None, "prev": None},
        }

    # -- deployment URLs (health checks, as an uptime monitor or a smoke test sees them) --
    def handle_deployment_url(self, request: httpx.Request) -> httpx.Response:
        with self.backend.lock:
            served = self.backend.serving(request.url.host)
            if served is None:
                return _not_found_page()
            deployment, project = served
            if deployment.state(self.backend.now()) != "READY":
                return _not_found_page()
            bypass = request.headers.get(BYPASS_HEADER) or request.url.params.get(BYPASS_HEADER)
            if (
                not self.backend.is_public(request.url.host, project)
                and bypass != project.bypass_secret
            ):
                return httpx.Response(
                    401,
                    text="<!doctype html><title>Authentication Required</title>Vercel Authentication",
                    headers={
                        "content-type": "text/html; charset=utf-8",
                        "x-vercel-id": "iad1::sim",
                    },
                )
            if request.url.path == "/api/health":
                answer = json_response(
                    200 if deployment.healthy else 503, {"ok": deployment.healthy}
                )
            else:
                answer = httpx.Response(
                    200 if deployment.healthy else 500, text="<html>Napoleon AI</html>"
                )
            deployment.requests.append(
                RequestRecord(
                    self.backend.now(),
                    request.method,
                    request.url.host,
                    request.url.path,
                    answer.status_code,
                )
            )
            return answer


def _not_found_page() -> httpx.Response:
    return httpx.Response(
        404,
        text="The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND\n",
        headers={"x-vercel-error": "DEPLOYMENT_NOT_FOUND"},
    )
