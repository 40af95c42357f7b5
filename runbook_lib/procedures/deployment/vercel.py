"""A client of the Vercel REST API, and what the guide's ``vercel`` commands mean in it.

| the guide writes           | the client does                                                     |
|----------------------------|---------------------------------------------------------------------|
| ``vercel --target staging`` | ``POST /v13/deployments`` (target staging), wait until READY         |
| ``vercel --prod``           | ``POST /v13/deployments`` (target production), wait until READY     |
| ``vercel rollback --prod``  | ``POST /v1/projects/{id}/rollback/{dep}``, poll ``GET /v9/projects/{id}?rollbackInfo=true`` |
| ``vercel logs --prod``      | ``GET /v3/deployments/{id}/events`` of the production deployment     |

Waiting happens on the procedure's clock (polls every 5 s, as the CLI does), so a virtual clock
makes a 60-second build instant while keeping its duration measurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from runbook_lib.errors import ProcedureFailed
from runbook_lib.world.clock import Clock
from runbook_lib.world.http import ApiClient

VERCEL_API = "https://api.vercel.com"
POLL_SECONDS = 5.0
BUILD_LIMIT_SECONDS = 15 * 60
ROLLBACK_LIMIT_SECONDS = 3 * 60  # the CLI's default --timeout


@dataclass(frozen=True)
class Deployment:
    id: str
    url: str
    target: str | None
    state: str
    commit: str
    created_ms: int

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Deployment:
        return cls(
            body["id"],
            body["url"],
            body.get("target"),
            body.get("readyState") or body["state"],
            str((body.get("meta") or {}).get("githubCommitSha", "")),
            int(body.get("createdAt", 0)),
        )


class VercelClient:
    def __init__(
        self,
        token: str | None,
        project_id: str,
        project_name: str,
        clock: Clock,
        http: httpx.Client,
    ) -> None:
        self.api = ApiClient("Vercel API", VERCEL_API, token, "VERCEL_TOKEN", http, clock=clock)
        self.project_id, self.project_name, self.clock = project_id, project_name, clock
        self.http = http

    def deploy(self, target: str, commit: str, meta: dict[str, Any] | None = None) -> Deployment:
        body = {
            "name": self.project_name,
            "project": self.project_id,
            "target": target,
            "meta": {"githubCommitSha": commit, **(meta or {})},
        }
        return Deployment.from_json(self.api.request("POST", "/v13/deployments", json=body).json())

    def get(self, deployment_id: str) -> Deployment:
        return Deployment.from_json(
            self.api.request("GET", f"/v13/deployments/{deployment_id}").json()
        )

    def deployments(
        self, target: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Deployment]:
        params = {"projectId": self.project_id, "limit": str(limit)}
        params.update({k: v for k, v in (("target", target), ("state", state)) if v})
        body = self.api.request("GET", "/v6/deployments", params=params).json()
        return [Deployment.from_json(d) for d in body["deployments"]]

    def wait_ready(
        self, deployment: Deployment, limit_seconds: float = BUILD_LIMIT_SECONDS
    ) -> Deployment:
        """Poll until READY; ERROR fails; past ``limit_seconds`` the build is cancelled and fails."""
        started = self.clock.monotonic()
        current = self.get(deployment.id)
        while current.state in ("QUEUED", "INITIALIZING", "BUILDING"):
            if self.clock.monotonic() - started >= limit_seconds:
                self.api.request("PATCH", f"/v12/deployments/{deployment.id}/cancel")
                raise ProcedureFailed(
                    f"deployment {deployment.id} still {current.state} after {limit_seconds:g} s: "
                    "cancelled; check the build logs (vercel logs)"
                )
            self.clock.sleep(POLL_SECONDS)
            current = self.get(deployment.id)
        if current.state != "READY":
            raise ProcedureFailed(
                f"deployment {deployment.id} ended {current.state}: {self.build_error(deployment.id)}"
            )
        return current

    def build_error(self, deployment_id: str) -> str:
        events = self.logs(deployment_id)
        errors = [e for e in events if e.startswith("Error")]
        return errors[-1] if errors else "no error in the build log"

    def logs(self, deployment_id: str) -> list[str]:
        body = self.api.request("GET", f"/v3/deployments/{deployment_id}/events").json()
        return [str(event["payload"]["text"]) for event in body]

    def production(self) -> Deployment | None:
        body = self.api.request("GET", f"/v9/projects/{self.project_id}").json()
        current = (body.get("targets") or {}).get("production")
        return Deployment.from_json(current) if current else None

    def healthy(self, deployment: Deployment) -> bool:
        """The deployment's own health endpoint answers 200 (what a smoke test checks first)."""
        answer = self.http.get(f"https://{deployment.url}/api/health", timeout=10)
        return answer.status_code == 200

    def rollback(self, to: Deployment) -> float:
        """``vercel rollback``: request it, then poll its status; returns the seconds it took."""
        started = self.clock.monotonic()
        self.api.request(
            "POST",
            f"/v1/projects/{self.project_id}/rollback/{to.id}",
            params={"description": "runbook drill rollback"},
        )
        while True:
            info = self.api.request(
                "GET", f"/v9/projects/{self.project_id}", params={"rollbackInfo": "true"}
            ).json()
            status = (info.get("lastRollbackTarget") or {}).get("jobStatus")
            if status == "succeeded":
                return self.clock.monotonic() - started
            if (
                status in ("failed", "skipped")
                or self.clock.monotonic() - started > ROLLBACK_LIMIT_SECONDS
            ):
                raise ProcedureFailed(
                    f"rollback to {to.id} ended {status!r} after "
                    f"{self.clock.monotonic() - started:g} s"
                )
            self.clock.sleep(POLL_SECONDS / 5)

    def promote(self, deployment: Deployment) -> None:
        self.api.request("POST", f"/v10/projects/{self.project_id}/promote/{deployment.id}")
