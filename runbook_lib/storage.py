"""File Storage Backups (guide: Backup & Recovery > File Storage Backups)."""

from __future__ import annotations

from typing import Any

STORAGE_BUCKET = "napoleon-ai-storage"
BACKUP_BUCKET = "napoleon-ai-backup"


def list_objects(s3: Any, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """key -> {size, etag} for every object under ``prefix`` (all pages)."""
    found: dict[str, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = {"size": obj["Size"], "etag": obj["ETag"].strip('"')}
    return found
