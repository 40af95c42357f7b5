"""Supabase's backups as the weekly check reads them (guide: Backup & Recovery > Database
Backups, "Automated daily backups via Supabase"; Recovery Time Objectives (RTO), Database RPO).

Two reads of the Management API, both ``GET``: the backup listing (``pitr_enabled`` and the
point-in-time window in ``physical_backup_data``) and the daily backup's schedule. From them:

- :func:`newest_backup_age`: how old the newest COMPLETED backup is, which the guide's schedule
  (read from the guide: "daily") bounds;
- :func:`recovery_point_lag`: with point-in-time recovery on, how far the newest instant a
  restore can reach lies behind now, which the Database RPO bounds; None when PITR is off, and
  then only the scheduled backups protect the data (the RPO finding, when they cannot meet it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from runbook_lib.errors import ProcedureFailed
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.backup_recovery.backup import (
    BackupListing,
    BackupSchedule,
    backup_schedule,
    list_supabase_backups,
)
from runbook_lib.world.http import ApiClient


@dataclass(frozen=True)
class BackupReading:
    """What the Management API said of one project's backups, and when it was read."""

    project_ref: str
    listing: BackupListing
    schedule: BackupSchedule
    read_at: datetime


def read_backups(client: ApiClient, project_ref: str, now: datetime) -> BackupReading:
    """The project's backup listing and backup schedule (two GETs)."""
    listing = list_supabase_backups(client, project_ref)
    return BackupReading(project_ref, listing, backup_schedule(client, project_ref), now)


def newest_backup_age(reading: BackupReading) -> timedelta:
    """Age of the newest COMPLETED backup when the listing was read."""
    newest = reading.listing.newest_completed()
    if newest is None:
        listed = ", ".join(sorted({b.status for b in reading.listing.backups})) or "nothing"
        raise ProcedureFailed(
            f"Supabase lists no completed backup for project {reading.project_ref} "
            f"(listed: {listed}); check the project's Database > Backups page"
        )
    return reading.read_at - newest.inserted_at


def recovery_point_lag(reading: BackupReading) -> timedelta | None:
    """How far the newest point a PITR restore can reach lies behind now (None: PITR is off);
    PITR on with no window to restore into fails, naming the project."""
    listing = reading.listing
    if not listing.pitr_enabled:
        return None
    if listing.latest_physical is None:
        raise ProcedureFailed(
            f"project {reading.project_ref} has point-in-time recovery on, but Supabase lists "
            "no window to restore into (physical_backup_data is empty)"
        )
    return reading.read_at - listing.latest_physical


@dataclass(frozen=True)
class RpoCover:
    """What protects the newest writes, measured against the Database RPO: point-in-time
    recovery's lag, or (PITR off) the newest backup's age. ``gap`` is the RPO finding's detail
    when PITR is off and the guide's schedule cannot meet the RPO (then age is not judged: the
    finding is the verdict)."""

    measured: str
    seconds: float
    rpo_seconds: float
    gap: str | None = None


def rpo_cover(reading: BackupReading, guide: Guide) -> RpoCover:
    objective, schedule = guide.objective("Database"), guide.backup_schedule("Database")
    rpo = objective.rpo_seconds
    lag = recovery_point_lag(reading)
    if lag is not None:
        return RpoCover("point-in-time recovery lag", lag.total_seconds(), rpo)
    age = newest_backup_age(reading).total_seconds()
    measured = "age of the newest restorable point (PITR off: the newest backup)"
    interval = schedule.interval_seconds
    if interval is not None and interval <= rpo:
        return RpoCover(measured, age, rpo)
    every = f"every {interval / 3600:g} h" if interval is not None else "on no stated schedule"
    gap = (
        f"project {reading.project_ref} has point-in-time recovery off, so only the guide's "
        f"'{schedule.text}' (line {schedule.line}) protect it: a backup {every} can lose that "
        f"much, the Database RPO (line {objective.line}) allows {rpo / 3600:g} h; its newest "
        f"backup is {age / 3600:.1f} h old"
    )
    return RpoCover(measured, age, rpo, gap)


def schedule_note(reading: BackupReading) -> str:
    """The schedule as evidence: when the daily backup runs, and when that was last changed."""
    schedule = reading.schedule
    return (
        f"Supabase takes project {reading.project_ref}'s daily backup at "
        f"{schedule.schedule_for:%H:%M:%S} UTC (schedule last changed {schedule.updated_at:%Y-%m-%d %H:%M} UTC)"
    )
