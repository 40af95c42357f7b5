"""The simulated Supabase Management API (https://api.supabase.com): its routes, thin handlers over
:class:`~runbook_lib.sim.supabase_backend.SupabaseBackend` (moto's ``responses.py``).

Routes, methods and response bodies are the Management API's OpenAPI document's
(``tests/data/specs/supabase-management-api.openapi.json``, checked by
``tests/test_contracts_supabase.py`` from :attr:`SupabaseFake.route_table`); headers and error
bodies are those the Supabase CLI recorded from the real API (``content-type: application/json;
charset=utf-8``, ``x-gotrue-id``, ``x-ratelimit-limit/remaining/reset``, errors as
``{"message": ...}``).

- The API takes a personal access token (``sbp_...``) as bearer; a project's service-role key
  is another credential and is refused with 401 ``{"message": "Unauthorized"}``.
- An unknown path answers NestJS's router: 404 ``{"message": "Cannot POST /v1/..."}``.
- Served: the project, its API keys, the backup listing, restore of a backup by ``id``,
  point-in-time restore, the backup schedule, and restore points. ``restore``,
  ``restore-point`` (and ``undo``, not served) are ``x-internal`` in the document: served, and
  flagged internal in the route table. Nothing creates a backup: the document has no such route.
- Rate limit: each token's requests that reach a route are counted
  (:meth:`SupabaseBackend.take_request`); every answer carries the window in ``x-ratelimit-*``,
  and past the limit it is 429 with ``retry-after``. The 429 body follows NestJS's throttler
  (``ThrottlerException: Too Many Requests``): the recorded responses hold no 429.
- A 201 of a restore has no body, as the document gives it none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from runbook_lib.sim.http import FakeAPI, json_body
from runbook_lib.sim.supabase_backend import (
    ApiKey,
    Project,
    RateWindow,
    RestorePoint,
    SupabaseBackend,
    SupabaseRefusal,
)
from runbook_lib.world.clock import Clock, WallClock

BASE_URL = "https://api.supabase.com"
CONTENT_TYPE = "application/json; charset=utf-8"
TOO_MANY = "ThrottlerException: Too Many Requests"

Answer = tuple[int, Any]  # (status, JSON body; None: no body)
RouteHandler = Callable[..., Answer]


class SupabaseFake(FakeAPI):
    def __init__(self, clock: Clock | None = None, backend: SupabaseBackend | None = None) -> None:
        super().__init__(BASE_URL)
        self.backend = backend or SupabaseBackend(clock or WallClock())
        project = "/v1/projects/{ref}"
        backups = project + "/database/backups"
        self._serve("GET", project, self._get_project)
        self._serve("GET", project + "/api-keys", self._api_keys)
        self._serve("GET", backups, self._list_backups)
        self._serve("POST", backups + "/restore", self._restore, internal=True)
        self._serve("POST", backups + "/restore-pitr", self._restore_pitr)
        self._serve("GET", backups + "/schedule", self._get_schedule)
        self._serve("PATCH", backups + "/schedule", self._set_schedule)
        self._serve("POST", backups + "/restore-point", self._create_restore_point, internal=True)
        self._serve("GET", backups + "/restore-point", self._get_restore_point, internal=True)

    # -- protocol: every route is counted, answered as JSON, and its refusals are {message} ----
    def _serve(
        self, method: str, pattern: str, handler: RouteHandler, *, internal: bool = False
    ) -> None:
        def answer(request: httpx.Request, **params: str) -> httpx.Response:
            token = request.headers.get("authorization", "").partition(" ")[2]
            window = self.backend.take_request(token)
            if not window.allowed:
                return self._respond(429, {"message": TOO_MANY}, window)
            try:
                status, body = handler(request, **params)
            except SupabaseRefusal as refusal:
                status, body = refusal.status, {"message": refusal.message}
            return self._respond(status, body, window)

        self.add_route(method, pattern, answer, internal=internal)

    def _respond(self, status: int, body: Any, window: RateWindow) -> httpx.Response:
        headers = {
            "x-gotrue-id": self.backend.user_id,
            "x-ratelimit-limit": str(window.limit),
            "x-ratelimit-remaining": str(window.remaining),
            "x-ratelimit-reset": str(window.reset_seconds),
        }
        if status == 429:
            headers["retry-after"] = str(window.reset_seconds)
        return _json(status, body, headers)

    def unauthorized(self) -> httpx.Response:
        return _json(401, {"message": "Unauthorized"})

    def not_found(self, request: httpx.Request) -> httpx.Response:
        return _json(404, {"message": f"Cannot {request.method} {request.url.path}"})

    def error(self, status: int, message: str) -> httpx.Response:
        return _json(status, {"message": message})

    # -- handlers ---------------------------------------------------------------------------------
    def _get_project(self, request: httpx.Request, ref: str) -> Answer:
        project = self.backend.project(ref)
        return 200, {
            "id": project.ref,
            "ref": project.ref,
            "organization_id": project.organization_slug,
            "organization_slug": project.organization_slug,
            "name": project.name,
            "region": project.region,
            "status": self.backend.status(ref),
            "database": {
                "host": self.backend.database_host(ref),
                "version": project.postgres_version,
                "postgres_engine": project.postgres_version.split(".")[0],
                "release_channel": "ga",
            },
            "created_at": _instant(project.created_at),
        }

    def _api_keys(self, request: httpx.Request, ref: str) -> Answer:
        reveal = request.url.params.get("reveal", "false").lower() == "true"
        return 200, [_api_key(key, reveal) for key in self.backend.project(ref).api_keys]

    def _list_backups(self, request: httpx.Request, ref: str) -> Answer:
        project = self.backend.project(ref)
        window = self.backend.physical_backup_data(ref)
        physical = {}
        if window.earliest is not None and window.latest is not None:
            physical = {
                "earliest_physical_backup_date_unix": window.earliest,
                "latest_physical_backup_date_unix": window.latest,
            }
        return 200, {
            "region": project.region,
            "walg_enabled": project.walg_enabled,
            "pitr_enabled": project.pitr_enabled,
            "backups": [
                {
                    "id": b.id,
                    "is_physical_backup": b.is_physical_backup,
                    "status": b.status,
                    "inserted_at": _instant(b.inserted_at),
                }
                for b in project.backups
            ],
            "physical_backup_data": physical,
        }

    def _restore(self, request: httpx.Request, ref: str) -> Answer:
        self.backend.project(ref)
        self.backend.restore_backup(ref, _integer(request, "id"))
        return 201, None

    def _restore_pitr(self, request: httpx.Request, ref: str) -> Answer:
        self.backend.project(ref)
        self.backend.restore_pitr(ref, _integer(request, "recovery_time_target_unix", minimum=0))
        return 201, None

    def _get_schedule(self, request: httpx.Request, ref: str) -> Answer:
        return 200, _schedule(self.backend.schedule(ref))

    def _set_schedule(self, request: httpx.Request, ref: str) -> Answer:
        self.backend.schedule(ref)
        body = json_body(request)
        value = body.get("schedule_for") if isinstance(body, dict) else None
        if not isinstance(value, str):
            raise SupabaseRefusal(400, "schedule_for must be a string")
        return 200, _schedule(self.backend.set_schedule(ref, value))

    def _create_restore_point(self, request: httpx.Request, ref: str) -> Answer:
        self.backend.project(ref)
        body = json_body(request)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            raise SupabaseRefusal(400, "name is required")
        if len(name) > 20:
            raise SupabaseRefusal(400, "name must be shorter than or equal to 20 characters")
        return 201, _restore_point(self.backend.create_restore_point(ref, name))

    def _get_restore_point(self, request: httpx.Request, ref: str) -> Answer:
        self.backend.project(ref)
        name = request.url.params.get("name", "")
        return 200, _restore_point(self.backend.restore_point(ref, name))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """An answer as the API sends it: compact JSON in UTF-8 (None: no body at all)."""
    if body is None:
        return httpx.Response(status, headers=headers)
    content = json.dumps(body, separators=(",", ":")).encode()
    return httpx.Response(
        status, content=content, headers={**(headers or {}), "content-type": CONTENT_TYPE}
    )


def _integer(request: httpx.Request, name: str, minimum: int | None = None) -> int:
    """The body's integer ``name``, as NestJS's validation pipe insists (400 otherwise)."""
    body = json_body(request)
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise SupabaseRefusal(400, f"{name} must be an integer number")
    if minimum is not None and value < minimum:
        raise SupabaseRefusal(400, f"{name} must not be less than {minimum}")
    return value


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _api_key(key: ApiKey, reveal: bool) -> dict[str, Any]:
    shown = key.api_key if reveal or key.type != "secret" else key.api_key[:14] + "•" * 8
    if key.type == "legacy":
        return {
            "name": key.name,
            "api_key": shown,
            "id": key.id,
            "type": key.type,
            "hash": key.hash,
            "prefix": key.prefix,
            "description": f"Legacy {key.name} API key",
        }
    at = _instant(key.inserted_at) if key.inserted_at else None
    return {
        "id": key.id,
        "name": key.name,
        "type": key.type,
        "api_key": shown,
        "description": None,
        "secret_jwt_template": {"role": "service_role"} if key.type == "secret" else None,
        "hash": key.hash,
        "prefix": key.prefix,
        "inserted_at": at,
        "updated_at": at,
    }


def _schedule(project: Project) -> dict[str, str]:
    updated = project.schedule_updated_at or project.created_at
    return {"schedule_for": project.schedule_for, "updated_at": updated.isoformat()}


def _restore_point(point: RestorePoint) -> dict[str, Any]:
    return {"name": point.name, "status": "AVAILABLE", "completed_on": _instant(point.completed_on)}
