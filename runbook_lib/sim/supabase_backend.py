"""The state of the simulated Supabase Management API: projects, backups, restores, the backup
schedule, API keys and the request rate limit, on the simulated cloud's clock. No HTTP here
(moto's ``models.py``); :mod:`runbook_lib.sim.supabase` serves it.

What it holds to (the Management API's OpenAPI document and the responses the Supabase CLI
recorded from the real API, ``tests/data/specs/``):

- a project ref is 20 lowercase letters (``^[a-z]+$``, 20 characters); anything else is refused
  with 400 before a project is looked up;
- backups carry an integer ``id``, ``is_physical_backup``, ``status`` and ``inserted_at``; the
  API has no endpoint that creates one: Supabase's scheduler does (:meth:`take_daily_backup`,
  and physical backups of a project with point-in-time recovery);
- a restore (of a backup by ``id``, or to a point in time) takes the project through
  ``RESTORING`` and back to ``ACTIVE_HEALTHY`` after :attr:`SupabaseBackend.restore_seconds` on
  the clock (``RESTORE_FAILED`` when :attr:`SupabaseBackend.restores_fail`, a fault);
- a point-in-time restore of a project without PITR is refused with the real API's words
  ("PITR is not enabled for this project.");
- the daily backup's time of day (``schedule_for``, ``HH:MM:SS`` UTC) can be changed three
  times per 24 hours, on a paid plan;
- every access token may send :data:`RATE_LIMIT` requests per :data:`RATE_WINDOW` seconds (the
  recorded ``x-ratelimit-limit: 120`` / ``x-ratelimit-reset: 60``); beyond that, 429.

Refusals are :class:`SupabaseRefusal` (status and the message the API answers with).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from runbook_lib.world.clock import Clock

REF = re.compile(r"^[a-z]{20}$")
RATE_LIMIT = 120  # requests per token and window (recorded x-ratelimit-limit)
RATE_WINDOW = 60  # seconds (recorded x-ratelimit-reset of a fresh window)
SCHEDULE_UPDATES_PER_DAY = 3
PITR_RETENTION = timedelta(days=7)
_SCHEDULE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")

BackupStatus = Literal["COMPLETED", "FAILED", "PENDING", "REMOVED", "ARCHIVED", "CANCELLED"]
ProjectStatus = Literal["ACTIVE_HEALTHY", "RESTORING", "RESTORE_FAILED"]
Plan = Literal["free", "pro", "team", "enterprise"]


class SupabaseRefusal(Exception):
    """What the Management API answers instead: ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Backup:
    id: int
    inserted_at: datetime
    is_physical_backup: bool = False
    status: BackupStatus = "COMPLETED"


@dataclass(frozen=True)
class Restore:
    """One restore Supabase ran: of backup ``backup_id``, or to ``recovery_time_target_unix``."""

    kind: Literal["backup", "pitr"]
    requested_at: datetime
    ready_at: datetime
    fails: bool = False
    backup_id: int | None = None
    recovery_time_target_unix: int | None = None


@dataclass(frozen=True)
class ApiKey:
    """A project API key as ``GET /v1/projects/{ref}/api-keys`` lists it."""

    name: str
    api_key: str
    type: Literal["legacy", "publishable", "secret"]
    id: str
    inserted_at: datetime | None = None  # None: a legacy JWT key (listed without dates)

    @property
    def hash(self) -> str:
        digest = hashlib.sha256(self.api_key.encode()).digest()
        return _b64url(digest)

    @property
    def prefix(self) -> str:
        return self.api_key[:5] if self.type == "legacy" else self.api_key[:14]


@dataclass(frozen=True)
class RestorePoint:
    name: str
    completed_on: datetime


@dataclass
class Project:
    ref: str
    name: str
    created_at: datetime
    organization_slug: str
    region: str = "us-east-1"
    plan: Plan = "pro"
    pitr_enabled: bool = False
    pitr_since: datetime | None = None
    walg_enabled: bool = True
    postgres_version: str = "15.8.1.085"
    backups: list[Backup] = field(default_factory=list)
    restores: list[Restore] = field(default_factory=list)
    restore_points: dict[str, RestorePoint] = field(default_factory=dict)
    api_keys: list[ApiKey] = field(default_factory=list)
    schedule_for: str = "00:00:00"
    schedule_updated_at: datetime | None = None
    schedule_updates: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class PhysicalBackupData:
    earliest: int | None  # unix seconds; None: there is none
    latest: int | None


@dataclass(frozen=True)
class RateWindow:
    """One request's place in its token's window (what the ``x-ratelimit-*`` headers say)."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class SupabaseBackend:
    """Every simulated project of one Supabase account, on ``clock``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.projects: dict[str, Project] = {}
        self.user_id = str(uuid.uuid4())  # whose token it is (the x-gotrue-id header)
        self.restore_seconds = 600.0  # how long a restore keeps the project RESTORING
        self.restores_fail = False  # a fault: restores end RESTORE_FAILED
        self._ids = itertools.count(1_000_001)
        self._windows: dict[str, tuple[datetime, int]] = {}  # token -> (window start, count)
        self._lock = threading.Lock()

    # -- projects -------------------------------------------------------------------------------
    def add_project(
        self,
        ref: str,
        *,
        pitr_enabled: bool = False,
        service_role_key: str | None = None,
        anon_key: str | None = None,
        name: str = "napoleon-ai",
    ) -> Project:
        """A project of this account (a ref not of the real form is kept, and every request
        naming it is refused, as the real API refuses it)."""
        now = self.clock.now()
        project = Project(ref, name, now, organization_slug=_letters(20), schedule_updated_at=now)
        project.api_keys = [
            ApiKey("anon", anon_key or _jwt(), "legacy", "anon"),
            ApiKey("service_role", service_role_key or _jwt(), "legacy", "service_role"),
            ApiKey(
                "default",
                "sb_publishable_" + secrets.token_urlsafe(24),
                "publishable",
                str(uuid.uuid4()),
                now,
            ),
            ApiKey(
                "default",
                "sb_secret_" + secrets.token_urlsafe(24),
                "secret",
                str(uuid.uuid4()),
                now,
            ),
        ]
        self.projects[ref] = project
        if pitr_enabled:
            self.enable_pitr(ref)
        return project

    def project(self, ref: str) -> Project:
        if not REF.match(ref):
            raise SupabaseRefusal(
                400, "Invalid project ref format. Must be like `abcdefghijklmnopqrst`."
            )
        found = self.projects.get(ref)
        if found is None:
            raise SupabaseRefusal(404, "Project not found")
        return found

    def status(self, ref: str) -> ProjectStatus:
        """``RESTORING`` while a restore runs, ``RESTORE_FAILED`` after one failed, else healthy."""
        project, now = self.project(ref), self.clock.now()
        if project.restores:
            last = project.restores[-1]
            if now < last.ready_at:
                return "RESTORING"
            if last.fails:
                return "RESTORE_FAILED"
        return "ACTIVE_HEALTHY"

    def database_host(self, ref: str) -> str:
        return f"db.{ref}.supabase.co"

    # -- backups --------------------------------------------------------------------------------
    def take_daily_backup(self, ref: str, *, physical: bool | None = None) -> Backup:
        """What Supabase's scheduler does once a day: a logical backup (pg_dumpall), or a
        physical one for a project with point-in-time recovery."""
        project = self.project(ref)
        is_physical = project.pitr_enabled if physical is None else physical
        backup = Backup(next(self._ids), self.clock.now(), is_physical_backup=is_physical)
        project.backups.append(backup)
        return backup

    def enable_pitr(self, ref: str) -> None:
        """The PITR add-on: WAL-G archives continuously from now on, with a physical base backup."""
        project = self.project(ref)
        project.pitr_enabled, project.pitr_since = True, self.clock.now()
        self.take_daily_backup(ref, physical=True)

    def physical_backup_data(self, ref: str) -> PhysicalBackupData:
        """The window a point-in-time restore may target (PITR), or the physical backups' span."""
        project, now = self.project(ref), self.clock.now()
        if project.pitr_enabled and project.pitr_since is not None:
            earliest = max(project.pitr_since, now - PITR_RETENTION)
            return PhysicalBackupData(int(earliest.timestamp()), int(now.timestamp()))
        physical = [b.inserted_at for b in project.backups if b.is_physical_backup]
        if not physical:
            return PhysicalBackupData(None, None)
        return PhysicalBackupData(int(min(physical).timestamp()), int(max(physical).timestamp()))

    # -- restores -------------------------------------------------------------------------------
    def restore_backup(self, ref: str, backup_id: int) -> Restore:
        project = self.project(ref)
        backup = next((b for b in project.backups if b.id == backup_id), None)
        if backup is None:
            raise SupabaseRefusal(404, f"Backup {backup_id} not found")
        if backup.status != "COMPLETED":
            raise SupabaseRefusal(
                400, f"Backup {backup_id} is {backup.status} and cannot be restored"
            )
        return self._start_restore(ref, "backup", backup_id=backup_id)

    def restore_pitr(self, ref: str, recovery_time_target_unix: int) -> Restore:
        project = self.project(ref)
        if not project.pitr_enabled:
            raise SupabaseRefusal(400, "PITR is not enabled for this project.")
        window = self.physical_backup_data(ref)
        if window.earliest is None or window.latest is None:
            raise SupabaseRefusal(400, "No physical backup to restore from")
        if not window.earliest <= recovery_time_target_unix <= window.latest:
            raise SupabaseRefusal(
                400,
                f"recovery_time_target_unix must be between {window.earliest} and {window.latest}",
            )
        return self._start_restore(ref, "pitr", target=recovery_time_target_unix)

    def _start_restore(
        self,
        ref: str,
        kind: Literal["backup", "pitr"],
        *,
        backup_id: int | None = None,
        target: int | None = None,
    ) -> Restore:
        if self.status(ref) == "RESTORING":
            raise SupabaseRefusal(400, "A restore is already in progress for this project")
        now = self.clock.now()
        restore = Restore(
            kind,
            now,
            now + timedelta(seconds=self.restore_seconds),
            self.restores_fail,
            backup_id,
            target,
        )
        self.projects[ref].restores.append(restore)
        return restore

    def create_restore_point(self, ref: str, name: str) -> RestorePoint:
        point = RestorePoint(name, self.clock.now())
        self.project(ref).restore_points[name] = point
        return point

    def restore_point(self, ref: str, name: str) -> RestorePoint:
        found = self.project(ref).restore_points.get(name)
        if found is None:
            raise SupabaseRefusal(404, "Restore point not found")
        return found

    # -- the backup schedule --------------------------------------------------------------------
    def schedule(self, ref: str) -> Project:
        project = self.project(ref)
        if project.plan == "free":
            raise SupabaseRefusal(402, "Feature requires a higher plan")
        return project

    def set_schedule(self, ref: str, schedule_for: str) -> Project:
        project = self.schedule(ref)
        if not _SCHEDULE.match(schedule_for):
            raise SupabaseRefusal(400, "Invalid schedule_for format: expected HH:MM:SS")
        now = self.clock.now()
        recent = [at for at in project.schedule_updates if now - at < timedelta(hours=24)]
        if len(recent) >= SCHEDULE_UPDATES_PER_DAY:
            raise SupabaseRefusal(
                429,
                f"The backup schedule can only be updated {SCHEDULE_UPDATES_PER_DAY} times per 24 hours",
            )
        project.schedule_for, project.schedule_updated_at = schedule_for, now
        project.schedule_updates = [*recent, now]
        return project

    # -- the rate limit -------------------------------------------------------------------------
    def take_request(self, token: str) -> RateWindow:
        """Count one request of ``token`` in its fixed window of :data:`RATE_WINDOW` seconds."""
        now = self.clock.now()
        with self._lock:
            start, count = self._windows.get(token, (now, 0))
            if (now - start).total_seconds() >= RATE_WINDOW:
                start, count = now, 0
            count += 1
            self._windows[token] = (start, count)
        left = RATE_WINDOW - (now - start).total_seconds()
        return RateWindow(
            count <= RATE_LIMIT, RATE_LIMIT, max(0, RATE_LIMIT - count), max(1, math.ceil(left))
        )


def _letters(count: int) -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(count))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt() -> str:
    return "eyJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(32) + "." + secrets.token_urlsafe(16)
