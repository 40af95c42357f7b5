"""Production on Vercel as the weekly check reads it (guide: Deployment Procedures > Rollback
Procedures, "Quick rollback to previous deployment"; Deployment Steps, "8. Monitor deployment").

All reads through the Vercel REST client the drills use (:class:`~runbook_lib.procedures.
deployment.vercel.VercelClient`):

- :func:`read_production`: the project's production deployment (``targets.production``), the
  domains assigned to it (``GET /v2/deployments/{id}/aliases``) and what each domain's
  ``/api/health`` answers. The domains, not the deployment's generated URL: the generated URL is
  behind Vercel Authentication, which a live check has no bypass for, while the production
  domain is what users reach (public under Standard Protection);
- :func:`rollback_candidate`: the newest earlier READY production deployment, which is what
  ``vercel rollback`` can return to (Vercel refuses a rollback to a deployment that is not a
  READY production deployment of the project).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from runbook_lib.procedures.deployment.vercel import Deployment, VercelClient

HEALTH_PATH = "/api/health"  # what the smoke test and the monitor check first


@dataclass(frozen=True)
class DomainHealth:
    domain: str
    status: int | None  # None: the domain did not answer
    detail: str = ""


@dataclass(frozen=True)
class ProductionReading:
    deployment: Deployment | None  # None: nothing is in production
    health: tuple[DomainHealth, ...]  # one per domain assigned to production

    def problems(self) -> list[str]:
        """Why production is not healthy ([]: READY, with domains that all answer 200)."""
        current = self.deployment
        if current is None:
            return ["nothing is in production"]
        found = []
        if current.state != "READY":
            found.append(f"production deployment {current.id} is {current.state}, not READY")
        if not self.health:
            found.append(f"no domain is assigned to production deployment {current.id}")
        found += [
            f"https://{h.domain}{HEALTH_PATH} answered {h.status or 'nothing'}"
            + (f" ({h.detail})" if h.detail else "")
            for h in self.health
            if h.status != 200
        ]
        return found


def domains(client: VercelClient, deployment: Deployment) -> tuple[str, ...]:
    """The domains assigned to ``deployment`` (``GET /v2/deployments/{id}/aliases``)."""
    body = client.api.request("GET", f"/v2/deployments/{deployment.id}/aliases").json()
    return tuple(str(alias["alias"]) for alias in body.get("aliases", []))


def domain_health(http: httpx.Client, domain: str) -> DomainHealth:
    try:
        answer = http.get(f"https://{domain}{HEALTH_PATH}", timeout=10)
    except httpx.HTTPError as exc:
        return DomainHealth(domain, None, f"{type(exc).__name__}: {exc}"[:200])
    return DomainHealth(domain, answer.status_code)


def read_production(client: VercelClient) -> ProductionReading:
    current = client.production()
    if current is None:
        return ProductionReading(None, ())
    found = domains(client, current)
    return ProductionReading(current, tuple(domain_health(client.http, d) for d in found))


def rollback_candidate(client: VercelClient, current: Deployment) -> Deployment | None:
    """The newest READY production deployment created before ``current`` (None: none)."""
    earlier = [
        d
        for d in client.deployments(target="production", state="READY")
        if d.id != current.id and d.created_ms < current.created_ms and d.state == "READY"
    ]
    return max(earlier, key=lambda d: d.created_ms) if earlier else None
