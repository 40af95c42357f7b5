"""GDPR: Data retention and deletion procedures (guide: Security Procedures > Compliance).

- :func:`delete_user` erases a user: the users row (foreign keys cascade) and every upload under
  ``users/<id>/`` in file storage. :func:`remaining_references` proves it from the catalog: every
  table with a foreign key to ``users`` is counted for the id, whatever tables exist.
- Backups past the retention period are expired by the backup bucket's lifecycle rule.
  :func:`apply_lifecycle` carries the rule out the way S3 does at its daily run (moto stores
  lifecycle rules but never runs them), taking each object's age from its ``taken-at`` metadata.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from runbook_lib.procedures.backup_recovery.storage import Buckets, list_objects
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def referencing_tables(server: PostgresServer, database: str) -> list[tuple[str, str]]:
    """(table, column) of every foreign key that points at users.id, recursively not needed:
    direct references are what hold a user's personal data here."""
    with server.connect(database) as conn:
        rows = conn.execute(
            """SELECT c.conrelid::regclass::text, a.attname
               FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
               WHERE c.contype = 'f' AND c.confrelid = 'public.users'::regclass"""
        ).fetchall()
    return sorted((str(t), str(c)) for t, c in rows)


def remaining_references(server: PostgresServer, database: str, user_id: int) -> dict[str, int]:
    counts = {}
    with server.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM users WHERE id = %s", (user_id,)).fetchone()
        counts["users"] = int(str(row[0])) if row else 0
        for table, column in referencing_tables(server, database):
            row = conn.execute(
                f"SELECT count(*) FROM {table} WHERE {column} = %s", (user_id,)
            ).fetchone()
            counts[table] = int(str(row[0])) if row else 0
    return counts


def user_uploads(s3: S3Client, buckets: Buckets, user_id: int) -> list[str]:
    return sorted(list_objects(s3, buckets.storage, f"users/{user_id}/"))


def delete_user(
    server: PostgresServer, database: str, s3: S3Client, buckets: Buckets, user_id: int
) -> int:
    """Erase the user everywhere; returns how many uploads were removed."""
    with server.connect(database) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
    keys = user_uploads(s3, buckets, user_id)
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=buckets.storage,
            Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]},
        )
    return len(keys)


def set_backup_retention(s3: S3Client, bucket: str, days: int, prefix: str = "db/") -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "backup-retention",
                    "Status": "Enabled",
                    "Filter": {"Prefix": prefix},
                    "Expiration": {"Days": days},
                }
            ]
        },
    )


def apply_lifecycle(s3: S3Client, bucket: str, now: datetime) -> list[str]:
    """Expire what the bucket's lifecycle rules say is too old at ``now``; returns the keys."""
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expired = []
    for rule in rules:
        if rule.get("Status") != "Enabled" or "Days" not in rule.get("Expiration", {}):
            continue
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        limit = timedelta(days=int(rule["Expiration"]["Days"]))
        for key in list_objects(s3, bucket, prefix):
            taken = s3.head_object(Bucket=bucket, Key=key)["Metadata"].get("taken-at")
            if taken and now - datetime.fromisoformat(taken) >= limit:
                s3.delete_object(Bucket=bucket, Key=key)
                expired.append(key)
    return expired
