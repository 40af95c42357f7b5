"""A stateful fake of the Supabase Management API (https://api.supabase.com).

Paths, status codes and JSON shapes follow the public OpenAPI spec
(supabase/supabase ``apps/docs/spec/api_v1_openapi.json``; see shared/reference
anchors-restore.md §4). The Management API takes a personal access token (``sbp_...``) as
bearer; a project's service-role key is a different credential and is refused with 401.
Unknown paths answer the real NestJS shape ``{"message": "Cannot POST /v1/..."}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import httpx

from runbook_lib.sim.http import FakeAPI, json_body, json_response
from runbook_lib.world.clock import Clock, WallClock

BASE_URL = "https://api.supabase.com"


@dataclass
class Backup:
    inserted_at: datetime
    is_physical_backup: bool = False
    status: str = "COMPLETED"


@dataclass
class Project:
    ref: str
    region: str = "us-east-1"
    pitr_enabled: bool = False
    walg_enabled: bool = True
    backups: list[Backup] = field(default_factory=list)
    restore_points: dict[str, datetime] = field(default_factory=dict)
    restores: list[int] = field(default_factory=list)  # recovery_time_target_unix of each PITR


class SupabaseFake(FakeAPI):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(BASE_URL)
        self.clock = clock or WallClock()
        self.projects: dict[str, Project] = {}
        prefix = "/v1/projects/{ref}/database/backups"
        self.add_route("GET", prefix, self._list_backups)
        self.add_route("POST", prefix + "/restore-pitr", self._restore_pitr)
        self.add_route("POST", prefix + "/restore-point", self._create_restore_point)
        self.add_route("GET", prefix + "/restore-point", self._get_restore_point)

    def add_project(self, ref: str, *, pitr_enabled: bool = False) -> Project:
        project = Project(ref, pitr_enabled=pitr_enabled)
        self.projects[ref] = project
        return project

    def take_daily_backup(self, ref: str) -> Backup:
        """What Supabase's scheduler does once a day (logical backup, pg_dumpall)."""
        backup = Backup(self.clock.now())
        self.projects[ref].backups.append(backup)
        return backup

    def _project(self, ref: str) -> Project | None:
        return self.projects.get(ref)

    def _list_backups(self, request: httpx.Request, ref: str) -> httpx.Response:
        project = self._project(ref)
        if project is None:
            return json_response(404, {"message": "Project not found"})
        physical = [b for b in project.backups if b.is_physical_backup]
        return json_response(
            200,
            {
                "region": project.region,
                "walg_enabled": project.walg_enabled,
                "pitr_enabled": project.pitr_enabled,
                "backups": [
                    {
                        "is_physical_backup": b.is_physical_backup,
                        "status": b.status,
                        "inserted_at": b.inserted_at.isoformat().replace("+00:00", "Z"),
                    }
                    for b in project.backups
                ],
                "physical_backup_data": {
                    "earliest_physical_backup_date_unix": int(physical[0].inserted_at.timestamp())
                    if physical
                    else None,
                    "latest_physical_backup_date_unix": int(physical[-1].inserted_at.timestamp())
                    if physical
                    else None,
                },
            },
        )

    def _restore_pitr(self, request: httpx.Request, ref: str) -> httpx.Response:
        project = self._project(ref)
        if project is None:
            return json_response(404, {"message": "Project not found"})
        body = json_body(request)
        target = body.get("recovery_time_target_unix") if isinstance(body, dict) else None
        if not isinstance(target, int) or isinstance(target, bool):
            return json_response(400, {"message": "recovery_time_target_unix must be an integer"})
        if not project.pitr_enabled:
            return json_response(
                400, {"message": "Point in time recovery is not enabled for this project"}
            )
        now = int(self.clock.now().timestamp())
        if target > now:
            return json_response(400, {"message": "recovery_time_target_unix is in the future"})
        project.restores.append(target)
        return json_response(201, {})

    def _create_restore_point(self, request: httpx.Request, ref: str) -> httpx.Response:
        project = self._project(ref)
        body = json_body(request)
        name = body.get("name") if isinstance(body, dict) else None
        if project is None:
            return json_response(404, {"message": "Project not found"})
        if not isinstance(name, str) or not name:
            return json_response(400, {"message": "name is required"})
        project.restore_points[name] = self.clock.now()
        return json_response(201, {"name": name, "status": "AVAILABLE"})

    def _get_restore_point(self, request: httpx.Request, ref: str) -> httpx.Response:
        project = self._project(ref)
        name = request.url.params.get("name", "")
        if project is None or name not in project.restore_points:
            return json_response(404, {"message": "Restore point not found"})
        return json_response(200, {"name": name, "status": "AVAILABLE"})
