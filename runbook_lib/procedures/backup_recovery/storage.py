"""File Storage Backups (guide: Backup & Recovery > File Storage Backups).

The guide's own ``aws s3 sync s3://napoleon-ai-storage s3://napoleon-ai-backup/$(date +%Y%m%d)``
is taken from the guide's code block and run unchanged through bash with the real ``aws`` CLI
(``AWS_ENDPOINT_URL`` points it at the simulated S3; ``TZ=UTC`` makes ``date`` the drill's UTC
date). :func:`compare_copies` proves every object arrived byte-identical and names any key that
did not; :func:`restore_prefix` brings a dated copy back into an emptied storage bucket.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from runbook_lib.errors import VerificationFailed
from runbook_lib.world import shell

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Buckets:
    """The guide's two buckets as named on the drill's target: user uploads and their backups
    (``napoleon-ai-storage`` and ``napoleon-ai-backup`` in the guide and the simulation)."""

    storage: str
    backup: str


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    sha256: str


class Listed(TypedDict):
    """One object of a bucket listing (``list_objects_v2``'s Size and unquoted ETag)."""

    size: int
    etag: str


@dataclass(frozen=True)
class SyncResult:
    command: str
    prefix: str  # the dated prefix the guide's $(date +%Y%m%d) expanded to
    seconds: float
    output_lines: int


def list_objects(s3: S3Client, bucket: str, prefix: str = "") -> dict[str, Listed]:
    """key -> {size, etag} for every object under ``prefix`` (all pages)."""
    found: dict[str, Listed] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = {"size": obj["Size"], "etag": obj["ETag"].strip('"')}
    return found


def snapshot(s3: S3Client, bucket: str, prefix: str = "") -> dict[str, ObjectInfo]:
    """key (relative to ``prefix``) -> size and sha256 of the downloaded bytes."""

    def fetch(key: str) -> tuple[str, ObjectInfo]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return key.removeprefix(prefix), ObjectInfo(len(body), hashlib.sha256(body).hexdigest())

    with ThreadPoolExecutor(max_workers=8) as pool:  # boto3 clients are thread-safe
        return dict(pool.map(fetch, list(list_objects(s3, bucket, prefix))))


def aws_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The ``aws`` CLI's environment: the inherited one (AWS_ENDPOINT_URL, AWS_PROFILE), with
    ``TZ=UTC`` so the guide's ``date`` prints the drill's UTC date."""
    return shell.child_env({"TZ": "UTC", **(extra or {})})


def run_guide_sync(command: str, date_stamp: str, env: dict[str, str] | None = None) -> SyncResult:
    """Run the guide's sync line unchanged; ``date_stamp`` is what ``date +%Y%m%d`` prints now."""
    result = shell.run_shell(command, env=aws_environment(env)).check()
    return SyncResult(command, f"{date_stamp}/", result.seconds, len(result.stdout.splitlines()))


def compare_copies(source: dict[str, ObjectInfo], copy: dict[str, ObjectInfo]) -> list[str]:
    """Every key missing, extra or different in ``copy``; empty when byte-identical."""
    problems = [f"{key} is missing from the copy" for key in sorted(set(source) - set(copy))]
    problems += [
        f"{key} is in the copy but not in the source" for key in sorted(set(copy) - set(source))
    ]
    problems += [
        f"{key} differs ({copy[key].size} bytes vs {source[key].size})"
        for key in sorted(set(source) & set(copy))
        if copy[key] != source[key]
    ]
    return problems


def require_identical(
    source: dict[str, ObjectInfo], copy: dict[str, ObjectInfo], what: str
) -> None:
    problems = compare_copies(source, copy)
    if problems:
        raise VerificationFailed(
            f"{what} is incomplete: {'; '.join(problems[:5])}"
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )


def empty_bucket(s3: S3Client, bucket: str) -> int:
    keys = list(list_objects(s3, bucket))
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]}
        )
    return len(keys)


def sync(
    s3: S3Client, source: str, source_prefix: str, target: str, target_prefix: str = ""
) -> int:
    """What ``aws s3 sync`` does, in-process: server-side copies of every object missing from, or
    sized differently in, the target (8 at a time); returns how many were copied."""
    present = {key: info["size"] for key, info in list_objects(s3, target, target_prefix).items()}
    wanted = [
        (key, info)
        for key, info in list_objects(s3, source, source_prefix).items()
        if present.get(target_prefix + key.removeprefix(source_prefix)) != info["size"]
    ]

    def copy(key: str) -> None:
        s3.copy_object(
            Bucket=target,
            Key=target_prefix + key.removeprefix(source_prefix),
            CopySource={"Bucket": source, "Key": key},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(copy, [key for key, _ in wanted]))
    return len(wanted)


def restore_prefix(s3: S3Client, buckets: Buckets, prefix: str) -> int:
    """Copy a dated backup back into the storage bucket (the guide's sync, reversed); the guide
    gives no restore command, so the drill does it the way ``aws s3 sync`` would, in-process."""
    return sync(s3, buckets.backup, prefix, buckets.storage)
