"""The Database RTO's two paths and the prediction model, on synthetic timings (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.errors import ProcedureFailed, ThresholdBreached
from runbook_lib.evidence.records import ScenarioEvidence
from runbook_lib.guide.model import load_guide
from runbook_lib.procedures import database_rto as rto
from runbook_lib.procedures.backup_recovery.restore import RecoveryResult, Step
from runbook_lib.procedures.recovery_objectives import FixedCost, predict_restore
from runbook_lib.steps.recovery_objectives import judge_paths
from runbook_lib.world.postgres import PostgresServer

MB = 1_000_000
GUIDE_PLAIN = rto.RestorePath(rto.GUIDE, "plain", 1)
CORRECTED = rto.corrected_path(2)


def world(megabytes: float, fixed: float = 0.6, empty_mb: float = 8, mb_per_s: float = 90) -> float:
    """A restore whose time is a fixed cost plus the bytes beyond the empty schema's."""
    return fixed + (megabytes - empty_mb) / mb_per_s


def test_the_line_through_the_schema_alone_and_the_drill_predicts_a_linear_world_exactly() -> None:
    p = predict_restore(101 * MB, world(101), world(8), 1024 * MB, 8 * MB)
    assert p.predicted_seconds == pytest.approx(world(1024))
    assert p.bytes_per_second == pytest.approx(90 * MB)
    assert p.overhead_bytes == 8 * MB


def test_counting_the_empty_schemas_bytes_as_data_underpredicts() -> None:
    """The previous model's bias: 8 MB of catalogue in a 101 MB copy read as data."""
    previous = predict_restore(101 * MB, world(101), world(8), 1024 * MB)
    error = (previous.predicted_seconds - world(1024)) / world(1024)
    assert error == pytest.approx(-0.068, abs=0.002)


def test_a_production_size_below_the_empty_schema_costs_the_fixed_part() -> None:
    assert predict_restore(101 * MB, world(101), world(8), 4 * MB, 8 * MB).predicted_seconds == (
        pytest.approx(world(8))
    )


@pytest.mark.parametrize(
    ("measured_bytes", "seconds"),
    [(101 * MB, 0.5), (8 * MB, 2.0)],  # faster than the fixed cost; no bytes beyond the schema
)
def test_a_drill_copy_that_says_nothing_about_throughput_is_refused(
    measured_bytes: int, seconds: float
) -> None:
    with pytest.raises(ProcedureFailed, match="too fast to measure"):
        predict_restore(measured_bytes, seconds, 0.6, 1024 * MB, 8 * MB)


@pytest.mark.parametrize(
    ("command", "path"),
    [
        ("pg_restore -h db.supabase.co -U postgres -d napoleon_ai backup.sql", GUIDE_PLAIN),
        ("psql -v ON_ERROR_STOP=1 -h db.supabase.co -d napoleon_ai -f backup.sql", GUIDE_PLAIN),
        ("pg_restore -h h -d napoleon_ai backup.dump", rto.RestorePath(rto.GUIDE, "custom", 1)),
        ("pg_restore -j 4 -d napoleon_ai backup.dump", rto.RestorePath(rto.GUIDE, "custom", 4)),
        ("pg_restore --jobs=3 -d n backup.dump", rto.RestorePath(rto.GUIDE, "custom", 3)),
        ("pg_restore -j8 -d n backup.dump", rto.RestorePath(rto.GUIDE, "custom", 8)),
        ("pg_restore -j 4 -d n backup.sql", GUIDE_PLAIN),  # plain SQL: psql, one stream
    ],
)
def test_the_guides_path_is_read_from_its_recovery_command(
    command: str, path: rto.RestorePath
) -> None:
    assert rto.guide_path(command) == path


def test_the_default_guides_path_is_plain_sql_through_psql() -> None:
    path = rto.guide_path(rto.guide_recovery_command(load_guide()))
    assert path.label == "guide's path: plain SQL through psql, single stream"
    assert CORRECTED.label == "corrected path: custom format, pg_restore -j 2"


def _prediction(path: rto.RestorePath, storage_bytes: int = 40 * MB) -> rto.PathPrediction:
    result = RecoveryResult(
        "napoleon_ai_recovered",
        "db/x",
        30 * MB,
        storage_bytes,
        path.jobs,
        (Step("fetch", 0.1), Step(path.tool, 0.9), Step("verify", 0.4), Step(rto.PROMOTE, 0.05)),
        path.format,
    )
    fixed = FixedCost(0.1, 0.3, 8 * MB)
    prediction = predict_restore(
        result.database_bytes, result.seconds, fixed.seconds + 0.05, 8 * 1024**3, 8 * MB
    )
    return rto.PathPrediction(path, fixed, 0.05, prediction, result.backup_bytes)


def test_the_prediction_states_storage_network_parallelism_and_model() -> None:
    p = _prediction(GUIDE_PLAIN)
    ram = rto.prediction_basis(p, "RAM disk (/dev/shm)", "http://127.0.0.1:5000", "127.0.0.1", 2)
    assert "RAM disk (/dev/shm)" in ram.storage
    assert "no disk I/O" in ram.storage
    assert ram.network.startswith("none: ")
    assert "loopback" in ram.network
    assert ram.parallelism == "psql with 1 stream on 2 cores, as in production"
    assert "fixed cost + bytes / throughput" in ram.model
    assert "0.45 s" in ram.model
    assert [line.split(":")[0] for line in ram.lines()] == [
        "storage",
        "network",
        "parallelism",
        "model",
    ]
    disk = rto.prediction_basis(
        _prediction(CORRECTED), "disk (/tmp)", "https://s3.eu-west-1.amazonaws.com", "10.0.0.5", 4
    )
    assert "no disk I/O" not in disk.storage
    assert "https://s3.eu-west-1.amazonaws.com" in disk.network
    assert "10.0.0.5" in disk.network
    assert disk.parallelism == "pg_restore with 2 streams on 4 cores, as in production"
    # the production backup scales with the drill's backup-to-database ratio (30 of 40 MB)
    assert rto.production_backup_bytes(p) == round(8 * 1024**3 * 0.75)


def test_only_the_path_that_misses_the_rto_is_named() -> None:
    figures = [(GUIDE_PLAIN, 1000.0), (CORRECTED, 100.0)]
    misses = rto.rto_misses(figures, 900)
    assert misses == (rto.Miss(GUIDE_PLAIN, 1000.0),)
    assert rto.guide_missed(misses)
    detail = rto.miss_detail("predicted", misses, figures, 900)
    assert f"{GUIDE_PLAIN.label} misses it: 1000 s" in detail
    assert f"{CORRECTED.label} meets it: 100 s" in detail
    corrected_only = rto.rto_misses([(GUIDE_PLAIN, 100.0), (CORRECTED, 901.0)], 900)
    assert corrected_only == (rto.Miss(CORRECTED, 901.0),)
    assert not rto.guide_missed(corrected_only)
    assert rto.rto_misses([(GUIDE_PLAIN, 900.0), (CORRECTED, 900.0)], 900) == ()


def test_a_slow_guide_path_turns_the_check_red_with_the_finding() -> None:
    evidence = ScenarioEvidence(name="rto")
    with pytest.raises(ThresholdBreached, match="guide's path: plain SQL through psql") as caught:
        judge_paths(evidence, "predicted", [(GUIDE_PLAIN, 1000.0), (CORRECTED, 100.0)], 900)
    assert f"{CORRECTED.label} meets it" in str(caught.value)
    passed = {m.name: m.passed for m in evidence.measurements}
    assert passed == {
        f"database recovery time (predicted; {GUIDE_PLAIN.label})": False,
        f"database recovery time (predicted; {CORRECTED.label})": True,
    }
    assert [f.id for f in evidence.findings] == ["GUIDE-RTO-RESTORE-PATH"]


def test_a_slow_corrected_path_is_red_but_no_finding_about_the_guide() -> None:
    evidence = ScenarioEvidence(name="rto")
    with pytest.raises(ThresholdBreached, match="corrected path: custom format"):
        judge_paths(evidence, "measured", [(GUIDE_PLAIN, 100.0), (CORRECTED, 1000.0)], 900)
    assert evidence.findings == []
    judge_paths(evidence, "measured", [(GUIDE_PLAIN, 100.0), (CORRECTED, 100.0)], 900)
    assert all(m.passed for m in evidence.measurements[2:])


def test_storage_is_named_as_the_run_records_it(tmp_path: Path) -> None:
    server = PostgresServer("embedded", "127.0.0.1", 5432, "postgres", "", tmp_path, "15")
    server.extras["datadir"] = "/dev/shm/runbook-pg-x/data"
    assert rto.server_storage(server) == "RAM disk (/dev/shm)"
    server.extras["datadir"] = "/tmp/runbook-pg-x/data"
    assert rto.server_storage(server) == "disk (/tmp)"
    remote = PostgresServer("dsn", "db.example", 5432, "postgres", "", tmp_path, "15")
    assert "unknown" in rto.server_storage(remote)
