"""Faults the drills inject on purpose, to prove each check catches the broken world it guards.

Each fault says what it breaks; the scenarios that use it say the expected outcome (the
procedure fails for the right reason, or the fault is survived).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from botocore.awsrequest import AWSResponse

from runbook_lib.world.postgres import PostgresServer, kill_server


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
    s3: Any,
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


class _Raw:
    """The minimal urllib3-like body botocore reads from an AWSResponse."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        yield self._body

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return self._body


@dataclass
class Throttle:
    """S3 answers ``503 SlowDown`` to the next ``remaining`` matching calls."""

    remaining: int
    injected: int = 0

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        self.injected += 1
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>"
        )
        return AWSResponse(request.url, 503, {"Content-Type": "application/xml"}, _Raw(body))


def throttle_s3(s3: Any, operation: str = "PutObject", times: int = 2) -> Throttle:
    """Inject SlowDown at the HTTP layer (``before-send``), where botocore's retries see it."""
    throttle = Throttle(times)
    s3.meta.events.register(f"before-send.s3.{operation}", throttle)
    return throttle


def kill_when_restoring(
    server: PostgresServer, database: str, timeout: float = 30
) -> Callable[[], None]:
    """A callback that SIGKILLs the server once a restore is copying data into ``database``."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=2) as conn:
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'COPY %%'",
                        (database,),
                    ).fetchone()
            except psycopg.OperationalError:
                return
            if row and int(str(row[0])) > 0:
                kill_server(server)
                return
            time.sleep(0.02)

    return watch


def lose_rows(server: PostgresServer, table: str, where: str) -> Callable[[str], None]:
    """A restore that silently misses rows of ``table`` (applied to the restored copy)."""

    def damage(database: str) -> None:
        with server.connect(database) as conn:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            conn.execute(f"DELETE FROM {table} WHERE {where}")
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")

    return damage


def lose_table(server: PostgresServer, table: str) -> Callable[[str], None]:
    """A restore that silently misses a whole table."""

    def damage(database: str) -> None:
        with server.connect(database) as conn:
            conn.execute(f"DROP TABLE {table} CASCADE")

    return damage
