"""Recovery Time Objectives (RTO) and Recovery Point Objectives (RPO), measured.

- RTO: a drill restores a small database, so :func:`predict_restore` turns the measured restore
  into a prediction at production size with a two-point model: one point is the schema alone,
  restored and verified by the same path (:func:`fixed_restore_cost`: its seconds and the bytes
  of the empty database, which every restore pays and no data byte causes), the other the drill
  database; the line through both is extrapolated to the production size. Counting the empty
  database's bytes as data (8 MB of a 100 MB drill copy) overstates the throughput and
  understates the prediction. :mod:`runbook_lib.procedures.database_rto` applies it to the
  guide's path and the corrected one.
- RPO: :func:`simulate_rpo` runs the guide's backup schedule on a virtual clock against the real
  database: a writer commits timestamped rows, real ``pg_dump`` backups are taken when the
  schedule says, disaster strikes, the newest backup is restored, and the data-loss window is
  the disaster time minus the newest commit that came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from runbook_lib.errors import ConfigurationError, ProcedureFailed
from runbook_lib.procedures.backup_recovery.backup import (
    DatabaseBackup,
    DumpFormat,
    take_logical_backup,
)
from runbook_lib.procedures.backup_recovery.restore import restore_backup, restore_dump
from runbook_lib.procedures.backup_recovery.storage import Buckets, list_objects, sync
from runbook_lib.world import shell
from runbook_lib.world.clock import Clock, VirtualClock
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class RestorePrediction:
    measured_bytes: int
    measured_seconds: float
    overhead_seconds: float  # size-independent: paid by a restore of no data
    bytes_per_second: float  # of the bytes beyond ``overhead_bytes``
    production_bytes: int
    predicted_seconds: float
    overhead_bytes: int = 0  # what a restore of no data still holds (the empty schema's database)


def predict_restore(
    measured_bytes: int,
    measured_seconds: float,
    overhead_seconds: float,
    production_bytes: int,
    overhead_bytes: int = 0,
) -> RestorePrediction:
    """Seconds to restore ``production_bytes`` (or objects): the line through the fixed-cost point
    (``overhead_bytes``, ``overhead_seconds``) and the drill (``measured_bytes``,
    ``measured_seconds``), i.e. the fixed cost plus the bytes beyond it at the drill's throughput."""
    proportional = measured_seconds - overhead_seconds
    data = measured_bytes - overhead_bytes
    if data <= 0 or proportional <= 0:
        raise ProcedureFailed(
            f"the drill copy ({measured_bytes} units, {overhead_bytes} of them size-independent) "
            f"restored too fast to measure throughput ({measured_seconds:.2f} s, fixed cost "
            f"{overhead_seconds:.2f} s); seed a larger one"
        )
    rate = data / proportional
    return RestorePrediction(
        measured_bytes,
        measured_seconds,
        overhead_seconds,
        rate,
        production_bytes,
        overhead_seconds + max(0, production_bytes - overhead_bytes) / rate,
        overhead_bytes,
    )


@dataclass(frozen=True)
class RpoResult:
    backup_interval_seconds: float
    backups_taken: int
    disaster_at: datetime
    newest_restored_commit: datetime | None
    writes: int  # rows committed / files uploaded before the disaster
    restored_writes: int  # of those, how many came back

    @property
    def loss_window_seconds(self) -> float:
        if self.newest_restored_commit is None:
            return float("inf")
        return (self.disaster_at - self.newest_restored_commit).total_seconds()


def simulate_rpo(
    server: PostgresServer,
    database: str,
    clock: VirtualClock,
    *,
    interval_seconds: float,
    disaster_after_seconds: float,
    write_every_seconds: float,
    workdir: Path,
) -> RpoResult:
    """Run the schedule from the first backup until disaster; restore the newest backup."""
    if interval_seconds <= 0 or write_every_seconds <= 0:
        raise ConfigurationError("backup interval and write interval must be positive")
    start = clock.now()
    end = start + timedelta(seconds=disaster_after_seconds)
    next_backup, latest = start, None
    written = backups = 0
    with server.connect(database) as conn:
        conn.execute("TRUNCATE drill_heartbeat")
        while clock.now() + timedelta(seconds=write_every_seconds) <= end:
            if clock.now() >= next_backup:
                latest = take_logical_backup(server, database, workdir, clock.now())
                backups += 1
                next_backup += timedelta(seconds=interval_seconds)
            clock.advance(write_every_seconds)
            conn.execute(
                "INSERT INTO drill_heartbeat (committed_at, note) VALUES (%s, 'rpo writer')",
                (clock.now(),),
            )
            written += 1
    clock.set(end)
    disaster_at = clock.now()
    newest, restored = _restore_and_read(server, latest, f"{database}_rpo")
    return RpoResult(interval_seconds, backups, disaster_at, newest, written, restored)


def simulate_storage_rpo(
    s3: S3Client,
    buckets: Buckets,
    clock: VirtualClock,
    *,
    interval_seconds: float,
    disaster_after_seconds: float,
    upload_every_seconds: float,
) -> RpoResult:
    """Users upload files; the bucket is synced (as ``aws s3 sync`` does) on schedule; what does the
    newest copy hold?"""
    start = clock.now()
    end = start + timedelta(seconds=disaster_after_seconds)
    next_sync, newest_prefix = start, None
    uploads = syncs = 0
    while clock.now() + timedelta(seconds=upload_every_seconds) <= end:
        if clock.now() >= next_sync:
            newest_prefix = f"rpo-{clock.now():%Y%m%dT%H%M%S}/"
            sync(s3, buckets.storage, "", buckets.backup, newest_prefix)
            syncs += 1
            next_sync += timedelta(seconds=interval_seconds)
        clock.advance(upload_every_seconds)
        s3.put_object(
            Bucket=buckets.storage,
            Key=f"uploads/{clock.now():%Y%m%dT%H%M%S}.bin",
            Body=b"upload",
            Metadata={"uploaded-at": clock.now().isoformat()},
        )
        uploads += 1
    clock.set(end)
    newest, restored = None, 0
    if newest_prefix:
        stamps = [
            datetime.fromisoformat(
                s3.head_object(Bucket=buckets.backup, Key=key)["Metadata"]["uploaded-at"]
            )
            for key in list_objects(s3, buckets.backup, newest_prefix + "uploads/")
        ]
        newest, restored = (max(stamps) if stamps else None), len(stamps)
    return RpoResult(interval_seconds, syncs, clock.now(), newest, uploads, restored)


def _restore_and_read(
    server: PostgresServer, backup: DatabaseBackup | None, scratch: str
) -> tuple[datetime | None, int]:
    if backup is None:
        return None, 0
    server.create_database(scratch)
    try:
        restore_dump(server, backup.path, scratch, jobs=1)
        with server.connect(scratch) as conn:
            row = conn.execute("SELECT max(committed_at), count(*) FROM drill_heartbeat").fetchone()
    finally:
        server.drop_database(scratch)
    assert row is not None
    newest = row[0] if isinstance(row[0], datetime) else None
    return newest, int(str(row[1]))


@dataclass(frozen=True)
class FixedCost:
    """The size-independent part of a recovery: ``database``'s schema alone, restored and
    verified by the same path (format, tool and jobs) as the recovery it is the fixed cost of."""

    restore_seconds: float
    verify_seconds: float
    database_bytes: int  # the schema-only copy: bytes every restore holds that no data row causes

    @property
    def seconds(self) -> float:
        return self.restore_seconds + self.verify_seconds


def fixed_restore_cost(
    server: PostgresServer,
    database: str,
    workdir: Path,
    clock: Clock,
    fmt: DumpFormat = "custom",
    jobs: int = 1,
) -> FixedCost:
    """Restore and verify ``database``'s schema alone (``pg_dump --schema-only`` in ``fmt``,
    restored by the tool that format needs with ``jobs``), timed on ``clock``."""
    from runbook_lib.procedures.backup_recovery import verify
    from runbook_lib.procedures.backup_recovery.backup import pg_dump_argv

    workdir.mkdir(parents=True, exist_ok=True)
    dump = workdir / ("schema-only.dump" if fmt == "custom" else "schema-only.sql")
    argv = pg_dump_argv(server, database, dump, fmt, schema_only=True)
    shell.run(argv, env=server.client_env()).check()
    scratch = f"{database}_fixed_cost"
    server.create_database(scratch)
    try:
        started = clock.monotonic()
        restore_backup(server, dump, scratch, fmt, jobs)
        restored = clock.monotonic() - started
        with server.connect(scratch) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        started = clock.monotonic()
        verify.fingerprint(server, scratch)
        verify.amcheck(server, scratch)
        return FixedCost(restored, clock.monotonic() - started, int(str(row[0])) if row else 0)
    finally:
        server.drop_database(scratch)


@dataclass(frozen=True)
class StorageRecovery:
    objects: int
    bytes: int
    seconds: float  # emptied bucket -> every object back
    fixed_seconds: float  # the same sync with nothing left to copy


def measure_storage_recovery(
    s3: S3Client, buckets: Buckets, prefix: str, clock: Clock
) -> StorageRecovery:
    """Restore the dated copy into the (emptied) storage bucket, timed on ``clock``; then time
    a no-op sync."""
    from runbook_lib.procedures.backup_recovery.storage import restore_prefix

    started = clock.monotonic()
    restore_prefix(s3, buckets, prefix)
    seconds = clock.monotonic() - started
    started = clock.monotonic()
    restore_prefix(s3, buckets, prefix)
    fixed = clock.monotonic() - started
    restored = list_objects(s3, buckets.storage)
    return StorageRecovery(len(restored), sum(o["size"] for o in restored.values()), seconds, fixed)
