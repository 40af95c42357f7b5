"""Each Database RTO path recovers with its own tool on a real PostgreSQL, and is verified before
it counts: a guide's path whose psql restores nothing is refused, never promoted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runbook_lib.errors import VerificationFailed
from runbook_lib.procedures import database_rto as rto
from runbook_lib.procedures.backup_recovery import restore, verify
from runbook_lib.procedures.backup_recovery.backup import (
    DumpFormat,
    take_logical_backup,
    upload_backup,
)
from runbook_lib.procedures.recovery_objectives import fixed_restore_cost
from runbook_lib.world import dataset
from runbook_lib.world.clock import WallClock
from runbook_lib.world.postgres import PostgresServer, embedded_cluster

BUCKET = "napoleon-ai-backup"
GUIDE_PLAIN = rto.RestorePath(rto.GUIDE, "plain", 1)


@dataclass(frozen=True)
class World:
    server: PostgresServer
    s3: Any
    source: verify.Fingerprint
    workdir: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("rto")
    with embedded_cluster() as server, mock_aws(), pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        server.create_database("napoleon_prod")
        with server.connect("napoleon_prod") as conn:
            dataset.seed(conn, dataset.DatasetSize(users=20))
        now = datetime.now(UTC)
        for fmt in ("plain", "custom"):
            upload_backup(
                s3, take_logical_backup(server, "napoleon_prod", workdir, now, fmt), BUCKET
            )
        yield World(server, s3, verify.fingerprint(server, "napoleon_prod"), workdir)


def _recover(world: World, path: rto.RestorePath, target: str) -> rto.PathRecovery:
    return rto.recover_path(
        world.server, world.s3, BUCKET, world.source, target, world.workdir, path, WallClock()
    )


@pytest.mark.parametrize(
    ("path", "tool"), [(GUIDE_PLAIN, "psql"), (rto.corrected_path(2), "pg_restore")]
)
def test_each_path_restores_its_own_backup_with_its_own_tool(
    world: World, path: rto.RestorePath, tool: str
) -> None:
    recovery = _recover(world, path, "napoleon_ai_recovered")
    result = recovery.result
    assert (result.format, result.jobs) == (path.format, path.jobs)
    assert result.backup_key.endswith("backup.sql" if path.format == "plain" else ".dump")
    assert [step.name for step in result.steps] == [
        "fetch and checksum the newest backup",
        tool,
        "verify",
        rto.PROMOTE,
    ]
    assert recovery.users_readable == world.source.tables["users"].rows


def test_a_guide_path_that_restores_nothing_is_refused_and_never_promoted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(restore, "restore_plain", lambda *args: None)
    with pytest.raises(VerificationFailed, match="table emails is missing"):
        _recover(world, GUIDE_PLAIN, "napoleon_ai_refused")
    with world.server.connect() as conn:
        names = {str(r[0]) for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
    assert not names & {"napoleon_ai_refused", "napoleon_ai_refused_restoring"}


@pytest.mark.parametrize("fmt", ["plain", "custom"])
def test_the_fixed_cost_restores_the_schema_alone_by_the_same_path(
    world: World, fmt: DumpFormat
) -> None:
    fixed = fixed_restore_cost(
        world.server, "napoleon_prod", world.workdir / f"fixed-{fmt}", WallClock(), fmt, 2
    )
    assert (
        world.workdir / f"fixed-{fmt}" / f"schema-only.{'sql' if fmt == 'plain' else 'dump'}"
    ).exists()
    assert fixed.restore_seconds > 0
    assert fixed.verify_seconds > 0
    with world.server.connect("napoleon_prod") as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    assert 0 < fixed.database_bytes < int(str(row[0]))  # the empty schema: no rows
