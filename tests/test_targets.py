"""Live targets: the same procedures pointed at a target's names, database and credentials,
guarded against production at load time and again for every command the drill runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from runbook_lib.errors import ConfigurationError
from runbook_lib.paths import DEFAULT_CONFIG_DIR, SCENARIOS
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.sim.s3 import MotoServer
from runbook_lib.world.postgres import embedded_cluster
from runbook_lib.world.targets import SIMULATED, load_target
from tests.helpers import child_environ, s3_client
from tests.helpers import runbook as _runbook

ROOT = Path(__file__).resolve().parent.parent
TARGETS = DEFAULT_CONFIG_DIR.targets
GUIDE_SYNC = "aws s3 sync s3://napoleon-ai-storage s3://napoleon-ai-backup/$(date +%Y%m%d)"
STAGING_ENV = {
    "RUNBOOK_STAGING_PG_DSN": "postgresql://drill:pw@staging-db.internal:5432/napoleon_staging",
    "SUPABASE_STAGING_ACCESS_TOKEN": "sbp_" + "5" * 40,
    "VERCEL_STAGING_TOKEN": "StagingVercelToken4f8e1a2b",  # letters and digits, as Vercel issues
}
# the features whose @live scenarios reach only the target's database and S3
DATABASE_AND_S3_FEATURES = (
    "drill_environment",
    "backup_recovery",
    "recovery_objectives",
    "performance_optimization",
)
FULL_TARGET = (
    "    storage_bucket: {storage}\n    backup_bucket: b\n    supabase_project: p\n"
    "    vercel_project: v\n    vercel_project_name: n\n"
)


def test_staging_target_loads_its_names_dsn_and_tokens_from_the_environment() -> None:
    target = load_target("staging", TARGETS, environ=STAGING_ENV)
    assert target.live
    assert target.supabase_project == "napoleonaistagingenv"
    assert target.buckets.storage == "napoleon-ai-staging-storage"
    assert target.identifiers["postgres_host"] == "staging-db.internal"
    assert {name: value.reveal() for name, value in target.credentials.items()} == {
        "SUPABASE_ACCESS_TOKEN": STAGING_ENV["SUPABASE_STAGING_ACCESS_TOKEN"],
        "VERCEL_TOKEN": STAGING_ENV["VERCEL_STAGING_TOKEN"],
    }
    target.require_environment()  # nothing unset


def test_unset_variables_are_named_before_a_drill_starts() -> None:
    target = load_target("staging", TARGETS, environ={})
    with pytest.raises(ConfigurationError, match="needs RUNBOOK_STAGING_PG_DSN, SUPABASE_STAGING"):
        target.require_environment()


def test_a_target_whose_database_is_production_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"points at production \(postgres_host=db\.supabase\.co\)"
    ):
        load_target(
            "staging",
            TARGETS,
            environ={
                "RUNBOOK_STAGING_PG_DSN": "postgresql://postgres:pw@db.supabase.co:5432/napoleon_ai"
            },
        )


def test_production_identifiers_need_the_explicit_override(tmp_path: Path) -> None:
    config = tmp_path / "targets.yml"
    config.write_text(
        "production_identifiers: [napoleon-ai-storage]\ntargets:\n  oops:\n"
        + FULL_TARGET.format(storage="napoleon-ai-storage")
    )
    with pytest.raises(ConfigurationError, match="storage_bucket=napoleon-ai-storage"):
        load_target("oops", config, environ={})
    assert load_target("oops", config, environ={}, allow_production=True).name == "oops"


def test_a_target_must_name_every_identifier(tmp_path: Path) -> None:
    config = tmp_path / "targets.yml"
    config.write_text("targets:\n  half:\n    storage_bucket: s\n")
    with pytest.raises(ConfigurationError, match="does not name backup_bucket, supabase_project"):
        load_target("half", config, environ={})


def test_unknown_target_and_bad_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no target 'prod'"):
        load_target("prod", TARGETS, environ={})
    bad = tmp_path / "targets.yml"
    bad.write_text("just: text\n")
    with pytest.raises(ConfigurationError, match="expected 'production_identifiers:'"):
        load_target("staging", bad, environ={})


def test_the_guides_sync_is_mapped_to_the_targets_buckets_and_the_mapping_kept() -> None:
    mapped = load_target("staging", TARGETS, environ=STAGING_ENV).map_command(GUIDE_SYNC)
    assert mapped.line == (
        "aws s3 sync s3://napoleon-ai-staging-storage s3://napoleon-ai-staging-backup/$(date +%Y%m%d)"
    )
    assert mapped.original == GUIDE_SYNC
    assert mapped.replaced == (
        ("napoleon-ai-storage", "napoleon-ai-staging-storage"),
        ("napoleon-ai-backup", "napoleon-ai-staging-backup"),
    )
    same = SIMULATED.map_command(GUIDE_SYNC)
    assert (same.line, same.replaced) == (GUIDE_SYNC, ())


def test_a_command_that_still_names_production_is_refused() -> None:
    staging = load_target("staging", TARGETS, environ=STAGING_ENV)
    with pytest.raises(ConfigurationError, match=r"still names production \(db\.supabase\.co\)"):
        staging.map_command("pg_restore -h db.supabase.co -U postgres -d napoleon_ai backup.sql")
    # a longer name that merely contains a production name is not production
    assert staging.map_command("aws s3 ls s3://napoleon-ai-storage-archive").replaced == ()


def test_the_simulation_stands_in_for_the_targets_projects_and_tokens() -> None:
    sim = SimulatedCloud(load_target("staging", TARGETS, environ=STAGING_ENV))
    token = STAGING_ENV["SUPABASE_STAGING_ACCESS_TOKEN"]
    assert sim.credentials.supabase_access_token == token
    assert sim.credentials.vercel_token == STAGING_ENV["VERCEL_STAGING_TOKEN"]
    with httpx.Client(transport=httpx.MockTransport(sim.supabase.handle)) as http:

        def status(project: str) -> int:
            url = f"https://api.supabase.com/v1/projects/{project}/database/backups"
            return http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

        assert status("napoleonaistagingenv") == 200
        assert status(SIMULATED.supabase_project) == 404  # production is not simulated here


def _drill(evidence_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SCENARIOS),
            "-q",
            "-p",
            "no:randomly",
            "--target=staging",
            f"--evidence-dir={evidence_dir}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        env={**child_environ(), **env},
    )


def _secrets_absent(directory: Path) -> None:
    for artifact in directory.iterdir():
        text = artifact.read_text()
        for name in ("SUPABASE_STAGING_ACCESS_TOKEN", "VERCEL_STAGING_TOKEN"):
            assert STAGING_ENV[name] not in text, artifact


def test_a_rehearsal_of_the_staging_target_uses_its_names_database_and_tokens(
    tmp_path: Path,
) -> None:
    """--stand-ins: the staging DSN is a local cluster; simulations stand in for its S3 buckets
    and APIs, and they know only the staging names and tokens."""
    with embedded_cluster() as server:
        done = _drill(
            tmp_path,
            {**STAGING_ENV, "RUNBOOK_STAGING_PG_DSN": server.dsn().reveal()},
            "--stand-ins",
            "-k",
            "aws_s3_sync_copies or operators_backup_check or deployment_steps_run_in_order",
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert (evidence["run"]["target"], evidence["run"]["mode"]) == ("staging", "simulated")
    assert evidence["run"]["postgres_backend"] == "dsn"
    statuses = {s["name"]: s["status"] for s in evidence["scenarios"]}
    assert len(statuses) == 3
    assert set(statuses.values()) == {"passed"}, statuses
    notes = [n for s in evidence["scenarios"] for n in s.get("notes", [])]
    assert "target mapping: 'napoleon-ai-storage' -> 'napoleon-ai-staging-storage'" in notes
    _secrets_absent(tmp_path)


def test_a_live_run_reaches_the_targets_own_endpoints_and_runs_only_live_scenarios(
    tmp_path: Path,
) -> None:
    """No simulation in the drill process: the target's S3 endpoint (here a moto server this
    test runs on loopback) and its database DSN are all it uses, with its bucket names."""
    config_dir = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR.root, config_dir)
    config = config_dir / "targets.yml"
    config.write_text(
        TARGETS.read_text(encoding="utf-8").replace(
            "    aws_profile: napoleon-staging\n", "    aws_endpoint_url: {endpoint}\n"
        )
    )
    with MotoServer() as s3_endpoint, embedded_cluster() as server:
        config.write_text(config.read_text().replace("{endpoint}", s3_endpoint.endpoint))
        aws = {
            "AWS_ACCESS_KEY_ID": "AKIASTAGINGDRILL0001",
            "AWS_SECRET_ACCESS_KEY": "staging-secret-access-key",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        client = s3_client(
            s3_endpoint.endpoint, aws["AWS_ACCESS_KEY_ID"], aws["AWS_SECRET_ACCESS_KEY"]
        )
        for bucket in ("napoleon-ai-staging-storage", "napoleon-ai-staging-backup"):
            client.create_bucket(Bucket=bucket)
        for index in range(3):
            client.put_object(
                Bucket="napoleon-ai-staging-storage", Key=f"users/{index}/a.bin", Body=b"x" * index
            )
        before = {b["Name"] for b in client.list_buckets()["Buckets"]}
        done = _drill(
            tmp_path / "run",
            {
                **STAGING_ENV,
                **aws,
                "RUNBOOK_STAGING_PG_DSN": server.dsn().reveal(),
                "RUNBOOK_CONFIG": str(config_dir),
            },
            # the weekly checks (live_checks) also read Supabase and Vercel, which this test
            # does not serve: tests/test_live_checks.py runs them against served simulations
            *(f"--only={stem}" for stem in DATABASE_AND_S3_FEATURES),
        )
        created = {b["Name"] for b in client.list_buckets()["Buckets"]} - before
        copied = client.list_objects_v2(Bucket="napoleon-ai-staging-backup")["Contents"]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    evidence = json.loads((tmp_path / "run" / "evidence.json").read_text())
    assert (evidence["run"]["target"], evidence["run"]["mode"]) == ("staging", "live")
    statuses = {s["name"]: s["status"] for s in evidence["scenarios"]}
    assert statuses == {
        "The drill database is a real PostgreSQL server that records query statistics": "passed",
        "The guide's aws s3 sync copies every stored file byte for byte": "passed",
        "Database recovery meets the Database RTO, measured and predicted at production size": "passed",
        "The guide's slow-query report runs as written": "gap",
        "The guide's indexes serve the lookups it cares about, under the database target": "passed",
    }
    assert created == set()  # a live run never creates buckets, let alone production's
    keys = [obj["Key"] for obj in copied]
    assert sum(key.endswith("/users/2/a.bin") for key in keys) == 1  # the guide's dated copy
    assert any(key.startswith("db/") for key in keys)  # the RTO drill's verified backup
    _secrets_absent(tmp_path / "run")


def test_a_drill_refuses_a_target_that_points_at_production() -> None:
    production_dsn = "postgresql://postgres:pw@db.supabase.co:5432/napoleon_ai"
    done = _runbook(
        "drill",
        "--target",
        "staging",
        env={**STAGING_ENV, "RUNBOOK_STAGING_PG_DSN": production_dsn},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "runbook: target 'staging' points at production (postgres_host=db.supabase.co); "
        "refusing to drill it without --allow-production"
    ]


def test_options_that_only_make_sense_together_are_refused_in_one_line() -> None:
    alone = _runbook("drill", "--stand-ins")
    assert (alone.returncode, alone.stderr.strip()) == (
        2,
        "runbook: --stand-ins rehearses a live target: name it with --target",
    )
    game_day = _runbook(
        "drill", "--target", "staging", "--fault", "statuspage-down", env=STAGING_ENV
    )
    assert (game_day.returncode, game_day.stderr.strip()) == (
        2,
        "runbook: a game day injects faults into the simulations: add --stand-ins to --target",
    )


def test_runbook_target_names_the_variables_a_drill_still_needs() -> None:
    done = _runbook("target", "staging", env={k: "" for k in STAGING_ENV})
    assert done.returncode == 0, done.stderr
    assert "storage_bucket       napoleon-ai-staging-storage" in done.stdout
    assert done.stdout.strip().endswith(
        "before `runbook drill --target staging`, set: RUNBOOK_STAGING_PG_DSN, "
        "SUPABASE_STAGING_ACCESS_TOKEN, VERCEL_STAGING_TOKEN"
    )
