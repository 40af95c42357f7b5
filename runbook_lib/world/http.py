"""An httpx client for provider APIs with bounded retries and errors that say what to do.

5xx answers and timeouts are retried with exponential backoff (on the procedure's clock, so a
virtual clock makes the wait instant); 401/403 fail at once with
:class:`AuthenticationFailed` naming the environment variable that holds the credential.

Requests go through the ``httpx.Client`` the caller passes in: the drills create one per session
(fixture ``http_client``; a fresh client per call costs ~30 ms of TLS set-up, which a poll loop
would pay hundreds of times) and close it at the end.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from runbook_lib.errors import AuthenticationFailed, ServiceError
from runbook_lib.world.clock import Clock, WallClock


@functools.cache
def default_tls() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle, nothing from the environment), built
    once per process: ``httpx.Client()`` builds and loads a new one each time (~35 ms of CPU),
    which loopback clients made per call or per scenario paid for TLS they never use."""
    return httpx.create_ssl_context(trust_env=False)


@dataclass
class ApiClient:
    service: str  # "Supabase Management API"
    base_url: str
    token: str | None
    token_variable: str  # where an operator puts the credential, e.g. SUPABASE_ACCESS_TOKEN
    http: httpx.Client  # the session's connection pool
    clock: Clock = field(default_factory=WallClock)
    retries: int = 3
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0
    auth_scheme: str = "Bearer"
    attempts: int = 0  # requests sent, retries included (for evidence)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201, 202, 204),
    ) -> httpx.Response:
        if not self.token:
            raise AuthenticationFailed(f"{self.service}: no credential; set {self.token_variable}")
        headers = {"Authorization": f"{self.auth_scheme} {self.token}"}
        problem, wait = "", 0.0
        for attempt in range(self.retries + 1):
            if attempt:
                self.clock.sleep(max(wait, self.backoff_seconds * 2 ** (attempt - 1)))
            self.attempts += 1
            try:
                response = self.http.request(
                    method,
                    self.base_url + path,
                    json=json,
                    params=params,
                    headers=headers,
                    timeout=self.timeout_seconds,
                )
            except httpx.TimeoutException:
                problem = f"timed out after {self.timeout_seconds:g} s"
                continue
            except httpx.RemoteProtocolError:
                problem = "closed the connection without answering"
                continue
            except httpx.TransportError as exc:
                problem = f"unreachable ({type(exc).__name__})"
                continue
            if response.status_code in (401, 403):
                raise AuthenticationFailed(
                    f"{self.service} refused the credential in {self.token_variable} "
                    f"({response.status_code}): check or rotate it",
                    response.status_code,
                )
            if response.status_code >= 500 or response.status_code == 429:
                problem, wait = f"answered {response.status_code}", _retry_after(response)
                continue
            if response.status_code not in expect:
                raise ServiceError(
                    f"{self.service} {method} {path} answered {response.status_code}: "
                    f"{response.text[:200]}",
                    response.status_code,
                )
            return response
        raise ServiceError(
            f"{self.service} {method} {path} {problem} on all {self.retries + 1} attempts; "
            "check the provider's status page and retry later"
        )


def _retry_after(response: httpx.Response) -> float:
    """How long a rate-limited (429) or unavailable (503) answer asks the client to wait: its
    ``Retry-After`` in seconds (0 when absent or not a number; dates are not used by these APIs)."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0
