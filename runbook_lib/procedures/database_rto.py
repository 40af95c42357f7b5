"""The Database RTO by the path the guide prescribes and by the corrected one (guide: Recovery
Time Objectives (RTO); Backup & Recovery > Recovery Procedures).

- The guide's path: Supabase's downloadable backup is plain SQL (``backup.sql``), which the
  guide's ``pg_restore`` cannot read (GUIDE-RESTORE-PLAIN-SQL); the restore that works is
  ``psql -f``, one stream. :func:`guide_path` reads the path from the guide's Database Recovery
  command: ``psql``, or ``pg_restore`` of a ``.sql`` file, is plain SQL through psql; a
  ``pg_restore`` of another file is a custom-format dump restored with the jobs it names (1 when
  it names none).
- The corrected path: a custom-format dump (``pg_dump -Fc``) restored with ``pg_restore -j N``.

:func:`recover_path` recovers by one path with the verified procedure (fetch and checksum,
restore, verify, promote); :func:`predict_path` predicts it at production size with
:func:`~runbook_lib.procedures.recovery_objectives.predict_restore`, its fixed cost measured by
the same path, and :func:`prediction_basis` says what that prediction assumes.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from runbook_lib.guide.model import Guide
from runbook_lib.procedures.backup_recovery import verify
from runbook_lib.procedures.backup_recovery.backup import DumpFormat
from runbook_lib.procedures.backup_recovery.restore import RecoveryResult, recover_database
from runbook_lib.procedures.recovery_objectives import (
    FixedCost,
    RestorePrediction,
    fixed_restore_cost,
    predict_restore,
)
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer, storage_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

GUIDE = "guide's path"
CORRECTED = "corrected path"
PROMOTE = "promote and accept queries"  # recover_database's last step: size-independent
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class RestorePath:
    """One way back from a backup: its name (the guide's or the corrected one), the backup's
    format and the restore's parallel streams."""

    name: str
    format: DumpFormat
    jobs: int

    @property
    def tool(self) -> str:
        return "psql" if self.format == "plain" else "pg_restore"

    @property
    def label(self) -> str:
        """How the evidence names the path, e.g. "guide's path: plain SQL through psql, single
        stream" or "corrected path: custom format, pg_restore -j 2"."""
        if self.format == "plain":
            return f"{self.name}: plain SQL through psql, single stream"
        return f"{self.name}: custom format, pg_restore -j {self.jobs}"


def guide_recovery_command(guide: Guide) -> str:
    """The guide's Database Recovery command: its pg_restore, or a psql (a fixed guide's)."""
    for command in guide.recovery_commands:
        if command.text.split()[0] in ("pg_restore", "psql"):
            return command.text
    return guide.command("pg_restore", guide.recovery_commands).text  # GuideError names the lack


def guide_path(command: str) -> RestorePath:
    """The path the guide's recovery command takes with the backup it names (see the module)."""
    words = shlex.split(command)
    if Path(words[0]).name == "psql" or words[-1].endswith(".sql"):
        return RestorePath(GUIDE, "plain", 1)
    return RestorePath(GUIDE, "custom", _jobs(words))


def _jobs(words: list[str]) -> int:
    for index, word in enumerate(words):
        value = ""
        if word in ("-j", "--jobs") and index + 1 < len(words):
            value = words[index + 1]
        elif word.startswith("--jobs="):
            value = word.partition("=")[2]
        elif word.startswith("-j") and not word.startswith("--"):
            value = word[2:]
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def corrected_path(jobs: int) -> RestorePath:
    return RestorePath(CORRECTED, "custom", jobs)


@dataclass(frozen=True)
class PathRecovery:
    path: RestorePath
    result: RecoveryResult
    users_readable: int  # rows of users read from the promoted copy: it accepts queries


def recover_path(
    server: PostgresServer,
    s3: S3Client,
    bucket: str,
    source: verify.Fingerprint,
    target: str,
    workdir: Path,
    path: RestorePath,
    clock: Clock,
) -> PathRecovery:
    """Recover the newest backup of ``path``'s format with ``path``'s tool and jobs, verified
    before it is promoted as ``target`` (``recover_database``), then read from it."""
    directory = workdir / f"restore-{path.format}"
    directory.mkdir(parents=True, exist_ok=True)
    result = recover_database(
        server, s3, bucket, source, target, directory, clock=clock, jobs=path.jobs, fmt=path.format
    )
    if (result.format, result.jobs) != (path.format, path.jobs):
        raise AssertionError(f"recovered a {result.format} backup with {result.jobs} jobs")
    with server.connect(target) as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
    return PathRecovery(path, result, int(str(row[0])) if row else 0)


@dataclass(frozen=True)
class PathPrediction:
    path: RestorePath
    fixed: FixedCost  # the schema alone, restored and verified by the same path
    promote_seconds: float  # measured, taken as size-independent
    prediction: RestorePrediction
    backup_bytes: int  # of the drill's backup, to scale the production backup's size


def predict_path(
    server: PostgresServer,
    database: str,
    workdir: Path,
    recovery: PathRecovery,
    production_bytes: int,
    clock: Clock,
) -> PathPrediction:
    """The recovery time of ``recovery``'s path at ``production_bytes``: its fixed cost (schema
    alone by the same path, plus the promotion) and the drill's throughput beyond it."""
    path, result = recovery.path, recovery.result
    fixed = fixed_restore_cost(
        server, database, workdir / f"fixed-{path.format}", clock, path.format, path.jobs
    )
    promote = result.step(PROMOTE)
    prediction = predict_restore(
        result.database_bytes,
        result.seconds,
        fixed.seconds + promote,
        production_bytes,
        fixed.database_bytes,
    )
    return PathPrediction(path, fixed, promote, prediction, result.backup_bytes)


def production_backup_bytes(p: PathPrediction) -> int:
    """The production backup's size at the drill's backup-to-database ratio."""
    return round(p.prediction.production_bytes * p.backup_bytes / p.prediction.measured_bytes)


def server_storage(server: PostgresServer) -> str:
    """Where the server keeps its data, as the run's ``postgres_storage`` says it."""
    datadir = server.extras.get("datadir")
    if datadir:
        return storage_of(datadir)
    return f"{server.backend} server at {server.host} (its storage is unknown to the drill)"


@dataclass(frozen=True)
class PredictionBasis:
    """What a prediction at production size assumes, one line each for the evidence."""

    storage: str
    network: str
    parallelism: str
    model: str

    def lines(self) -> tuple[str, ...]:
        return (
            f"storage: {self.storage}",
            f"network: {self.network}",
            f"parallelism: {self.parallelism}",
            f"model: {self.model}",
        )


def prediction_basis(
    p: PathPrediction, storage: str, backup_source: str, database_host: str, cores: int
) -> PredictionBasis:
    """The assumptions of ``p``: ``storage`` of the server's data (``server_storage``), where the
    backup came from (an S3 endpoint URL) and the server's host, the cores of this machine."""
    pr, mib = p.prediction, 1024**2
    ram = storage.startswith("RAM disk")
    local = urlsplit(backup_source).hostname in _LOOPBACK and database_host in _LOOPBACK
    return PredictionBasis(
        storage=f"the restored data was written to {storage}; production is assumed to write "
        + ("as fast as RAM (no disk I/O in these timings)" if ram else "as fast as this storage"),
        network=(
            "none: the backup was fetched over loopback and restored from a local file into a "
            "server on loopback; "
            if local
            else f"the backup came from {backup_source} and the server is at {database_host}; "
        )
        + f"the production backup (~{production_backup_bytes(p) / mib:.0f} MiB) is assumed to "
        "travel at the speed measured here (add its size / bandwidth for a remote restore)",
        parallelism=f"{p.path.tool} with {p.path.jobs} stream{'s' if p.path.jobs > 1 else ''} "
        f"on {cores} cores, as in production",
        model=f"fixed cost + bytes / throughput: {pr.overhead_seconds:.2f} s paid by any restore "
        f"(schema alone restored {p.fixed.restore_seconds:.2f} s and verified "
        f"{p.fixed.verify_seconds:.2f} s by the same path, promotion {p.promote_seconds:.2f} s), "
        f"then {pr.bytes_per_second / mib:.1f} MiB/s measured on the drill copy's "
        f"{(pr.measured_bytes - pr.overhead_bytes) / mib:.1f} MiB beyond the empty schema's "
        f"{pr.overhead_bytes / mib:.1f} MiB; linear in bytes (COPY, index builds and "
        "verification grow with the data alike; no sort spills or cache limits beyond this size)",
    )


@dataclass(frozen=True)
class Miss:
    path: RestorePath
    seconds: float


def rto_misses(
    figures: Sequence[tuple[RestorePath, float]], rto_seconds: float
) -> tuple[Miss, ...]:
    """The paths whose recovery time is not within the RTO."""
    return tuple(Miss(path, seconds) for path, seconds in figures if not seconds <= rto_seconds)


def guide_missed(misses: Sequence[Miss]) -> bool:
    """The guide's own path misses the RTO: that is a finding about the guide."""
    return any(miss.path.name == GUIDE for miss in misses)


def miss_detail(
    what: str,
    misses: Sequence[Miss],
    figures: Sequence[tuple[RestorePath, float]],
    rto_seconds: float,
) -> str:
    """One line for the finding and the failure: each missing path with its figure, and how the
    others fared."""
    missed = {m.path for m in misses}
    parts = [
        f"{path.label} {'misses' if path in missed else 'meets'} it: {seconds:.0f} s"
        for path, seconds in figures
    ]
    return f"{what} against the Database RTO of {rto_seconds:.0f} s: " + "; ".join(parts)
