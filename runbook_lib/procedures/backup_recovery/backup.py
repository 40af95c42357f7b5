"""Database Backups (guide: Backup & Recovery > Database Backups).

Two halves:
- the guide's manual backup trigger, sent exactly as written (method, path, service-role key
  as bearer) and the backup listing the real Supabase Management API offers;
- the logical backup the drill restores: the real ``pg_dump`` of the database, uploaded to the
  backup bucket with its sha256 and size as object metadata, listed newest first.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx

from runbook_lib.errors import BackupCorrupted, ConfigurationError, ProcedureFailed
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
    return parse_curl(guide.command("curl", guide.backup_commands).text, values)


def trigger_rewrites(guide: Guide, values: dict[str, str]) -> list[Rewrite]:
    """What the drill fills into the guide's trigger, each judged (nothing fills ``{NAME}``)."""
    return rewrites.placeholders(guide.command("curl", guide.backup_commands).text, values)


def send_guide_trigger(request: CurlRequest, http: httpx.Client) -> TriggerResult:
    """Send the guide's request once, unchanged; what the API answers is the finding."""
    response = http.request(request.method, request.url, headers=request.headers, timeout=10)
    return TriggerResult(request, response.status_code, response.text[:500])


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


def latest_backup_age(client: ApiClient, project_ref: str, now: datetime) -> timedelta:
    """Age of the newest COMPLETED backup in the Management API's listing."""
    body: dict[str, Any] = client.request(
        "GET", f"/v1/projects/{project_ref}/database/backups"
    ).json()
    completed = [b for b in body.get("backups", []) if b.get("status") == "COMPLETED"]
    if not completed:
        raise ProcedureFailed(f"Supabase lists no completed backup for project {project_ref}")
    newest = max(datetime.fromisoformat(b["inserted_at"].replace("Z", "+00:00")) for b in completed)
    return now - newest


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
