"""Settings from the environment: read once at the edge, validated, passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.drill.options import DEFAULT_DRILL_DB_BYTES, DrillOptions, Settings
from runbook_lib.errors import ConfigurationError
from runbook_lib.procedures.production_sizes import (
    DEFAULT_PRODUCTION_DB_BYTES,
    DEFAULT_PRODUCTION_STORAGE_BYTES,
    DEFAULT_PRODUCTION_STORAGE_OBJECTS,
)
from runbook_lib.world import shell
from tests.helpers import runbook


def test_an_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_environ({}) == Settings(
        production_db_bytes=DEFAULT_PRODUCTION_DB_BYTES,
        production_storage_objects=DEFAULT_PRODUCTION_STORAGE_OBJECTS,
        production_storage_bytes=DEFAULT_PRODUCTION_STORAGE_BYTES,
        drill_db_bytes=DEFAULT_DRILL_DB_BYTES,
    )


def test_every_variable_is_parsed(tmp_path: Path) -> None:
    settings = Settings.from_environ(
        {
            "RUNBOOK_PRODUCTION_DB_SIZE": "2GiB",
            "RUNBOOK_PRODUCTION_STORAGE_OBJECTS": "5000",
            "RUNBOOK_PRODUCTION_STORAGE_SIZE": "500MB",
            "RUNBOOK_DRILL_DB_SIZE": "8MB",
            "RUNBOOK_PG_TMPDIR": str(tmp_path),
            "RUNBOOK_PG_DSN": "postgresql://drill:pw@127.0.0.1:5432/postgres",
            "DOCKER_HOST": "tcp://127.0.0.1:2375",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
    )
    assert settings.production_db_bytes == 2 * 1024**3
    assert settings.production_storage_objects == 5000
    assert settings.production_storage_bytes == 500 * 1000**2
    assert settings.drill_db_bytes == 8 * 1000**2
    assert settings.pg_tmpdir == tmp_path
    assert settings.pg_dsn.reveal().startswith("postgresql://drill:")
    assert settings.docker_host == "tcp://127.0.0.1:2375"
    assert settings.step_summary == tmp_path / "summary.md"


def test_the_dsn_stays_out_of_repr() -> None:
    settings = Settings.from_environ({"RUNBOOK_PG_DSN": "postgresql://u:hunter2secret@h/db"})
    assert "hunter2secret" not in repr(settings)
    assert "hunter2secret" not in f"{settings.pg_dsn}"  # str and format are masked too


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RUNBOOK_PRODUCTION_DB_SIZE", "lots"),
        ("RUNBOOK_PRODUCTION_STORAGE_SIZE", "0"),
        ("RUNBOOK_DRILL_DB_SIZE", "-5MB"),
        ("RUNBOOK_PRODUCTION_STORAGE_OBJECTS", "many"),
        ("RUNBOOK_PG_TMPDIR", "/no/such/directory"),
        ("RUNBOOK_PG_DSN", "mysql://x"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{name}") as caught:
        Settings.from_environ({name: value})
    assert "\n" not in str(caught.value)


def test_a_child_process_inherits_the_environment_with_extras(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNBOOK_SETTINGS_PROBE", "inherited")
    env = shell.child_env({"TZ": "UTC"})
    assert (env["RUNBOOK_SETTINGS_PROBE"], env["TZ"]) == ("inherited", "UTC")


def test_the_cli_refuses_a_bad_variable_before_anything_runs() -> None:
    done = runbook("drill", "--only", "guide", env={"RUNBOOK_PRODUCTION_DB_SIZE": "lots"})
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "runbook: RUNBOOK_PRODUCTION_DB_SIZE='lots': give a positive size like 8GiB, 500MB or "
        "1024 (bytes)",
    )


@pytest.mark.parametrize(
    ("cpus", "narrowing", "expected"),
    [
        (2, {}, "4"),  # a whole drill waits more than it computes: two workers per CPU
        (2, {"only": ("deployment",)}, "2"),  # narrowed: one per CPU
        (2, {"keyword": "rollback"}, "2"),
        (2, {"shard": "1/4"}, "2"),
        (1, {}, "2"),
        (16, {}, "8"),  # never more than MAX_AUTO_WORKERS clusters
    ],
)
def test_auto_workers_follow_the_cpus_and_the_selection(
    monkeypatch: pytest.MonkeyPatch, cpus: int, narrowing: dict[str, Any], expected: str
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cpus)), raising=False)
    assert DrillOptions(**narrowing).worker_count == expected
    assert f"--numprocesses={expected}" in DrillOptions(**narrowing).to_args()
    assert DrillOptions(workers="3").worker_count == "3"
    assert not any(a.startswith("--numprocesses") for a in DrillOptions(workers="0").to_args())
