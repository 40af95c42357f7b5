"""Steps of features/backup_recovery.feature (guide: Backup & Recovery)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from runbook_lib.drill import faults
from runbook_lib.errors import ProcedureFailed, ThresholdBreached
from runbook_lib.evidence import findings
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.backup_recovery import storage, verify
from runbook_lib.procedures.backup_recovery.backup import (
    DatabaseBackup,
    StoredBackup,
    TriggerResult,
    guide_trigger,
    guide_trigger_line,
    latest_backup_age,
    list_backups,
    placeholders_sent,
    probe_listing,
    route_missing,
    run_curl,
    sha256_file,
    shell_variables,
    supabase_client,
    take_logical_backup,
    trigger_answered,
    trigger_rewrites,
    upload_backup,
)
from runbook_lib.procedures.backup_recovery.restore import (
    MappedCommand,
    is_plain_text_refusal,
    map_connection,
    recover_database,
    restore_plain,
    run_guide_command,
)
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.serve import Gateway
from runbook_lib.steps.common import Attempt, PreparedBackup, attempt, expect_failure
from runbook_lib.world import dataset, rewrites
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer, ensure_running
from runbook_lib.world.shell import CommandResult
from runbook_lib.world.targets import Target

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

GUIDE_TARGET_DB = "napoleon_ai"  # the guide's -d napoleon_ai


@dataclass(frozen=True)
class GuideRestore:
    mapped: MappedCommand
    result: CommandResult


# -- the guide's manual backup trigger and the Management API --


@when("the operator sends the guide's manual backup trigger as written", target_fixture="trigger")
def send_trigger(
    guide: Guide, cloud: SimulatedCloud, evidence: ScenarioEvidence, gateway: Gateway
) -> TriggerResult:
    line, values = guide_trigger_line(guide), cloud.environment()
    as_written = _curl(gateway, line, values, evidence)
    sent = placeholders_sent(line, as_written)
    for rewrite in trigger_rewrites(guide, {name: values[name] for name in sent}):
        findings.judge(evidence, rewrite, "GUIDE-PLACEHOLDER-SYNTAX")
    return _curl(gateway, shell_variables(line), values, evidence) if sent else as_written


def _curl(
    gateway: Gateway, line: str, values: dict[str, str], evidence: ScenarioEvidence
) -> TriggerResult:
    with gateway.watching() as seen:
        done = run_curl(line, values)
    if not seen or seen[-1].response is None:
        raise ProcedureFailed(f"curl got no answer from the Management API: {done.stderr.strip()}")
    answer = trigger_answered(seen[-1].request, seen[-1].response.status_code, done.stdout)
    evidence.note(
        f"`{line}`: curl sent {answer.request.method} {answer.request.url}: {answer.status}"
    )
    return answer


@then("the Supabase Management API accepts the backup request")
def trigger_accepted(trigger: TriggerResult, evidence: ScenarioEvidence) -> None:
    evidence.measure("backup trigger status", trigger.status)
    answer = (
        f"{trigger.request.method} {trigger.request.url} answered {trigger.status} {trigger.body}"
    )
    if route_missing(trigger):
        findings.confirm(evidence, "GUIDE-BACKUP-TRIGGER-ENDPOINT", answer)
    if trigger.status in (401, 403):
        findings.confirm(evidence, "GUIDE-BACKUP-TRIGGER-CREDENTIAL", answer)
    if not 200 <= trigger.status < 300:
        raise ProcedureFailed(f"the guide's backup trigger failed: {answer}")


@when(
    "the operator lists backups with the credential the guide's trigger uses",
    target_fixture="credential_status",
)
def list_with_guide_credential(
    guide: Guide, cloud: SimulatedCloud, http_client: httpx.Client
) -> int:
    request = guide_trigger(guide, cloud.environment())
    return probe_listing(
        {"Authorization": request.headers["Authorization"]},
        cloud.target.supabase_project,
        http_client,
    )


@then("the Management API accepts the credential")
def credential_accepted(credential_status: int, evidence: ScenarioEvidence) -> None:
    evidence.measure("listing status with the guide's credential", credential_status)
    if credential_status in (401, 403):
        findings.confirm(
            evidence,
            "GUIDE-BACKUP-TRIGGER-CREDENTIAL",
            f"GET /v1/projects/{{ref}}/database/backups with SUPABASE_SERVICE_ROLE_KEY answered {credential_status}",
        )


@given(parsers.parse("Supabase took its automated daily backup {hours:d} hours ago"))
def daily_backup_taken(cloud: SimulatedCloud, hours: int) -> None:
    cloud.supabase.backend.take_daily_backup(cloud.target.supabase_project)
    cloud.clock.advance(hours * 3600)


@given(parsers.parse("the Management API {fault}"))
def management_api_fault(cloud: SimulatedCloud, fault: str) -> None:
    faults.find(faults.CLOUD, f"the Management API {fault}").apply(cloud)


@when("the operator lists backups with the Management API access token", target_fixture="listing")
def list_backups_with_token(cloud: SimulatedCloud, http_client: httpx.Client) -> Attempt:
    client = supabase_client(cloud.credentials.supabase_access_token, cloud.clock, http_client)
    return attempt(
        lambda: latest_backup_age(client, cloud.target.supabase_project, cloud.clock.now())
    )


@then(
    parsers.re(
        r"the newest completed backup is (?P<recent>within|older than) the guide's database "
        r"backup interval"
    ),
    converters={"recent": lambda words: words == "within"},
)
def backup_recent(listing: Attempt, guide: Guide, evidence: ScenarioEvidence, recent: bool) -> None:
    age: timedelta = listing.unwrap()
    interval = guide.backup_schedule("Database").interval_seconds
    assert interval is not None, "the guide states no database backup schedule"
    name = "age of the newest Supabase backup" if recent else "age of a backup the check must flag"
    evidence.check(name, age.total_seconds(), "<" if recent else ">=", interval, "s")


@then(parsers.parse('listing backups fails with "{words}"'))
def listing_fails(listing: Attempt, evidence: ScenarioEvidence, words: str) -> None:
    expect_failure(listing, evidence, words)


@then(parsers.parse("the Management API was called at most {times:d} times"))
def api_calls(cloud: SimulatedCloud, evidence: ScenarioEvidence, times: int) -> None:
    evidence.check("Management API requests", len(cloud.supabase.requests), "<=", times)
    evidence.check("Management API requests", len(cloud.supabase.requests), ">=", 1)


# -- logical backups to the backup bucket --


@when(
    parsers.parse("the operator takes {count:d} logical backups with pg_dump and uploads them"),
    target_fixture="stored",
)
def take_backups(
    drill_server: PostgresServer,
    database: str,
    s3: S3Client,
    workdir: Path,
    count: int,
    buckets: Buckets,
) -> list[tuple[DatabaseBackup, StoredBackup]]:
    taken = []
    for index in range(count):
        folder = workdir / f"backup-{index}"
        folder.mkdir()
        backup = take_logical_backup(
            drill_server, database, folder, datetime.now(UTC) + timedelta(seconds=index)
        )
        taken.append((backup, upload_backup(s3, backup, buckets.backup)))
    return taken


@then(parsers.parse("the backup bucket lists {count:d} database backups, newest first"))
def backups_listed(
    stored: list[tuple[DatabaseBackup, StoredBackup]],
    s3: S3Client,
    evidence: ScenarioEvidence,
    count: int,
    buckets: Buckets,
) -> None:
    listed = list_backups(s3, buckets.backup)
    evidence.check("database backups in the bucket", len(listed), "==", count)
    if [b.key for b in listed] != [s.key for _, s in reversed(stored)]:
        raise ThresholdBreached(f"backups are not listed newest first: {[b.key for b in listed]}")


@then("each stored backup carries the sha256 and size of its dump file")
def backups_checksummed(
    stored: list[tuple[DatabaseBackup, StoredBackup]],
    s3: S3Client,
    evidence: ScenarioEvidence,
    buckets: Buckets,
) -> None:
    listed = {b.key: b for b in list_backups(s3, buckets.backup)}
    for backup, upload in stored:
        found = listed[upload.key]
        evidence.check_true(
            f"{upload.key} sha256 matches", found.sha256 == sha256_file(backup.path)
        )
        evidence.check(f"{upload.key} size", found.size_bytes, "==", backup.size_bytes, "bytes")


@given(
    parsers.parse('S3 answers "503 SlowDown" to the next {times:d} uploads'),
    target_fixture="throttle",
)
def s3_throttles(s3: S3Client, times: int) -> faults.Throttle:
    said = f'S3 answers "503 SlowDown" to the next {times} uploads'
    return faults.find(faults.S3_THROTTLES, said).apply(s3)


@then("the throttled uploads were retried")
def throttled_retried(throttle: faults.Throttle, evidence: ScenarioEvidence) -> None:
    evidence.check("SlowDown answers injected and retried past", throttle.injected, ">=", 1)
    evidence.check("throttles left unconsumed", throttle.remaining, "==", 0)


# -- file storage backups --


@given("the operator ran the guide's file storage backup command", target_fixture="sync")
@when("the operator runs the guide's file storage backup command", target_fixture="sync")
def guide_sync(
    guide: Guide, evidence: ScenarioEvidence, drill_target: Target
) -> storage.SyncResult:
    command = guide.command("aws", guide.backup_commands).text
    mapped = drill_target.map_command(command)
    for original, replacement in mapped.replaced:
        evidence.note(f"target mapping: '{original}' -> '{replacement}'")
        evidence.rewrite(rewrites.renamed(command, original, replacement))
    evidence.note(f"ran the guide's command: {mapped.line}")
    return storage.run_guide_sync(mapped.line, datetime.now(UTC).strftime("%Y%m%d"))


@then("the backup bucket holds every storage object under today's UTC date")
def sync_complete(
    sync: storage.SyncResult, s3: S3Client, evidence: ScenarioEvidence, buckets: Buckets
) -> None:
    copied = storage.list_objects(s3, buckets.backup, sync.prefix)
    evidence.check(
        "objects copied under " + sync.prefix,
        len(copied),
        "==",
        len(storage.list_objects(s3, buckets.storage)),
    )


@then("every copied object is byte-identical to its original")
def sync_identical(
    sync: storage.SyncResult, s3: S3Client, evidence: ScenarioEvidence, buckets: Buckets
) -> None:
    source = storage.snapshot(s3, buckets.storage)
    storage.require_identical(
        source, storage.snapshot(s3, buckets.backup, sync.prefix), "the storage backup"
    )
    evidence.measure("objects verified by sha256", len(source))


@when("the storage bucket is emptied", target_fixture="storage_before")
def empty_storage(s3: S3Client, buckets: Buckets) -> dict[str, storage.ObjectInfo]:
    before = storage.snapshot(s3, buckets.storage)
    storage.empty_bucket(s3, buckets.storage)
    return before


@when("the operator restores the storage bucket from today's backup prefix")
def restore_storage(
    sync: storage.SyncResult, s3: S3Client, evidence: ScenarioEvidence, buckets: Buckets
) -> None:
    findings.report(
        evidence,
        "GUIDE-NO-STORAGE-RECOVERY",
        "the drill restored with the reverse of the guide's sync",
    )
    storage.restore_prefix(s3, buckets, sync.prefix)


@then("the storage bucket is byte-identical to what it held before")
def storage_restored(
    storage_before: dict[str, storage.ObjectInfo],
    s3: S3Client,
    evidence: ScenarioEvidence,
    buckets: Buckets,
) -> None:
    storage.require_identical(
        storage_before, storage.snapshot(s3, buckets.storage), "the restored storage bucket"
    )
    evidence.measure("objects restored", len(storage_before))


@when("one object disappears from today's backup prefix", target_fixture="removed_key")
def lose_backup_object(sync: storage.SyncResult, s3: S3Client, buckets: Buckets) -> str:
    fault = faults.find(faults.S3_LOSSES, "one object disappears from today's backup prefix")
    return fault.apply(faults.Stored(s3, buckets.backup, sync.prefix))


@then("verifying the storage backup fails naming the missing key")
def storage_loss_named(
    sync: storage.SyncResult,
    removed_key: str,
    s3: S3Client,
    evidence: ScenarioEvidence,
    buckets: Buckets,
) -> None:
    source = storage.snapshot(s3, buckets.storage)
    outcome = attempt(
        lambda: storage.require_identical(
            source, storage.snapshot(s3, buckets.backup, sync.prefix), "the storage backup"
        )
    )
    expect_failure(outcome, evidence, removed_key)


# -- the guide's pg_restore and verified recovery --


@given(parsers.parse('a Supabase-style logical backup "{name}" of it'), target_fixture="prepared")
def plain_backup(
    drill_server: PostgresServer, database: str, workdir: Path, name: str
) -> PreparedBackup:
    source = verify.fingerprint(drill_server, database)
    backup = take_logical_backup(drill_server, database, workdir, datetime.now(UTC), fmt="plain")
    return PreparedBackup(source, backup if backup.path.name == name else _renamed(backup, name))


@given(parsers.parse('a custom-format dump "{name}" of it'), target_fixture="prepared")
def custom_backup(
    drill_server: PostgresServer, database: str, workdir: Path, name: str
) -> PreparedBackup:
    source = verify.fingerprint(drill_server, database)
    return PreparedBackup(
        source,
        _renamed(take_logical_backup(drill_server, database, workdir, datetime.now(UTC)), name),
    )


def _renamed(backup: DatabaseBackup, name: str) -> DatabaseBackup:
    target = backup.path.with_name(name)
    backup.path.rename(target)
    return DatabaseBackup(
        target,
        backup.database,
        backup.format,
        backup.sha256,
        backup.size_bytes,
        backup.seconds,
        backup.taken_at,
    )


def _database_recovery(guide: Guide) -> str:
    """The guide's Database Recovery command: its pg_restore, or the psql that the fix of
    GUIDE-RESTORE-PLAIN-SQL puts there (a fixed guide reaches the check, not a GuideError)."""
    for command in guide.recovery_commands:
        if command.text.split()[0] in ("pg_restore", "psql"):
            return command.text
    return guide.command("pg_restore", guide.recovery_commands).text  # GuideError: names the lack


@when(
    "the operator runs the guide's database recovery command against the drill server",
    target_fixture="guide_restore",
)
def run_guide_restore(
    guide: Guide, drill_server: PostgresServer, prepared: PreparedBackup, evidence: ScenarioEvidence
) -> GuideRestore:
    drill_server.create_database(drill_server.scoped(GUIDE_TARGET_DB))
    mapped = map_connection(_database_recovery(guide), drill_server)
    for original, replacement in mapped.mapping:
        evidence.note(f"connection mapping: '{original}' -> '{replacement}'")
    for rewrite in mapped.rewrites:
        findings.judge(evidence, rewrite, "GUIDE-RESTORE-HOST")
    return GuideRestore(
        mapped, run_guide_command(mapped, drill_server, prepared.backup.path.parent)
    )


@then("the guide's command restored the database")
def guide_restore_worked(guide_restore: GuideRestore, evidence: ScenarioEvidence) -> None:
    evidence.measure(
        "guide's pg_restore exit code",
        guide_restore.result.returncode,
        comparator="==",
        threshold=0,
    )
    if is_plain_text_refusal(guide_restore.result):
        findings.confirm(
            evidence,
            "GUIDE-RESTORE-PLAIN-SQL",
            guide_restore.result.stderr.strip().splitlines()[-1],
        )
    guide_restore.result.check()


@when("the refusal is reported and the corrected procedure restores the backup with psql")
def corrected_restore(
    guide_restore: GuideRestore,
    prepared: PreparedBackup,
    drill_server: PostgresServer,
    evidence: ScenarioEvidence,
) -> None:
    if not is_plain_text_refusal(guide_restore.result):
        raise ThresholdBreached(
            "expected pg_restore to refuse the plain SQL backup; nothing to correct"
        )
    findings.report(
        evidence, "GUIDE-RESTORE-PLAIN-SQL", guide_restore.result.stderr.strip().splitlines()[-1]
    )
    restored = drill_server.create_database(drill_server.scoped(GUIDE_TARGET_DB))
    restore_plain(drill_server, prepared.backup.path, restored)


@then("the restored database equals the backup's source, table by table")
def restored_equal(
    prepared: PreparedBackup, drill_server: PostgresServer, evidence: ScenarioEvidence
) -> None:
    restored = verify.fingerprint(drill_server, drill_server.scoped(GUIDE_TARGET_DB))
    problems = verify.differences(prepared.source, restored)
    evidence.measure("tables compared", len(prepared.source.tables))
    evidence.measure("rows compared", sum(t.rows for t in prepared.source.tables.values()))
    evidence.check(
        "differences from the source", len(problems), "==", 0, detail="; ".join(problems[:5])
    )


@then(parsers.parse('the evidence shows the connection mapping "{original}"'))
def mapping_shown(guide_restore: GuideRestore, evidence: ScenarioEvidence, original: str) -> None:
    mapped = [pair for pair in guide_restore.mapped.mapping if pair[0] == original]
    evidence.check(f"mapping of '{original}' recorded", len(mapped), "==", 1)
    evidence.check_true(
        "guide arguments left unchanged",
        guide_restore.mapped.only_target_changed(),
        detail=" ".join(guide_restore.mapped.argv[1:]),
    )


@given("a verified backup of it in the backup bucket", target_fixture="prepared")
def stored_backup(
    drill_server: PostgresServer, database: str, s3: S3Client, workdir: Path, buckets: Buckets
) -> PreparedBackup:
    source = verify.fingerprint(drill_server, database)
    backup = take_logical_backup(drill_server, database, workdir, datetime.now(UTC))
    return PreparedBackup(source, backup, upload_backup(s3, backup, buckets.backup))


@when(parsers.parse("the stored backup is {damage}"))
def damage_backup(prepared: PreparedBackup, s3: S3Client, damage: str, buckets: Buckets) -> None:
    assert prepared.stored is not None
    fault = faults.find(faults.DUMPS, f"the stored backup is {damage}")
    fault.apply(faults.Stored(s3, buckets.backup, prepared.stored.key))


@when(parsers.parse("the restore silently loses {loss}"), target_fixture="after_restore")
def lossy_restore(drill_server: PostgresServer, loss: str) -> Callable[[str], None]:
    fault = faults.find(faults.DATABASE, f"the restore silently loses {loss}")
    return lambda restored: fault.apply(faults.Database(drill_server, restored))


@given("a throwaway PostgreSQL server", target_fixture="drill_server")
def throwaway(request: pytest.FixtureRequest) -> PostgresServer:
    return request.getfixturevalue("throwaway_server")  # type: ignore[no-any-return]


@given("a seeded production database on it", target_fixture="database")
@given(
    parsers.parse("a seeded production database of {megabytes:d} MB on it"),
    target_fixture="database",
)
def seeded_on_throwaway(drill_server: PostgresServer, megabytes: int = 2) -> str:
    name = drill_server.create_database(drill_server.scoped("napoleon_prod"))
    with drill_server.connect(name) as conn:
        dataset.seed(conn, dataset.DatasetSize.from_megabytes(megabytes))
    return name


@when("the server is killed while the restore copies data", target_fixture="during_restore")
def kill_during_restore(drill_server: PostgresServer, recovery_target: str) -> Callable[[], None]:
    fault = faults.find(faults.DATABASE, "the server is killed while the restore copies data")
    return lambda: fault.apply(faults.Database(drill_server, f"{recovery_target}_restoring"))


@when("the operator recovers the database from the newest backup", target_fixture="recovery")
def recover(
    drill_server: PostgresServer,
    s3: S3Client,
    prepared: PreparedBackup,
    recovery_target: str,
    workdir: Path,
    during_restore: Callable[[], None] | None,
    after_restore: Callable[[str], None] | None,
    buckets: Buckets,
    wall_clock: Clock,
) -> Attempt:
    restore_dir = workdir / "restore"
    restore_dir.mkdir(exist_ok=True)
    return attempt(
        lambda: recover_database(
            drill_server,
            s3,
            buckets.backup,
            prepared.source,
            recovery_target,
            restore_dir,
            clock=wall_clock,
            during_restore=during_restore,
            after_restore=after_restore,
        )
    )


@then(parsers.parse('the recovery fails with "{words}"'))
def recovery_fails(recovery: Attempt, evidence: ScenarioEvidence, words: str) -> None:
    expect_failure(recovery, evidence, words)


@then(parsers.parse('the recovery fails naming the table "{table}"'))
def recovery_names_table(recovery: Attempt, evidence: ScenarioEvidence, table: str) -> None:
    expect_failure(recovery, evidence, f"table {table} ")


@then("no database was promoted as recovered")
def nothing_promoted(
    drill_server: PostgresServer, recovery_target: str, evidence: ScenarioEvidence
) -> None:
    ensure_running(drill_server)
    with drill_server.connect() as conn:
        names = {str(r[0]) for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
    evidence.check("databases promoted as recovered", int(recovery_target in names), "==", 0)
    # a scratch copy may survive a crashed server; it is never under the production name
    evidence.measure(
        "scratch copy left for inspection", int(f"{recovery_target}_restoring" in names)
    )
