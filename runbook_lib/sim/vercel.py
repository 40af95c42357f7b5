"""A stateful fake of the Vercel REST API (https://api.vercel.com) and of deployments' URLs.

Endpoints (https://vercel.com/docs/rest-api; shared/reference anchors-restore.md §4):
``GET /v6/deployments``, ``POST /v13/deployments``, ``GET /v13/deployments/{idOrUrl}``,
``PATCH /v12/deployments/{id}/cancel``, ``GET /v3/deployments/{idOrUrl}/events`` (build logs),
``GET /v2/deployments/{id}/aliases``, ``POST /v10/projects/{projectId}/promote/{deploymentId}``,
``POST /v1/projects/{projectId}/rollback/{deploymentId}`` and
``GET /v9/projects/{idOrName}?rollbackInfo=true`` (what ``vercel rollback`` polls).

A deployment moves QUEUED -> BUILDING -> READY | ERROR as the clock advances; its state is
derived from its timings, so no background thread is needed. Each deployment URL answers
``GET /api/health`` with 200, or 503 when it was made unhealthy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx

from runbook_lib.sim.http import FakeAPI, json_body, json_response
from runbook_lib.world.clock import Clock, WallClock

BASE_URL = "https://api.vercel.com"
QUEUE_SECONDS = 5.0
BUILD_SECONDS = 60.0
ROLLBACK_SECONDS = 10.0


@dataclass
class Deployment:
    id: str
    name: str
    project_id: str
    target: str | None
    created: float  # clock.monotonic() at creation
    commit: str
    build_seconds: float = BUILD_SECONDS
    fail_build: bool = False
    healthy: bool = True
    canceled_at: float | None = None

    @property
    def url(self) -> str:
        return f"{self.name}-{self.id[4:13].lower()}.vercel.app"

    def state(self, now: float) -> str:
        if self.canceled_at is not None and self.canceled_at < self._done_at:
            return "CANCELED"
        if now < self.created + QUEUE_SECONDS:
            return "QUEUED"
        if now < self._done_at:
            return "BUILDING"
        return "ERROR" if self.fail_build else "READY"

    @property
    def _done_at(self) -> float:
        return self.created + QUEUE_SECONDS + self.build_seconds


@dataclass
class VercelProject:
    id: str
    name: str
    production: str | None = None  # deployment id the production alias points at
    staging: str | None = None
    rollback: dict[str, Any] | None = None
    rollback_started: float | None = None
    promotions: list[str] = field(default_factory=list)
    auto_assigned: set[str] = field(default_factory=set)  # deployments already given their domain


class VercelFake(FakeAPI):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(BASE_URL)
        self.clock = clock or WallClock()
        self.projects: dict[str, VercelProject] = {}
        self.deployments: dict[str, Deployment] = {}
        self.build_seconds = (
            BUILD_SECONDS  # for new deployments; raise it to simulate a stuck build
        )
        self.fail_all_builds = False  # game day: every new deployment fails its build
        self._ids = itertools.count(1)
        self.add_route("GET", "/v6/deployments", self._list)
        self.add_route("POST", "/v13/deployments", self._create)
        self.add_route("GET", "/v13/deployments/{ref}", self._get)
        self.add_route("PATCH", "/v12/deployments/{ref}/cancel", self._cancel)
        self.add_route("GET", "/v3/deployments/{ref}/events", self._events)
        self.add_route("GET", "/v2/deployments/{ref}/aliases", self._aliases)
        self.add_route("POST", "/v10/projects/{project}/promote/{ref}", self._promote)
        self.add_route("POST", "/v1/projects/{project}/rollback/{ref}", self._rollback)
        self.add_route("GET", "/v9/projects/{project}", self._project_info)

    def unauthorized(self) -> httpx.Response:
        return json_response(
            403, {"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": True}}
        )

    def not_found(self, request: httpx.Request) -> httpx.Response:
        return json_response(
            404, {"error": {"code": "not_found", "message": "The requested path was not found"}}
        )

    def error(self, status: int, message: str) -> httpx.Response:
        return json_response(
            status, {"error": {"code": "internal_server_error", "message": message}}
        )

    def add_project(self, project_id: str, name: str) -> VercelProject:
        project = VercelProject(project_id, name)
        self.projects[project_id] = project
        return project

    def break_all_deployments(self) -> None:
        """An outage: every deployment's health endpoint starts answering 503."""
        for deployment in self.deployments.values():
            deployment.healthy = False

    def now(self) -> float:
        return self.clock.monotonic()

    # -- deployment URLs (health checks, as an uptime monitor sees them) --
    def handle_deployment_url(self, request: httpx.Request) -> httpx.Response:
        self._settle()
        deployment = self._by_host(request.url.host)
        if deployment is None or deployment.state(self.now()) != "READY":
            return httpx.Response(404, text="DEPLOYMENT_NOT_FOUND")
        if request.url.path == "/api/health":
            return json_response(200 if deployment.healthy else 503, {"ok": deployment.healthy})
        return httpx.Response(200 if deployment.healthy else 500, text="<html>Napoleon AI</html>")

    def _by_host(self, host: str) -> Deployment | None:
        for project in self.projects.values():
            if host == f"{project.name}.vercel.app" and project.production:
                return self.deployments[project.production]
            if host == f"{project.name}-staging.vercel.app" and project.staging:
                return self.deployments[project.staging]
        return next((d for d in self.deployments.values() if d.url == host), None)

    # -- REST API --
    def _find(self, ref: str) -> Deployment | None:
        return self.deployments.get(ref) or next(
            (d for d in self.deployments.values() if d.url == ref), None
        )

    def shape(self, d: Deployment) -> dict[str, Any]:
        state = d.state(self.now())
        return {
            "id": d.id,
            "uid": d.id,
            "name": d.name,
            "url": d.url,
            "projectId": d.project_id,
            "target": d.target,
            "readyState": state,
            "state": state,
            "createdAt": int(d.created * 1000),
            "meta": {"githubCommitSha": d.commit},
        }

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        found = sorted(self.deployments.values(), key=lambda d: d.created, reverse=True)
        if params.get("projectId"):
            found = [d for d in found if d.project_id == params["projectId"]]
        if params.get("target"):
            found = [d for d in found if d.target == params["target"]]
        if params.get("state"):
            wanted = set(params["state"].split(","))
            found = [d for d in found if d.state(self.now()) in wanted]
        limit = int(params.get("limit", "20"))
        page = found[:limit]
        return json_response(
            200,
            {
                "deployments": [self.shape(d) for d in page],
                "pagination": {"count": len(page), "next": None, "prev": None},
            },
        )

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json_body(request)
        if not isinstance(body, dict) or not body.get("name"):
            return json_response(
                400,
                {
                    "error": {
                        "code": "bad_request",
                        "message": "Invalid request: missing required property `name`.",
                    }
                },
            )
        project = self.projects.get(str(body.get("project", ""))) or next(
            (p for p in self.projects.values() if p.name == body["name"]), None
        )
        if project is None:
            return json_response(
                404, {"error": {"code": "not_found", "message": "Project not found"}}
            )
        target = body.get("target")
        if target not in (None, "production", "staging", "preview"):
            return json_response(
                400, {"error": {"code": "bad_request", "message": f"Invalid target {target}"}}
            )
        meta = body.get("meta") or {}
        deployment = Deployment(
            f"dpl_{next(self._ids):09d}",
            project.name,
            project.id,
            target,
            self.now(),
            str(meta.get("githubCommitSha", "")),
            build_seconds=self.build_seconds,
            fail_build=bool(meta.get("simulateBuildFailure")) or self.fail_all_builds,
            healthy=not meta.get("simulateUnhealthy"),
        )
        self.deployments[deployment.id] = deployment
        return json_response(200, self.shape(deployment))

    def _get(self, request: httpx.Request, ref: str) -> httpx.Response:
        self._settle()
        d = self._find(ref)
        return json_response(200, self.shape(d)) if d else self._missing()

    def _missing(self) -> httpx.Response:
        return json_response(
            404, {"error": {"code": "not_found", "message": "Deployment not found"}}
        )

    def _cancel(self, request: httpx.Request, ref: str) -> httpx.Response:
        d = self._find(ref)
        if d is None:
            return self._missing()
        if d.state(self.now()) not in ("QUEUED", "BUILDING"):
            return json_response(
                400, {"error": {"code": "bad_request", "message": "Deployment cannot be canceled"}}
            )
        d.canceled_at = self.now()
        return json_response(200, self.shape(d))

    def _events(self, request: httpx.Request, ref: str) -> httpx.Response:
        d = self._find(ref)
        if d is None:
            return self._missing()
        state = d.state(self.now())
        lines = ["Cloning github.com/napoleon-ai/app", f"Building commit {d.commit[:7]}"]
        if state in ("READY", "ERROR"):
            lines.append(
                'Error: Command "npm run build" exited with 1'
                if state == "ERROR"
                else "Build Completed"
            )
        return json_response(
            200,
            [
                {
                    "type": "stderr" if "Error" in text else "stdout",
                    "created": int(d.created * 1000) + i,
                    "payload": {"text": text},
                }
                for i, text in enumerate(lines)
            ],
        )

    def _aliases(self, request: httpx.Request, ref: str) -> httpx.Response:
        aliases = [f"{p.name}.vercel.app" for p in self.projects.values() if p.production == ref]
        aliases += [
            f"{p.name}-staging.vercel.app" for p in self.projects.values() if p.staging == ref
        ]
        return json_response(200, {"aliases": [{"alias": a, "deploymentId": ref} for a in aliases]})

    def _promote(self, request: httpx.Request, project: str, ref: str) -> httpx.Response:
        found, d = self.projects.get(project), self._find(ref)
        if found is None or d is None:
            return self._missing()
        if d.state(self.now()) != "READY":
            return json_response(
                409, {"error": {"code": "conflict", "message": "Deployment is not READY"}}
            )
        self._point(found, d)
        if (
            d.target != "staging"
        ):  # promoting ends a rollback: new production deploys get the domain again
            found.rollback, found.rollback_started = None, None
        return json_response(201, {})

    def _point(self, project: VercelProject, d: Deployment) -> None:
        if d.target == "staging":
            project.staging = d.id
        else:
            project.production = d.id
            project.promotions.append(d.id)

    def _rollback(self, request: httpx.Request, project: str, ref: str) -> httpx.Response:
        found, d = self.projects.get(project), self._find(ref)
        if found is None or d is None:
            return self._missing()
        if d.state(self.now()) != "READY" or d.target != "production":
            return json_response(
                409,
                {
                    "error": {
                        "code": "conflict",
                        "message": "Cannot roll back to a deployment that is not a READY production deployment",
                    }
                },
            )
        found.rollback = {
            "toDeploymentId": d.id,
            "jobStatus": "pending",
            "requestedAt": int(self.now() * 1000),
            "description": request.url.params.get("description", ""),
        }
        found.rollback_started = self.now()
        return json_response(201, {})

    def _settle(self) -> None:
        """Move time-driven state forward: deployments that became READY get their domain
        (production ones only while no rollback is in effect, as on Vercel), and rollback jobs
        go pending -> in-progress -> succeeded after ROLLBACK_SECONDS."""
        for d in sorted(self.deployments.values(), key=lambda d: d.created):
            project = self.projects[d.project_id]
            if d.id in project.auto_assigned or d.state(self.now()) != "READY":
                continue
            project.auto_assigned.add(d.id)
            if d.target == "staging":
                project.staging = d.id
            elif d.target == "production" and project.rollback is None:
                project.production = d.id
        for project in self.projects.values():
            if project.rollback and project.rollback_started is not None:
                elapsed = self.now() - project.rollback_started
                if elapsed >= ROLLBACK_SECONDS and project.rollback["jobStatus"] != "succeeded":
                    project.rollback["jobStatus"] = "succeeded"
                    project.production = project.rollback["toDeploymentId"]
                elif 0 < elapsed < ROLLBACK_SECONDS:
                    project.rollback["jobStatus"] = "in-progress"

    def _project_info(self, request: httpx.Request, project: str) -> httpx.Response:
        self._settle()
        found = self.projects.get(project) or next(
            (p for p in self.projects.values() if p.name == project), None
        )
        if found is None:
            return json_response(
                404, {"error": {"code": "not_found", "message": "Project not found"}}
            )
        production = self.deployments.get(found.production or "")
        body: dict[str, Any] = {
            "id": found.id,
            "name": found.name,
            "targets": {"production": self.shape(production) if production else None},
        }
        if request.url.params.get("rollbackInfo") == "true":
            body["lastRollbackTarget"] = found.rollback
        return json_response(200, body)
