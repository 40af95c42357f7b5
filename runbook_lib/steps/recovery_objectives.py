"""Steps of features/recovery_objectives.feature (guide: Recovery Time Objectives (RTO))."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_bdd import given, parsers, then, when

from runbook_lib.drill.options import Settings
from runbook_lib.errors import ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import BackupSchedule, Guide, RecoveryObjective
from runbook_lib.guide.units import parse_duration
from runbook_lib.procedures import database_rto as rto
from runbook_lib.procedures import recovery_objectives as objectives
from runbook_lib.procedures.backup_recovery import storage, verify
from runbook_lib.procedures.backup_recovery.backup import take_logical_backup, upload_backup
from runbook_lib.procedures.backup_recovery.restore import default_jobs
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.steps.common import PreparedBackup
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@given("a seeded production database of the drill size", target_fixture="database")
def drill_size_database(drill_size_db: str) -> str:
    return drill_size_db


@given(
    "Supabase's plain SQL backup and a custom-format dump of it in the backup bucket",
    target_fixture="path_backups",
)
def both_formats_stored(
    drill_server: PostgresServer, database: str, s3: S3Client, workdir: Path, buckets: Buckets
) -> tuple[PreparedBackup, ...]:
    source = verify.fingerprint(drill_server, database)
    now = datetime.now(UTC)
    backups = (
        take_logical_backup(drill_server, database, workdir, now, fmt="plain"),
        take_logical_backup(drill_server, database, workdir, now, fmt="custom"),
    )
    return tuple(PreparedBackup(source, b, upload_backup(s3, b, buckets.backup)) for b in backups)


@when(
    "disaster is declared and the operator recovers the database by the guide's path and by the "
    "corrected path",
    target_fixture="path_recoveries",
)
def declared_recovery(
    drill_server: PostgresServer,
    s3: S3Client,
    path_backups: tuple[PreparedBackup, ...],
    recovery_target: str,
    workdir: Path,
    buckets: Buckets,
    wall_clock: Clock,
    guide: Guide,
) -> tuple[rto.PathRecovery, ...]:
    paths = (rto.guide_path(rto.guide_recovery_command(guide)), rto.corrected_path(default_jobs()))
    source = path_backups[0].source
    return tuple(
        rto.recover_path(
            drill_server, s3, buckets.backup, source, recovery_target, workdir, path, wall_clock
        )
        for path in paths
    )


@then("each path's recovered database was verified and accepted queries")
def recovered_accepting(
    path_recoveries: tuple[rto.PathRecovery, ...], evidence: ScenarioEvidence
) -> None:
    for recovery in path_recoveries:
        label = recovery.path.label
        for step in recovery.result.steps:
            evidence.measure(f"recovery step: {step.name} ({label})", step.seconds, "s")
        evidence.measure(f"parallel restore jobs ({label})", recovery.result.jobs)
        evidence.check(f"users readable after recovery ({label})", recovery.users_readable, ">", 0)


@then("each path's measured recovery time is within the Database RTO")
def measured_rto(
    path_recoveries: tuple[rto.PathRecovery, ...], guide: Guide, evidence: ScenarioEvidence
) -> None:
    figures = [(r.path, r.result.seconds) for r in path_recoveries]
    judge_paths(evidence, "measured", figures, guide.objective("Database").rto_seconds)


@then("each path's recovery time predicted at production size is within the Database RTO")
def predicted_rto(
    path_recoveries: tuple[rto.PathRecovery, ...],
    drill_server: PostgresServer,
    database: str,
    workdir: Path,
    guide: Guide,
    evidence: ScenarioEvidence,
    wall_clock: Clock,
    drill_settings: Settings,
    s3: S3Client,
) -> None:
    production = drill_settings.production_db_bytes
    evidence.measure("production database size", production, "bytes")
    figures = []
    for recovery in path_recoveries:
        p = rto.predict_path(drill_server, database, workdir, recovery, production, wall_clock)
        _record_prediction(evidence, p, drill_server, s3.meta.endpoint_url)
        figures.append((p.path, p.prediction.predicted_seconds))
    judge_paths(
        evidence, "predicted at production size", figures, guide.objective("Database").rto_seconds
    )


def _record_prediction(
    evidence: ScenarioEvidence, p: rto.PathPrediction, server: PostgresServer, backup_source: str
) -> None:
    label, pr = p.path.label, p.prediction
    evidence.measure(f"drill database size ({label})", pr.measured_bytes, "bytes")
    evidence.measure(f"empty schema's database size ({label})", pr.overhead_bytes, "bytes")
    evidence.measure(f"size-independent recovery cost ({label})", pr.overhead_seconds, "s")
    evidence.measure(f"restore throughput ({label})", pr.bytes_per_second / 1024**2, "MiB/s")
    evidence.measure(
        f"production backup size at the drill's ratio ({label})",
        rto.production_backup_bytes(p),
        "bytes",
    )
    basis = rto.prediction_basis(
        p, rto.server_storage(server), backup_source, server.host, os.cpu_count() or 1
    )
    for line in basis.lines():
        evidence.note(f"prediction ({label}) assumes {line}")


def judge_paths(
    evidence: ScenarioEvidence,
    what: str,
    figures: list[tuple[rto.RestorePath, float]],
    rto_seconds: float,
) -> None:
    """Record every path against the RTO, then fail naming each that misses it; the guide's own
    path missing it is a finding."""
    for path, seconds in figures:
        evidence.measure(
            f"database recovery time ({what}; {path.label})", seconds, "s", "<=", rto_seconds
        )
    misses = rto.rto_misses(figures, rto_seconds)
    if not misses:
        return
    detail = rto.miss_detail(f"database recovery time {what}", misses, figures, rto_seconds)
    if rto.guide_missed(misses):
        findings.report(evidence, "GUIDE-RTO-RESTORE-PATH", detail)
    raise ThresholdBreached(detail)


def _predicted_within(
    evidence: ScenarioEvidence,
    what: str,
    prediction: objectives.RestorePrediction,
    objective: RecoveryObjective,
) -> None:
    evidence.check(
        f"{what} recovery time (predicted at production size)",
        prediction.predicted_seconds,
        "<=",
        objective.rto_seconds,
        "s",
    )


@when(
    "backups run on the guide's database backup schedule while a writer commits every minute",
    target_fixture="backup_schedule",
)
def guides_backup_schedule(guide: Guide) -> BackupSchedule:
    schedule = guide.backup_schedule("Database")
    if schedule.interval_seconds is None:
        raise ThresholdBreached("the guide states no database backup schedule")
    return schedule


@when(
    parsers.parse("backups run every {every} while a writer commits every minute"),
    target_fixture="backup_schedule",
)
def proposed_backup_schedule(every: str) -> BackupSchedule:
    """A schedule the scenario proposes instead of the guide's (line 0: not the guide's)."""
    return BackupSchedule("Database", parse_duration(every), f"every {every}", 0)


@when("disaster strikes 1 minute before the next scheduled backup", target_fixture="rpo")
def database_disaster(
    drill_server: PostgresServer,
    database: str,
    backup_schedule: BackupSchedule,
    workdir: Path,
    cloud: SimulatedCloud,
) -> objectives.RpoResult:
    return objectives.simulate_rpo(
        drill_server,
        database,
        cloud.clock,
        interval_seconds=backup_schedule.interval_seconds or 0,
        disaster_after_seconds=2 * (backup_schedule.interval_seconds or 0) - 60,
        write_every_seconds=60,
        workdir=workdir,
    )


@then("the data lost is within the Database RPO")
def database_rpo(
    rpo: objectives.RpoResult,
    backup_schedule: BackupSchedule,
    guide: Guide,
    evidence: ScenarioEvidence,
) -> None:
    guides_own = backup_schedule.line > 0
    _check_rpo(
        rpo,
        guide.objective("Database").rpo_seconds,
        "database",
        evidence,
        backup_schedule.text if guides_own else None,
    )


def _check_rpo(
    rpo: objectives.RpoResult,
    objective: float,
    what: str,
    evidence: ScenarioEvidence,
    guide_schedule: str | None,
) -> None:
    """Record the simulation; when the guide's own schedule misses the RPO, that is the finding."""
    evidence.measure(f"{what} backups taken", rpo.backups_taken)
    evidence.measure(f"{what} writes before the disaster", rpo.writes)
    evidence.measure(f"{what} writes restored", rpo.restored_writes)
    evidence.measure(f"{what} backup interval", rpo.backup_interval_seconds, "s")
    loss = rpo.loss_window_seconds
    if loss > objective and guide_schedule is not None:
        evidence.measure(f"{what} data-loss window", loss, "s", "<=", objective)
        findings.confirm(
            evidence,
            "GUIDE-RPO-DAILY-BACKUPS",
            f"the guide says '{guide_schedule}'; disaster just before the next backup "
            f"loses {loss / 3600:.2f} h of writes, the RPO allows {objective / 3600:g} h",
        )
    evidence.check(f"{what} data-loss window", loss, "<=", objective, "s")


@when(
    "disaster empties the storage bucket and the operator restores it from today's backup prefix",
    target_fixture="storage_recovery",
)
def storage_disaster(
    sync: storage.SyncResult,
    s3: S3Client,
    evidence: ScenarioEvidence,
    buckets: Buckets,
    wall_clock: Clock,
) -> objectives.StorageRecovery:
    storage.empty_bucket(s3, buckets.storage)
    findings.report(
        evidence,
        "GUIDE-NO-STORAGE-RECOVERY",
        "the drill restored with the reverse of the guide's sync",
    )
    return objectives.measure_storage_recovery(s3, buckets, sync.prefix, wall_clock)


@given("the storage bucket's contents are recorded", target_fixture="storage_before")
def storage_recorded(s3: S3Client, buckets: Buckets) -> dict[str, storage.ObjectInfo]:
    return storage.snapshot(s3, buckets.storage)


@then("the measured storage recovery time is within the File Storage RTO")
def storage_rto(
    storage_recovery: objectives.StorageRecovery, guide: Guide, evidence: ScenarioEvidence
) -> None:
    evidence.measure("storage objects restored", storage_recovery.objects)
    evidence.check(
        "file storage recovery time (measured)",
        storage_recovery.seconds,
        "<=",
        guide.objective("File Storage").rto_seconds,
        "s",
    )


@then("the storage recovery time predicted at production size is within the File Storage RTO")
def storage_rto_predicted(
    storage_recovery: objectives.StorageRecovery,
    guide: Guide,
    evidence: ScenarioEvidence,
    drill_settings: Settings,
) -> None:
    objects = drill_settings.production_storage_objects
    size = drill_settings.production_storage_bytes
    prediction = objectives.predict_restore(
        storage_recovery.objects, storage_recovery.seconds, storage_recovery.fixed_seconds, objects
    )
    evidence.measure(
        "storage objects restored per second", prediction.bytes_per_second, "objects/s"
    )
    evidence.measure("production storage objects", objects)
    evidence.measure(
        "production storage size (not modelled: local S3 has no bandwidth limit)", size, "bytes"
    )
    _predicted_within(evidence, "file storage", prediction, guide.objective("File Storage"))


@then("the guide's file storage backup schedule is within the File Storage RPO")
def storage_schedule(guide: Guide, evidence: ScenarioEvidence) -> None:
    schedule = guide.backup_schedule("File Storage")
    if schedule.interval_seconds is None:
        findings.confirm(
            evidence,
            "GUIDE-STORAGE-BACKUP-UNSCHEDULED",
            f"the File Storage Backups block says only '{schedule.text}' (line {schedule.line})",
        )
    evidence.check(
        "file storage backup interval",
        schedule.interval_seconds or 0,
        "<=",
        guide.objective("File Storage").rpo_seconds,
        "s",
    )


@when(
    parsers.parse(
        "the storage bucket is synced every {every} while users upload a file every {upload}"
    ),
    target_fixture="sync_schedule",
)
def storage_schedule_given(every: str, upload: str) -> tuple[float, float]:
    return parse_duration(every), parse_duration(upload)


@when("disaster strikes 1 minute before the next scheduled sync", target_fixture="rpo")
def storage_disaster_rpo(
    sync_schedule: tuple[float, float],
    s3: S3Client,
    storage_buckets: Buckets,
    cloud: SimulatedCloud,
) -> objectives.RpoResult:
    interval, upload = sync_schedule
    return objectives.simulate_storage_rpo(
        s3,
        storage_buckets,
        cloud.clock,
        interval_seconds=interval,
        disaster_after_seconds=2 * interval - 60,
        upload_every_seconds=upload,
    )


@then("the files lost are within the File Storage RPO")
def storage_rpo(rpo: objectives.RpoResult, guide: Guide, evidence: ScenarioEvidence) -> None:
    _check_rpo(rpo, guide.objective("File Storage").rpo_seconds, "file storage", evidence, None)
