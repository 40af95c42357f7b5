"""Database Backups (guide: Backup & Recovery > Database Backups).

Two halves:
- the guide's manual backup trigger, sent exactly as written (method, path, service-role key
  as bearer), and Supabase's own backups through the real Management API (the same calls in a
  live run): the listing (integer ``id``, ``is_physical_backup``, ``status``, ``inserted_at``;
  PITR's window in ``physical_backup_data``), a restore of a backup by ``id`` or to a point in
  time, followed on ``GET /v1/projects/{ref}`` through ``RESTORING`` back to
  ``ACTIVE_HEALTHY``, and the daily backup's schedule;
- the logical backup the drill restores: the real ``pg_dump`` of the database, uploaded to the
  backup bucket with its sha256 and size as object metadata, listed newest first.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx

from runbook_lib.errors import BackupCorrupted, ConfigurationError, ProcedureFailed, ServiceError
from runbook_lib.guide.model import Guide
from runbook_lib.world import rewrites, shell
from runbook_lib.world.clock import Clock
from runbook_lib.world.http import ApiClient
from runbook_lib.world.postgres import PostgresServer
from runbook_lib.world.rewrites import Rewrite

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DumpFormat = Literal["custom", "plain"]
DB_PREFIX = "db/"
SUPABASE_API = "https://api.supabase.com"


@dataclass(frozen=True)
class CurlRequest:
    """A curl command of the guide, as method, URL and headers (placeholders filled)."""

    method: str
    url: str
    headers: dict[str, str]
    placeholders: tuple[str, ...]


@dataclass(frozen=True)
class TriggerResult:
    request: CurlRequest
    status: int
    body: str


@dataclass(frozen=True)
class DatabaseBackup:
    path: Path
    database: str
    format: DumpFormat
    sha256: str
    size_bytes: int
    seconds: float
    taken_at: datetime


@dataclass(frozen=True)
class StoredBackup:
    key: str
    sha256: str
    size_bytes: int
    taken_at: str
    format: DumpFormat = "custom"  # from the object's metadata: which tool restores it


def parse_curl(command: str, values: dict[str, str]) -> CurlRequest:
    """Read ``curl -X METHOD URL -H "Name: value"`` and fill ``{PLACEHOLDER}`` from ``values``."""
    words = shlex.split(command)
    if not words or words[0] != "curl":
        raise ConfigurationError(f"not a curl command: {command[:60]}")
    method, url, headers = "GET", "", {}
    iterator = iter(words[1:])
    for word in iterator:
        if word in ("-X", "--request"):
            method = next(iterator, "GET").upper()
        elif word in ("-H", "--header"):
            name, _, value = next(iterator, "").partition(":")
            headers[name.strip()] = value.strip()
        elif not word.startswith("-"):
            url = word
    placeholders = tuple(dict.fromkeys(re.findall(r"\{([A-Z_][A-Z0-9_]*)\}", command)))
    missing = [p for p in placeholders if p not in values]
    if missing:
        raise ConfigurationError(
            f"the guide's command needs {', '.join(missing)}; set them in the environment"
        )

    def fill(text: str) -> str:
        return re.sub(r"\{([A-Z_][A-Z0-9_]*)\}", lambda m: values[m.group(1)], text)

    return CurlRequest(method, fill(url), {k: fill(v) for k, v in headers.items()}, placeholders)


def guide_trigger(guide: Guide, values: dict[str, str]) -> CurlRequest:
    """The guide's manual backup trigger (Database Backups), placeholders filled from ``values``."""
    return parse_curl(guide_trigger_line(guide), values)


def trigger_rewrites(guide: Guide, values: dict[str, str]) -> list[Rewrite]:
    """What the drill fills into the guide's trigger, each judged (nothing fills ``{NAME}``)."""
    return rewrites.placeholders(guide_trigger_line(guide), values)


def guide_trigger_line(guide: Guide) -> str:
    """The guide's manual backup trigger (Database Backups), exactly as written."""
    return guide.command("curl", guide.backup_commands).text


def shell_variables(command: str) -> str:
    """The correction of ``{NAME}``: the shell variable ``${NAME}``, which bash does fill."""
    return rewrites.PLACEHOLDER.sub(lambda m: "${" + m.group(1) + "}", command)


def run_curl(line: str, values: dict[str, str]) -> shell.CommandResult:
    """Run a curl line of the guide through bash and the real ``curl``, ``values`` in its
    environment (and whatever proxy and CA the session exported): nothing added to the line."""
    return shell.run_shell(line, env=shell.child_env(values), timeout=60)


def trigger_answered(request: httpx.Request, status: int, body: str) -> TriggerResult:
    """What curl sent, as it arrived at the API, and the status and body it was answered."""
    sent = CurlRequest(request.method, str(request.url), dict(request.headers), ())
    return TriggerResult(sent, status, body[:500])


def placeholders_sent(command: str, result: TriggerResult) -> list[str]:
    """The guide's ``{NAME}`` placeholders that reached the API unfilled (curl's URL glob drops
    the braces of the URL's: ``{PROJECT_ID}`` arrives as ``PROJECT_ID``)."""
    arrived = result.request.url + " " + " ".join(result.request.headers.values())
    return [
        name
        for name in dict.fromkeys(rewrites.PLACEHOLDER.findall(command))
        if f"{{{name}}}" in arrived or f"/{name}/" in arrived
    ]


def route_missing(result: TriggerResult) -> bool:
    """The Management API has no route for the request: 404 with the router's own answer
    "Cannot METHOD /path" (NestJS), not a 404 for a project or object that does not exist."""
    path = urlsplit(result.request.url).path
    return result.status == 404 and f"Cannot {result.request.method} {path}" in result.body


def supabase_client(token: str | None, clock: Clock, http: httpx.Client) -> ApiClient:
    """The Management API as the drills use it: bounded retries, errors naming the token variable."""
    return ApiClient(
        "Supabase Management API", SUPABASE_API, token, "SUPABASE_ACCESS_TOKEN", http, clock=clock
    )


def probe_listing(headers: dict[str, str], project_ref: str, http: httpx.Client) -> int:
    """Status of the backup listing for a credential, sent once as given (no retries)."""
    url = f"{SUPABASE_API}/v1/projects/{project_ref}/database/backups"
    return http.get(url, headers=headers, timeout=10).status_code


@dataclass(frozen=True)
class SupabaseBackup:
    """One of Supabase's own backups, as the Management API lists it."""

    id: int  # what POST .../database/backups/restore takes
    inserted_at: datetime
    is_physical_backup: bool
    status: str  # COMPLETED, FAILED, PENDING, REMOVED, ARCHIVED, CANCELLED


@dataclass(frozen=True)
class BackupListing:
    """``GET /v1/projects/{ref}/database/backups``."""

    region: str
    walg_enabled: bool
    pitr_enabled: bool
    backups: tuple[SupabaseBackup, ...]
    earliest_physical: datetime | None  # the oldest instant a PITR restore may target
    latest_physical: datetime | None

    def newest_completed(self) -> SupabaseBackup | None:
        completed = [b for b in self.backups if b.status == "COMPLETED"]
        return max(completed, key=lambda b: b.inserted_at) if completed else None


@dataclass(frozen=True)
class SupabaseRestore:
    """A restore Supabase ran, as ``GET /v1/projects/{ref}`` showed it: each status seen, with
    the seconds after the request when it was first seen, until the project was healthy again."""

    project_ref: str
    restored: str  # "backup 1000001" or "to 2024-05-01T12:00:00+00:00"
    statuses: tuple[tuple[float, str], ...]
    seconds: float


@dataclass(frozen=True)
class BackupSchedule:
    """When Supabase takes the daily backup (UTC), and when that was last changed."""

    schedule_for: time
    updated_at: datetime


HEALTHY = "ACTIVE_HEALTHY"


def list_supabase_backups(client: ApiClient, project_ref: str) -> BackupListing:
    body: dict[str, Any] = client.request(
        "GET", f"/v1/projects/{project_ref}/database/backups"
    ).json()
    window = body.get("physical_backup_data") or {}
    return BackupListing(
        str(body["region"]),
        bool(body["walg_enabled"]),
        bool(body["pitr_enabled"]),
        tuple(
            SupabaseBackup(
                int(b["id"]),
                datetime.fromisoformat(b["inserted_at"]),
                bool(b["is_physical_backup"]),
                b["status"],
            )
            for b in body.get("backups", [])
        ),
        _unix(window.get("earliest_physical_backup_date_unix")),
        _unix(window.get("latest_physical_backup_date_unix")),
    )


def latest_backup_age(client: ApiClient, project_ref: str, now: datetime) -> timedelta:
    """Age of the newest COMPLETED backup in the Management API's listing."""
    newest = list_supabase_backups(client, project_ref).newest_completed()
    if newest is None:
        raise ProcedureFailed(f"Supabase lists no completed backup for project {project_ref}")
    return now - newest.inserted_at


def project_status(client: ApiClient, project_ref: str) -> str:
    """The project's status (``ACTIVE_HEALTHY``, ``RESTORING``, ``RESTORE_FAILED``, ...)."""
    return str(client.request("GET", f"/v1/projects/{project_ref}").json()["status"])


def restore_supabase_backup(
    client: ApiClient,
    project_ref: str,
    backup_id: int,
    *,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 4 * 3600.0,
) -> SupabaseRestore:
    """Restore Supabase's backup ``backup_id`` (``POST .../database/backups/restore`` with
    ``{"id": ...}``) and follow the project until it is healthy again."""
    path = f"/v1/projects/{project_ref}/database/backups/restore"
    _request_restore(client, path, {"id": backup_id})
    return _await_restore(client, project_ref, f"backup {backup_id}", poll_seconds, timeout_seconds)


def restore_supabase_to(
    client: ApiClient,
    project_ref: str,
    target: datetime,
    *,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 4 * 3600.0,
) -> SupabaseRestore:
    """Point-in-time recovery to ``target`` (``POST .../database/backups/restore-pitr`` with
    ``{"recovery_time_target_unix": ...}``); the project's PITR add-on must be on."""
    path = f"/v1/projects/{project_ref}/database/backups/restore-pitr"
    _request_restore(client, path, {"recovery_time_target_unix": int(target.timestamp())})
    restored = f"to {target.astimezone(UTC).isoformat()}"
    return _await_restore(client, project_ref, restored, poll_seconds, timeout_seconds)


def _request_restore(client: ApiClient, path: str, body: dict[str, int]) -> None:
    try:
        client.request("POST", path, json=body, expect=(201,))
    except ServiceError as refused:
        if refused.status_code != 400:
            raise
        raise ProcedureFailed(f"Supabase refused the restore: {refused}") from None


def _await_restore(
    client: ApiClient, project_ref: str, restored: str, poll_seconds: float, timeout_seconds: float
) -> SupabaseRestore:
    """Poll the project until it has left ``ACTIVE_HEALTHY`` and come back to it. A project that
    never leaves it within four polls ran no restore; ``RESTORE_FAILED`` is a failure."""
    clock, started = client.clock, client.clock.monotonic()
    seen: list[tuple[float, str]] = []
    while True:
        status, elapsed = project_status(client, project_ref), client.clock.monotonic() - started
        if not seen or seen[-1][1] != status:
            seen.append((elapsed, status))
        restoring = len(seen) > 1 or status != HEALTHY
        if status == "RESTORE_FAILED":
            raise ProcedureFailed(
                f"Supabase's restore of {restored} for project {project_ref} failed "
                f"(RESTORE_FAILED {elapsed:.0f} s after the request); restore another backup"
            )
        if status == HEALTHY and restoring:
            return SupabaseRestore(project_ref, restored, tuple(seen), elapsed)
        if not restoring and elapsed >= 4 * poll_seconds:
            raise ProcedureFailed(
                f"Supabase accepted the restore of {restored} but project {project_ref} never "
                f"left {HEALTHY} in {elapsed:.0f} s: no restore ran"
            )
        if elapsed >= timeout_seconds:
            raise ProcedureFailed(
                f"project {project_ref} is still {status} {elapsed:.0f} s after the restore of "
                f"{restored} was requested"
            )
        clock.sleep(poll_seconds)


def backup_schedule(client: ApiClient, project_ref: str) -> BackupSchedule:
    body = client.request("GET", f"/v1/projects/{project_ref}/database/backups/schedule").json()
    return BackupSchedule(
        time.fromisoformat(body["schedule_for"]), datetime.fromisoformat(body["updated_at"])
    )


def set_backup_schedule(client: ApiClient, project_ref: str, at: time) -> BackupSchedule:
    """Move the daily backup to ``at`` (UTC); Supabase allows three changes per 24 hours."""
    body = client.request(
        "PATCH",
        f"/v1/projects/{project_ref}/database/backups/schedule",
        json={"schedule_for": at.strftime("%H:%M:%S")},
        expect=(200,),
    ).json()
    return BackupSchedule(
        time.fromisoformat(body["schedule_for"]), datetime.fromisoformat(body["updated_at"])
    )


def _unix(value: object) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def pg_dump_argv(
    server: PostgresServer,
    database: str,
    path: Path,
    fmt: DumpFormat = "custom",
    *,
    schema_only: bool = False,
) -> list[str]:
    """The one pg_dump command line of the drills (owners left out, as a restore elsewhere
    needs); ``schema_only`` for the size-independent part of a recovery."""
    return [
        server.binary("pg_dump"),
        *("--format", "c" if fmt == "custom" else "p"),
        *(["--schema-only"] if schema_only else []),
        *("--no-owner", "--file", str(path), "--dbname", database),
    ]


def take_logical_backup(
    server: PostgresServer,
    database: str,
    directory: Path,
    now: datetime,
    fmt: DumpFormat = "custom",
) -> DatabaseBackup:
    """The real pg_dump: custom format (parallel restore) or plain SQL (what Supabase offers)."""
    path = directory / (f"{database}.dump" if fmt == "custom" else "backup.sql")
    result = shell.run(pg_dump_argv(server, database, path, fmt), env=server.client_env()).check()
    return DatabaseBackup(
        path, database, fmt, sha256_file(path), path.stat().st_size, result.seconds, now
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload_backup(s3: S3Client, backup: DatabaseBackup, bucket: str) -> StoredBackup:
    """Put the dump in the backup bucket with its sha256 and size as object metadata."""
    key = f"{DB_PREFIX}{backup.taken_at:%Y%m%dT%H%M%SZ}/{backup.path.name}"
    metadata = {
        "sha256": backup.sha256,
        "size": str(backup.size_bytes),
        "taken-at": backup.taken_at.isoformat(),
        "database": backup.database,
        "format": backup.format,
    }
    s3.upload_file(str(backup.path), bucket, key, ExtraArgs={"Metadata": metadata})
    return StoredBackup(
        key, backup.sha256, backup.size_bytes, backup.taken_at.isoformat(), backup.format
    )


def list_backups(s3: S3Client, bucket: str) -> list[StoredBackup]:
    """Database backups in the bucket, newest first."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=DB_PREFIX):
        for obj in page.get("Contents", []):
            meta = s3.head_object(Bucket=bucket, Key=obj["Key"])["Metadata"]
            found.append(
                StoredBackup(
                    obj["Key"],
                    meta.get("sha256", ""),
                    int(meta.get("size", obj["Size"])),
                    meta.get("taken-at", ""),
                    "plain" if meta.get("format") == "plain" else "custom",
                )
            )
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def download_backup(s3: S3Client, stored: StoredBackup, directory: Path, bucket: str) -> Path:
    """Fetch a backup and prove it is the one that was uploaded (size and sha256)."""
    path = directory / Path(stored.key).name
    s3.download_file(bucket, stored.key, str(path))
    size, digest = path.stat().st_size, sha256_file(path)
    if size != stored.size_bytes or digest != stored.sha256:
        raise BackupCorrupted(
            f"backup corrupted: {stored.key} is {size} bytes with sha256 {digest[:12]}..., "
            f"but was stored as {stored.size_bytes} bytes with sha256 {stored.sha256[:12]}...; "
            "restore an older backup"
        )
    return path
