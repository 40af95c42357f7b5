"""The seam every simulated HTTP API shares: routes, bearer auth, JSON answers, faults.

A fake is a plain object whose :meth:`FakeAPI.handle` turns an ``httpx.Request`` into an
``httpx.Response``. Tests mount it on a respx router (``route.mock(side_effect=fake.handle)``)
or on ``httpx.MockTransport(fake.handle)``; nothing here imports respx. State lives on the
fake (moto's models/responses split, in small).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from runbook_lib.world import touched

Handler = Callable[..., httpx.Response]


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with ``status`` (or raise a timeout)."""

    status: int | None  # None: the request times out
    times: int
    path_contains: str = ""
    method: str | None = None

    def matches(self, request: httpx.Request) -> bool:
        return (self.path_contains in request.url.path) and (
            self.method is None or request.method == self.method
        )


@dataclass(frozen=True)
class Route:
    """One served route as declared: ``pattern`` keeps its ``{name}`` segments (as an OpenAPI
    path template does); ``internal``: the provider marks it internal (``x-internal``)."""

    method: str
    pattern: str
    internal: bool = False


@dataclass
class FakeAPI:
    """Route table + auth for one simulated service."""

    base_url: str
    auth_scheme: str = "Bearer"
    tokens: set[str] = field(default_factory=set)
    requests: list[httpx.Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _routes: list[tuple[str, re.Pattern[str], Handler, bool]] = field(default_factory=list)
    route_table: list[Route] = field(default_factory=list)  # what is served, as declared

    def add_route(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        auth: bool = True,
        internal: bool = False,
    ) -> None:
        """``pattern`` uses ``{name}`` placeholders for one path segment each."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler, auth))
        self.route_table.append(Route(method, pattern, internal))

    def inject(
        self, status: int | None, times: int = 1, path_contains: str = "", method: str | None = None
    ) -> None:
        """Make the next ``times`` matching requests fail with ``status`` (None: time out)."""
        self.faults.append(Fault(status, times, path_contains, method))

    def handle(self, request: httpx.Request) -> httpx.Response:
        touched.simulated(f"{type(self).__name__} ({request.url.host})")
        self.requests.append(request)
        for fault in self.faults:
            if fault.times > 0 and fault.matches(request):
                fault.times -= 1
                if fault.status is None:
                    raise httpx.ReadTimeout("simulated timeout", request=request)
                return self.error(fault.status, f"simulated {fault.status}")
        for method, regex, handler, needs_auth in self._routes:
            match = regex.match(request.url.path)
            if match and method == request.method:
                if needs_auth and not self.authorized(request):
                    return self.unauthorized()
                return handler(request, **match.groupdict())
        return self.not_found(request)

    def authorized(self, request: httpx.Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == self.auth_scheme.lower() and token in self.tokens

    # -- answers in the service's own shapes; subclasses override where the real API differs --
    def unauthorized(self) -> httpx.Response:
        return json_response(401, {"message": "Unauthorized"})

    def not_found(self, request: httpx.Request) -> httpx.Response:
        return json_response(404, {"message": f"Cannot {request.method} {request.url.path}"})

    def error(self, status: int, message: str) -> httpx.Response:
        return json_response(status, {"message": message})


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def json_body(request: httpx.Request) -> Any:
    """The request's JSON body, or None when it has none or it is not JSON."""
    if not request.content:
        return None
    try:
        return json.loads(request.content)
    except ValueError:
        return None
