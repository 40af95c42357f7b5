"""A client of the Vercel REST API: the drill's own checks of what the guide's ``vercel`` commands
did (state, production, health, build logs), and what live mode uses.

It holds to the real contract (the SDK's models, github.com/vercel/sdk ``src/models``):

- a deployment is ``GET /v13/deployments/{idOrUrl}`` (``id``); the list is ``GET /v7/deployments``,
  whose items carry ``uid`` (``getdeploymentsop.ts``), paged by ``pagination.next`` (a timestamp
  for ``until``);
- production is the project's ``targets.production`` (``GET /v9/projects/{id}``, ``id``);
- a rollback (``POST /v1/projects/{id}/rollback/{deploymentId}``) and a promote (``POST
  /v10/projects/{id}/promote/{deploymentId}``, 201 started or 202 queued behind a rolling release)
  are followed through the
  project's ``lastAliasRequest`` (``?rollbackInfo=true``: ``jobStatus`` pending, in-progress,
  succeeded, failed or skipped);
- build logs (``GET /v3/deployments/{idOrUrl}/events``) are records with a ``payload``, flat
  records, ``alias-assigned`` records and nulls (``getdeploymenteventsop.ts``): the text is read
  wherever the record keeps it;
- a deployment's generated URL is behind Vercel Authentication: the health check sends the
  project's automation bypass secret (``x-vercel-protection-bypass``) when it has one.

Waiting happens on the procedure's clock (polls every 5 s), so a virtual clock makes a 60-second
build instant while keeping its duration measurable.
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
UNFINISHED = ("QUEUED", "INITIALIZING", "BUILDING")
BYPASS_HEADER = "x-vercel-protection-bypass"


@dataclass(frozen=True)
class Deployment:
    id: str
    url: str
    target: str | None
    state: str
    commit: str
    created_ms: int
    substate: str | None = None  # readySubstate: STAGED (never served production) or PROMOTED

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Deployment:
        """A deployment as any endpoint answers it: ``id`` (v13, targets) or ``uid`` (v7 list)."""
        return cls(
            str(body.get("id") or body["uid"]),
            body["url"],
            body.get("target"),
            body.get("readyState") or body["state"],
            str((body.get("meta") or {}).get("githubCommitSha", "")),
            int(body.get("createdAt") or body.get("created") or 0),
            body.get("readySubstate"),
        )


def event_text(event: Any) -> str | None:
    """The log text of one event record, whichever shape it has (None: no text)."""
    if not isinstance(event, dict):
        return None
    payload = event.get("payload")
    text = payload.get("text") if isinstance(payload, dict) else event.get("text")
    return str(text) if text is not None else None


class VercelClient:
    def __init__(
        self,
        token: str | None,
        project_id: str,
        project_name: str,
        clock: Clock,
        http: httpx.Client,
        bypass_secret: str | None = None,
    ) -> None:
        self.api = ApiClient("Vercel API", VERCEL_API, token, "VERCEL_TOKEN", http, clock=clock)
        self.project_id, self.project_name, self.clock = project_id, project_name, clock
        self.http = http
        self.bypass_secret = bypass_secret

    def deploy(self, target: str, commit: str, meta: dict[str, bool] | None = None) -> Deployment:
        """A deployment of ``commit`` to ``production``, or to a custom environment by slug."""
        flags = {name: "1" for name, on in (meta or {}).items() if on}  # meta values are strings
        body: dict[str, Any] = {
            "name": self.project_name,
            "project": self.project_id,
            "meta": {"githubCommitSha": commit, **flags},
        }
        if target == "production":
            body["target"] = target
        elif target != "preview":
            body["customEnvironmentSlugOrId"] = target
        return Deployment.from_json(self.api.request("POST", "/v13/deployments", json=body).json())

    def get(self, deployment_id_or_url: str) -> Deployment:
        return Deployment.from_json(
            self.api.request("GET", f"/v13/deployments/{deployment_id_or_url}").json()
        )

    def deployments(
        self, target: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Deployment]:
        """The project's deployments, newest first, following ``pagination.next``."""
        params = {"projectId": self.project_id, "limit": str(min(limit, 100))}
        params.update({k: v for k, v in (("target", target), ("state", state)) if v})
        found: list[Deployment] = []
        while len(found) < limit:
            body = self.api.request("GET", "/v7/deployments", params=params).json()
            found += [Deployment.from_json(d) for d in body["deployments"]]
            following = (body.get("pagination") or {}).get("next")
            if not following:
                break
            params["until"] = str(following)
        return found[:limit]

    def wait_ready(
        self, deployment: Deployment, limit_seconds: float = BUILD_LIMIT_SECONDS
    ) -> Deployment:
        """Poll until READY; ERROR fails; past ``limit_seconds`` the build is cancelled and fails."""
        started = self.clock.monotonic()
        current = self.get(deployment.id)
        while current.state in UNFINISHED:
            if self.clock.monotonic() - started >= limit_seconds:
                self.cancel(deployment.id)
                raise ProcedureFailed(
                    f"deployment {deployment.id} still {current.state} after {limit_seconds:g} s: "
                    "cancelled; check the build logs (vercel inspect --logs)"
                )
            self.clock.sleep(POLL_SECONDS)
            current = self.get(deployment.id)
        if current.state != "READY":
            raise ProcedureFailed(
                f"deployment {deployment.id} ended {current.state}: {self.build_error(deployment.id)}"
            )
        return current

    def cancel(self, deployment_id: str) -> None:
        """Cancel a build that is still running."""
        self.api.request("PATCH", f"/v12/deployments/{deployment_id}/cancel")

    def build_error(self, deployment_id: str) -> str:
        errors = [e for e in self.logs(deployment_id) if e.startswith("Error")]
        return errors[-1] if errors else "no error in the build log"

    def logs(self, deployment_id: str) -> list[str]:
        """The deployment's build log lines."""
        body = self.api.request("GET", f"/v3/deployments/{deployment_id}/events").json()
        return [text for event in body if (text := event_text(event)) is not None]

    def production(self) -> Deployment | None:
        body = self.api.request("GET", f"/v9/projects/{self.project_id}").json()
        current = (body.get("targets") or {}).get("production")
        return Deployment.from_json(current) if current else None

    def healthy(self, deployment: Deployment) -> bool:
        """The deployment's own health endpoint answers 200 (what a smoke test checks first)."""
        headers = {BYPASS_HEADER: self.bypass_secret} if self.bypass_secret else {}
        answer = self.http.get(f"https://{deployment.url}/api/health", headers=headers, timeout=10)
        return answer.status_code == 200

    def alias_job(self) -> dict[str, Any] | None:
        """The project's last rollback or promote (``lastAliasRequest``), or None."""
        info = self.api.request(
            "GET", f"/v9/projects/{self.project_id}", params={"rollbackInfo": "true"}
        ).json()
        job = info.get("lastAliasRequest")
        return job if isinstance(job, dict) else None

    def rollback(self, to: Deployment) -> float:
        """Request a rollback to ``to`` and follow it; returns the seconds it took."""
        started = self.clock.monotonic()
        self.api.request("POST", f"/v1/projects/{self.project_id}/rollback/{to.id}")
        self._follow(to, "rollback", started)
        return self.clock.monotonic() - started

    def promote(self, deployment: Deployment) -> bool:
        """Promote ``deployment`` to production and follow the job (201); False when the API
        queued it behind an active rolling release (202) and production has not moved yet."""
        started = self.clock.monotonic()
        answer = self.api.request(
            "POST", f"/v10/projects/{self.project_id}/promote/{deployment.id}"
        )
        if answer.status_code == 202:
            return False
        self._follow(deployment, "promote", started)
        return True

    def _follow(self, to: Deployment, kind: str, started: float) -> None:
        while True:
            job = self.alias_job() or {}
            status = job.get("jobStatus") if job.get("toDeploymentId") == to.id else None
            if status == "succeeded":
                return
            waited = self.clock.monotonic() - started
            if status in ("failed", "skipped") or waited > ROLLBACK_LIMIT_SECONDS:
                raise ProcedureFailed(f"{kind} to {to.id} ended {status!r} after {waited:g} s")
            self.clock.sleep(POLL_SECONDS / 5)
