"""Steps of features/security.feature (guide: Security Procedures: Access Management, Compliance)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from runbook_lib.drill import faults
from runbook_lib.drill.options import DrillOptions, Settings
from runbook_lib.errors import EnvironmentMissing, NotRunnable, ThresholdBreached
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.backup_recovery.backup import (
    list_backups,
    take_logical_backup,
    upload_backup,
)
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.procedures.security import access, compliance, encryption, gdpr, keys
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import OWNER_NEEDED, PostgresServer, embedded_cluster
from runbook_lib.world.redact import Redactor

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PRODUCTION_TABLES = ("users", "emails", "subscriptions")


def _password(redactor: Redactor) -> str:
    value = secrets.token_urlsafe(16)
    redactor.register(value)
    return value


@pytest.fixture
def team(redactor: Redactor) -> list[access.Person]:
    return [
        access.Person("alice_senior", "senior developer", _password(redactor)),
        access.Person("bob_dev", "developer", _password(redactor)),
        access.Person("carol_support", "support engineer", _password(redactor)),
    ]


def _person(team: list[access.Person], role: str) -> access.Person:
    return next(p for p in team if p.role == role)


@given("the team's roles follow the guide's access policy")
def role_model(drill_server: PostgresServer, database: str, team: list[access.Person]) -> None:
    access.create_role_model(drill_server, database, team)


@then("no role outside the policy can read production data")
def no_violations(
    drill_server: PostgresServer,
    database: str,
    team: list[access.Person],
    evidence: ScenarioEvidence,
) -> None:
    problems = access.policy_violations(drill_server, database, team, PRODUCTION_TABLES)
    evidence.check(
        "roles reaching production data outside the policy",
        len(problems),
        "==",
        0,
        detail="; ".join(problems),
    )


@then(
    parsers.re(
        r'(?:senior developer )?"(?P<role>\w+)" (?P<outcome>can connect and read users|cannot connect any more)'
    )
)
def connects(
    drill_server: PostgresServer,
    database: str,
    team: list[access.Person],
    evidence: ScenarioEvidence,
    role: str,
    outcome: str,
) -> None:
    """Both polarities prove it by connecting as the role with its password."""
    refusal = access.try_connect(drill_server, database, role, _person(team, role).password)
    expected = outcome.startswith("can ")
    evidence.check_true(
        f"{role} {'connected and read users' if expected else 'refused'}",
        (refusal is None) == expected,
        detail=refusal or "connected",
    )


@when(parsers.parse('"{role}" is granted SELECT on users directly and can log in'))
def stray_grant(drill_server: PostgresServer, database: str, role: str) -> None:
    said = f'"{role}" is granted SELECT on users directly and can log in'
    faults.find(faults.DATABASE, said).apply(faults.Database(drill_server, database))


@then(parsers.parse('the access check names "{role}"'))
def check_names(
    drill_server: PostgresServer,
    database: str,
    team: list[access.Person],
    evidence: ScenarioEvidence,
    role: str,
) -> None:
    problems = access.policy_violations(drill_server, database, team, PRODUCTION_TABLES)
    evidence.measure("access violations found", len(problems))
    if not any(f"role {role} " in p for p in problems):
        raise ThresholdBreached(f"the access check did not name {role}: {problems}")


@when(parsers.parse('support engineer "{role}" gets emergency access for {minutes:d} minutes'))
def emergency(
    drill_server: PostgresServer, database: str, evidence: ScenarioEvidence, role: str, minutes: int
) -> None:
    until = access.grant_emergency_access(drill_server, database, role, datetime.now(UTC), minutes)
    evidence.note(f"emergency access for {role} until {until.isoformat()}")


@when("the emergency window is closed by the procedure")
def close_window(drill_server: PostgresServer, database: str) -> None:
    access.revoke_emergency_access(drill_server, database, "carol_support")


@then(
    parsers.parse(
        'the key inventory on "{day}" flags "{name}" as older than the guide\'s rotation period'
    )
)
def stale(
    guide: Guide, drill_options: DrillOptions, evidence: ScenarioEvidence, day: str, name: str
) -> None:
    period = keys.rotation_days(guide)
    inventory = keys.load_inventory(drill_options.config_dir.key_inventory)
    flagged = keys.stale_keys(inventory, date.fromisoformat(day), period)
    evidence.measure("rotation period (guide: quarterly)", period, "days")
    for line in flagged:
        evidence.finding(
            "KEY-ROTATION-OVERDUE",
            "Access Management",
            "an API key is older than the rotation period",
            line,
        )
    if not any(line.startswith(name + " ") for line in flagged):
        raise ThresholdBreached(f"{name} was not flagged; flagged: {flagged}")


@when("every key in the inventory is rotated", target_fixture="rotations")
def rotate_all(
    cloud: SimulatedCloud, drill_options: DrillOptions, http_client: httpx.Client
) -> list[keys.Rotation]:
    store, providers = cloud.credential_store(), cloud.key_providers(http_client)
    inventory = keys.load_inventory(drill_options.config_dir.key_inventory)
    return [keys.rotate(record.name, providers[record.name], store) for record in inventory]


@then("every old key is refused by its provider")
def old_refused(rotations: list[keys.Rotation], evidence: ScenarioEvidence) -> None:
    for rotation in rotations:
        evidence.check_true(
            f"{rotation.name}: old key refused (401/403)",
            rotation.old_status_after in (401, 403),
            detail=f"status {rotation.old_status_after}",
        )


@then("every new key is accepted by its provider")
def new_accepted(rotations: list[keys.Rotation], evidence: ScenarioEvidence) -> None:
    for rotation in rotations:
        evidence.check(f"{rotation.name}: new key status", rotation.new_status, "==", 200)


@when("the buckets are hardened")
def harden(s3: S3Client, buckets: Buckets) -> None:
    for bucket in (buckets.storage, buckets.backup):
        encryption.harden_bucket(s3, bucket)


@then("every bucket has default encryption and denies requests without TLS")
def buckets_encrypted(s3: S3Client, evidence: ScenarioEvidence, buckets: Buckets) -> None:
    problems = [
        p for b in (buckets.storage, buckets.backup) for p in encryption.bucket_problems(s3, b)
    ]
    evidence.check("bucket encryption problems", len(problems), "==", 0, detail="; ".join(problems))


@then(parsers.parse('the encryption check names "{bucket}"'))
def names_bucket(s3: S3Client, evidence: ScenarioEvidence, bucket: str) -> None:
    problems = encryption.bucket_problems(s3, bucket)
    evidence.measure("encryption problems found", len(problems))
    if not any(p.startswith(bucket) for p in problems):
        raise ThresholdBreached(f"the check did not name {bucket}")


@pytest.fixture
def tls_server(
    wall_clock: Clock, drill_settings: Settings, redactor: Redactor
) -> Iterator[PostgresServer]:
    """A cluster the drill starts and configures (TLS only): never the shared server."""
    cluster = embedded_cluster(
        {"ssl": "on"},
        hba=encryption.TLS_ONLY_HBA,
        files=encryption.tls_files(wall_clock),
        parent=drill_settings.pg_tmpdir,
    )
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(cluster)
        except EnvironmentMissing as exc:  # only a DSN reachable here: no server of its own
            raise NotRunnable(OWNER_NEEDED, str(exc)) from None
        redactor.register(server.password)
        yield server


@given("a PostgreSQL server that allows TLS connections only", target_fixture="drill_server")
def tls_only(request: pytest.FixtureRequest) -> PostgresServer:
    return request.getfixturevalue("tls_server")  # type: ignore[no-any-return]


@then("a connection with TLS is accepted and encrypted")
def tls_accepted(drill_server: PostgresServer, evidence: ScenarioEvidence) -> None:
    refusal = encryption.connect_refusal(drill_server, "require")
    evidence.check_true(
        "TLS connection accepted and encrypted", refusal is None, detail=refusal or ""
    )


@then("a connection without TLS is refused")
def plain_refused(drill_server: PostgresServer, evidence: ScenarioEvidence) -> None:
    refusal = encryption.connect_refusal(drill_server, "disable")
    evidence.check_true(
        "plain connection refused", refusal is not None, detail=refusal or "it connected"
    )


@when(parsers.parse("user {user_id:d} asks to be deleted"), target_fixture="deleted_user")
def delete_user(
    drill_server: PostgresServer,
    database: str,
    s3: S3Client,
    evidence: ScenarioEvidence,
    user_id: int,
    buckets: Buckets,
) -> int:
    before = sum(gdpr.remaining_references(drill_server, database, user_id).values())
    uploads = gdpr.delete_user(drill_server, database, s3, buckets, user_id)
    evidence.measure("rows that referenced the user", before)
    evidence.measure("uploads removed", uploads)
    return user_id


@then(parsers.parse("no table references user {user_id:d} any more"))
def no_references(
    drill_server: PostgresServer, database: str, evidence: ScenarioEvidence, user_id: int
) -> None:
    remaining = gdpr.remaining_references(drill_server, database, user_id)
    evidence.measure("tables checked", len(remaining))
    evidence.check(
        "rows still referencing the user",
        sum(remaining.values()),
        "==",
        0,
        detail=", ".join(f"{t}: {n}" for t, n in remaining.items() if n),
    )


@then(parsers.parse("no upload of user {user_id:d} is left in file storage"))
def no_uploads(s3: S3Client, evidence: ScenarioEvidence, user_id: int, buckets: Buckets) -> None:
    evidence.check("uploads left", len(gdpr.user_uploads(s3, buckets, user_id)), "==", 0)


@then("other users' data is untouched")
def others_untouched(
    drill_server: PostgresServer,
    database: str,
    s3: S3Client,
    evidence: ScenarioEvidence,
    buckets: Buckets,
) -> None:
    evidence.check(
        "rows of user 1", sum(gdpr.remaining_references(drill_server, database, 1).values()), ">", 0
    )
    evidence.check("uploads of user 1", len(gdpr.user_uploads(s3, buckets, 1)), ">", 0)


@given(
    parsers.parse("database backups taken {a:d}, {b:d} and {c:d} days ago"),
    target_fixture="backup_ages",
)
def old_backups(
    drill_server: PostgresServer,
    database: str,
    s3: S3Client,
    workdir: Path,
    a: int,
    b: int,
    c: int,
    buckets: Buckets,
) -> dict[int, str]:
    now, stored = datetime.now(UTC), {}
    for days in (a, b, c):
        folder = workdir / f"age-{days}"
        folder.mkdir()
        stored[days] = upload_backup(
            s3,
            take_logical_backup(drill_server, database, folder, now - timedelta(days=days)),
            buckets.backup,
        ).key
    return stored


@when(
    parsers.parse("the backup bucket keeps backups for {days:d} days and its lifecycle rule runs")
)
def lifecycle(
    s3: S3Client, evidence: ScenarioEvidence, guide: Guide, days: int, buckets: Buckets
) -> None:
    gdpr.set_backup_retention(s3, buckets.backup, days)
    expired = gdpr.apply_lifecycle(s3, buckets.backup, datetime.now(UTC))
    evidence.measure("backups expired", len(expired))
    evidence.note(
        "the guide states no retention period ('GDPR: Data retention and deletion procedures'); the drill uses 30 days"
    )


@then(parsers.parse("the backup from {days:d} days ago is gone"))
def backup_gone(
    s3: S3Client,
    backup_ages: dict[int, str],
    evidence: ScenarioEvidence,
    days: int,
    buckets: Buckets,
) -> None:
    evidence.check(
        f"backup from {days} days ago still listed",
        int(backup_ages[days] in {b.key for b in list_backups(s3, buckets.backup)}),
        "==",
        0,
    )


@then(parsers.parse("the backups from {a:d} and {b:d} days ago remain"))
def backups_remain(
    s3: S3Client,
    backup_ages: dict[int, str],
    evidence: ScenarioEvidence,
    a: int,
    b: int,
    buckets: Buckets,
) -> None:
    listed = {b.key for b in list_backups(s3, buckets.backup)}
    for days in (a, b):
        evidence.check_true(f"backup from {days} days ago listed", backup_ages[days] in listed)


@then("no column of the database is named for card data")
def no_card_columns(
    drill_server: PostgresServer, database: str, evidence: ScenarioEvidence
) -> None:
    columns, _ = compliance.card_data_findings(drill_server, database)
    evidence.check("card data columns", len(columns), "==", 0, detail=", ".join(columns))


@then("no text in the database is a valid card number")
def no_card_numbers(
    drill_server: PostgresServer, database: str, evidence: ScenarioEvidence
) -> None:
    _, numbers = compliance.card_data_findings(drill_server, database)
    evidence.check(
        "valid card numbers in text columns", len(numbers), "==", 0, detail=", ".join(numbers[:5])
    )


@then("every compliance statement is evidenced by a scenario or listed with its reason")
def compliance_covered(
    guide: Guide, drill_options: DrillOptions, evidence: ScenarioEvidence
) -> None:
    rows = compliance.coverage(guide, drill_options.features)
    for row in rows:
        evidence.note(
            f"{row.statement}: {', '.join(row.scenarios) or 'not applicable: ' + row.reason}"
        )
    uncovered = [row.statement for row in rows if not row.covered]
    evidence.check(
        "compliance statements without evidence",
        len(uncovered),
        "==",
        0,
        detail=", ".join(uncovered),
    )


@when(parsers.parse('a user pastes the card number "{number}" into an email subject'))
def paste_card(
    drill_server: PostgresServer, database: str, number: str, redactor: Redactor
) -> None:
    redactor.register(number)
    said = f'a user pastes the card number "{number}" into an email subject'
    faults.find(faults.DATABASE, said).apply(faults.Database(drill_server, database))


@then(parsers.parse("the card data check finds {count:d} valid card number"))
def card_found(
    drill_server: PostgresServer, database: str, evidence: ScenarioEvidence, count: int
) -> None:
    _, numbers = compliance.card_data_findings(drill_server, database)
    evidence.check("valid card numbers found", len(numbers), "==", count, detail=", ".join(numbers))
