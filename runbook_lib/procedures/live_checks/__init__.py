"""The weekly live checks: what an SRE reads from staging every week, changing nothing.

Each check reads one service of the drill's target through the client the drills use for it,
and changes nothing (``features/live_checks.feature``, all ``@live``):

- :mod:`.backups`: Supabase's backup listing and schedule through the Management API: the newest
  backup against the guide's database backup schedule, point-in-time recovery against the
  Database RPO (guide: Backup & Recovery > Database Backups; Recovery Time Objectives);
- :mod:`.production`: the Vercel project's production deployment (READY, its domain answers
  healthy) and an earlier READY production deployment to roll back to (guide: Rollback
  Procedures);
- :mod:`runbook_lib.procedures.security.buckets`: the storage and backup buckets against what
  the guide promises of them (Security Procedures, Recovery Time Objectives);
- :mod:`.rules`: the deployed alert rule file against the rules the guide generates (Alerting
  Rules, Key Metrics).

:class:`TargetServices` is the target as those checks reach it: a live target's own endpoints
and credentials, or the simulations standing in for them (:mod:`runbook_lib.sim.staging`).
Every HTTP request goes through :class:`ReadOnlyHttp` and S3 through a client that refuses
writes (:func:`~runbook_lib.procedures.security.buckets.refuse_writes`): a check that tried to
write would fail before anything was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from runbook_lib.errors import ConfigurationError, ProcedureFailed
from runbook_lib.procedures.backup_recovery.backup import supabase_client
from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.procedures.security.buckets import refuse_writes
from runbook_lib.world import touched
from runbook_lib.world.clock import Clock
from runbook_lib.world.http import ApiClient, default_tls
from runbook_lib.world.secrets import Secret
from runbook_lib.world.targets import CREDENTIAL_KEYS, Target

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

READS = ("GET", "HEAD")


class ReadOnlyHttp(httpx.Client):
    """The session's HTTP client (its proxy, TLS trust and pool), refusing before sending any
    request that is not a read. Close it when done (it holds no connection of its own)."""

    def __init__(self, inner: httpx.Client) -> None:
        super().__init__(timeout=inner.timeout, trust_env=False, verify=default_tls())
        self.inner = inner

    def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if request.method not in READS:
            raise ProcedureFailed(
                f"a live check tried {request.method} {request.url.host}{request.url.path}: "
                "live checks only read (GET, HEAD)"
            )
        return self.inner.send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)


@dataclass(frozen=True)
class TargetServices:
    """One target's services as the weekly checks reach them: its names, its tokens (masked
    when printed), the clock that says what "now" is, and read-only clients."""

    names: Target  # the projects and buckets the checks read
    tokens: dict[str, Secret]  # client variable (SUPABASE_ACCESS_TOKEN, VERCEL_TOKEN) -> token
    clock: Clock
    http: ReadOnlyHttp
    s3: S3Client  # refuses writes (see :func:`services`)
    live: bool = True  # the target's own endpoints (False: simulations stand in for them)

    def token(self, variable: str) -> str:
        held = self.tokens.get(variable)
        if not held:
            key = next((k for k, v in CREDENTIAL_KEYS.items() if v == variable), variable)
            raise ConfigurationError(
                f"target {self.names.name!r} holds no {variable}: name the variable that holds "
                f"it as {key} in targets.yml and set it"
            )
        return held.reveal()

    def _reached(self, service: str) -> None:
        if self.live:  # a simulation notes itself when it answers
            touched.real(f"{service} of target {self.names.name}")

    @property
    def supabase(self) -> ApiClient:
        """The Management API, as the drills' backup procedures reach it."""
        self._reached("Supabase Management API")
        return supabase_client(self.token("SUPABASE_ACCESS_TOKEN"), self.clock, self.http)

    @property
    def vercel(self) -> VercelClient:
        """The Vercel REST API, as the drills' deployment procedures reach it."""
        self._reached("Vercel API")
        names = self.names
        return VercelClient(
            self.token("VERCEL_TOKEN"),
            names.vercel_project,
            names.vercel_project_name,
            self.clock,
            self.http,
        )


def services(
    names: Target,
    tokens: dict[str, Secret],
    clock: Clock,
    http: ReadOnlyHttp,
    s3: S3Client,
    *,
    live: bool,
) -> TargetServices:
    """The checks' view of ``names``' services; ``s3`` refuses writes from now on."""
    refuse_writes(s3)
    return TargetServices(names, tokens, clock, http, s3, live)


def live_services(target: Target, clock: Clock, http: ReadOnlyHttp, s3: S3Client) -> TargetServices:
    """A live target's own endpoints, with the tokens its environment holds."""
    return services(target, dict(target.credentials), clock, http, s3, live=True)
