"""Faults of S3 (guide: Database Backups, File Storage Backups): throttled uploads, acting on an
S3 client, and an object lost from a storage backup, acting on the objects in a bucket.

moto has no fault injection of its own: throttling is a botocore ``before-send`` handler that
answers ``503 SlowDown`` at the HTTP layer, where botocore's retries see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders

from runbook_lib.drill.faults.base import Fault
from runbook_lib.procedures.backup_recovery.storage import list_objects

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Stored:
    """Objects in a bucket: the one at ``key``, or every one under ``key`` as a prefix."""

    s3: S3Client
    bucket: str
    key: str


class _Raw:
    """The minimal urllib3-like body botocore reads from an AWSResponse."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: object, **kwargs: object) -> Iterator[bytes]:
        yield self._body

    def read(self, *args: object, **kwargs: object) -> bytes:
        return self._body


@dataclass
class Throttle:
    """S3 answers ``503 SlowDown`` to the next ``remaining`` matching calls."""

    remaining: int
    injected: int = 0

    def __call__(self, request: AWSPreparedRequest, **kwargs: object) -> AWSResponse | None:
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        self.injected += 1
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>"
        )
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/xml"
        return AWSResponse(request.url, 503, headers, _Raw(body))


def throttle_s3(s3: S3Client, operation: str = "PutObject", times: int = 2) -> Throttle:
    """Inject SlowDown at the HTTP layer (``before-send``), where botocore's retries see it."""
    throttle = Throttle(times)
    # botocore-stubs types every handler as returning None; a before-send handler's returned
    # response replaces the HTTP call (botocore.endpoint), which is the whole fault
    s3.meta.events.register(f"before-send.s3.{operation}", throttle)  # type: ignore[arg-type]
    return throttle


def _throttle_two_uploads(s3: S3Client) -> Throttle:
    return throttle_s3(s3, "PutObject", 2)


def lose_first_object(objects: Stored) -> str:
    """Delete the first object under the prefix; its key relative to the prefix."""
    key = sorted(list_objects(objects.s3, objects.bucket, objects.key))[0]
    objects.s3.delete_object(Bucket=objects.bucket, Key=key)
    return key.removeprefix(objects.key)


THROTTLES: tuple[Fault[S3Client, Throttle], ...] = (
    Fault(
        "s3-throttling",
        "S3 answers 503 SlowDown to the first two uploads of every client",
        "survived",
        _throttle_two_uploads,
        says='S3 answers "503 SlowDown" to the next 2 uploads',
        run_wide=True,
    ),
)

LOSSES: tuple[Fault[Stored, str], ...] = (
    Fault(
        "storage-object-lost",
        "an object missing from the storage backup",
        "detected",
        lose_first_object,
        says="one object disappears from today's backup prefix",
    ),
)
