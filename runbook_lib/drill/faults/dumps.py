"""Faults of stored database backups (guide: Recovery Procedures): the dump's bytes damaged in
the backup bucket, after its checksum was recorded (the metadata still holds the sound dump's
sha256) or before it (the metadata describes the damaged bytes). Each acts on the stored dump."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from runbook_lib.drill.faults.base import Fault
from runbook_lib.drill.faults.s3 import Stored

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def flip_bytes(data: bytes, count: int = 16) -> bytes:
    """Corrupt ``count`` bytes in the middle of ``data`` (XOR 0xFF)."""
    middle = len(data) // 2
    damaged = bytearray(data)
    for i in range(middle, min(len(data), middle + count)):
        damaged[i] ^= 0xFF
    return bytes(damaged)


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def checksum_metadata(body: bytes) -> dict[str, str]:
    """Backup metadata recomputed from damaged bytes: the damage happened before the checksum."""
    return {"sha256": hashlib.sha256(body).hexdigest(), "size": str(len(body))}


def replace_object(
    s3: S3Client,
    bucket: str,
    key: str,
    damage: Callable[[bytes], bytes],
    *,
    keep_metadata: bool = True,
    recompute: Callable[[bytes], dict[str, str]] | None = None,
) -> None:
    """Rewrite an object with damaged bytes; keeps the metadata recorded at upload time
    (damage after the checksum) unless ``recompute`` gives new metadata (damage before it)."""
    head = s3.head_object(Bucket=bucket, Key=key)
    body = damage(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    metadata = recompute(body) if recompute else (head["Metadata"] if keep_metadata else {})
    s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)


def _damaged(
    damage: Callable[[bytes], bytes], *, before_checksum: bool = False
) -> Callable[[Stored], None]:
    def apply(dump: Stored) -> None:
        recompute = checksum_metadata if before_checksum else None
        replace_object(dump.s3, dump.bucket, dump.key, damage, recompute=recompute)

    return apply


FAULTS: tuple[Fault[Stored, None], ...] = (
    Fault(
        "corrupted-dump",
        "bytes flipped in a stored database backup",
        "detected",
        _damaged(flip_bytes),
        says="the stored backup is corrupted by flipped bytes",
    ),
    Fault(
        "truncated-dump",
        "a stored database backup cut in half",
        "detected",
        _damaged(truncate),
        says="the stored backup is truncated",
    ),
    Fault(
        "corrupted-dump-checksummed",
        "bytes flipped in a database backup before its checksum was recorded",
        "detected",
        _damaged(flip_bytes, before_checksum=True),
        says="the stored backup is corrupted before its checksum was recorded",
    ),
    Fault(
        "truncated-dump-checksummed",
        "a database backup cut in half before its checksum was recorded",
        "detected",
        _damaged(truncate, before_checksum=True),
        says="the stored backup is truncated before its checksum was recorded",
    ),
)
