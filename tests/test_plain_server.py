"""A rehearsal against a server the drill does not own: a plain PostgreSQL as a user's staging
runs it (default settings, password authentication over TCP), started by this test.

The whole drill with the default workers (four here, two per core) shares that one server: it
must be green (scenarios needing what the server lacks are "not runnable", naming it), and
afterwards the server still runs, every database and role it had is there unchanged, its
sessions were never ended, and nothing of the drill's is left. The broken worlds: a drill
without namespaces (both workers create ``napoleon_seed``; the guide's ``-d napoleon_ai`` drops
staging's own), a cleanup that drops by name (takes the other run's ``rb_0ther0_...``), a
kill on a server the drill does not own.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from runbook_lib.drill.options import DrillOptions
from runbook_lib.errors import ConfigurationError, NotRunnable
from runbook_lib.monitoring import signals
from runbook_lib.world import capabilities
from runbook_lib.world.postgres import (
    OWNER_NEEDED,
    PostgresServer,
    drop_namespace,
    dsn_server,
    kill_server,
    namespace_for,
    restart_server,
)
from runbook_lib.world.secrets import Secret
from tests.helpers import ROOT, runbook
from tests.plain_server import EXISTING_DATABASES, EXISTING_ROLES, MARKER, Staging, plain_server

pytestmark = pytest.mark.slow


def _evidence(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((directory / "evidence.json").read_text())
    return document


def _leftovers(staging: Staging) -> set[str]:
    """The drill's databases and roles still on the server (the other run's one excepted)."""
    found = {n for n in staging.databases() | staging.roles() if n.startswith("rb_")}
    return found - {"rb_0ther0_gw0_napoleon_seed"}


def test_a_parallel_rehearsal_against_a_plain_server_is_green_and_leaves_it_as_it_was(
    tmp_path: Path,
) -> None:
    with plain_server() as staging:
        before_databases, before_roles = staging.databases(), staging.roles()
        with psycopg.connect(staging.superuser_dsn(), autocommit=True) as session:  # a user's
            done = runbook(
                "drill",
                "--pg",
                "dsn",
                "--report-dir",
                str(tmp_path / "run"),
                env={"RUNBOOK_PG_DSN": staging.superuser_dsn()},
                timeout=900,
            )
            assert session.execute("SELECT 1").fetchone() == (1,)  # never terminated
        log = staging.log.read_text(encoding="utf-8", errors="replace")
        after_databases, after_roles = staging.databases(), staging.roles()
        markers = {name: staging.marker(name) for name in EXISTING_DATABASES}
        leftovers = _leftovers(staging)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    evidence = _evidence(tmp_path / "run")
    summary = evidence["summary"]
    assert evidence["run"]["postgres_backend"] == "dsn"
    assert evidence["run"]["complete"], evidence["run"]["not_run"]
    assert summary.get("failed", 0) == 0, summary
    assert summary.get("passed", 0) > 100, summary
    # every worker worked on this one server, each in its own namespace of the same run
    created = set(re.findall(r'CREATE DATABASE "(rb_[a-z0-9]{6}_gw\d+)_napoleon_seed"', log))
    assert len(created) == int(DrillOptions().worker_count) > 1, created
    assert len({name[:9] for name in created}) == 1, created  # rb_<run>: one run
    # the server still runs, everything it had is there, unchanged; nothing of the drill's is
    assert after_databases == before_databases
    assert after_roles == before_roles
    assert markers == dict.fromkeys(EXISTING_DATABASES, MARKER)
    assert leftovers == set()
    # sessions the drill ended (DROP DATABASE ... FORCE, an emergency role's) were its own
    ended = [line for line in log.splitlines() if "terminating connection due to admin" in line]
    assert all(re.search(r" (rb_\w+@\S+|\S+@rb_\w+) ", line) for line in ended), ended
    # what the plain server lacks is named, never a failure or a finding
    lacking = {s["error"] for s in evidence["scenarios"] if s["status"] == "not runnable"}
    assert lacking, summary
    assert all(capabilities.PG_STAT_STATEMENTS in e for e in lacking), lacking
    assert (
        f"{summary['not runnable']} not runnable here"
        in (tmp_path / "run" / "summary.md").read_text()
    )


def test_without_a_superuser_the_missing_capabilities_are_named_not_failed(
    tmp_path: Path,
) -> None:
    """The owner role (CREATEDB, CREATEROLE, no superuser) cannot install pg_stat_statements or
    amcheck, nor disable the foreign-key triggers a lossy-restore fault needs."""
    selection = (
        "only_senior_developers or slowquery_report_runs_as_written or "
        "silently_loses_data or meets_the_database_rto or records_query_statistics or "
        "guides_pg_restore_command_restores_a_customformat"
    )
    with plain_server() as staging:
        before = staging.databases(), staging.roles()
        done = runbook(
            "drill",
            "--pg",
            "dsn",
            "-k",
            selection,
            "--report-dir",
            str(tmp_path / "run"),
            env={"RUNBOOK_PG_DSN": staging.owner_dsn()},
            timeout=900,
        )
        after = staging.databases(), staging.roles()
        leftovers = _leftovers(staging)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "could not drop" not in done.stderr
    assert after == before
    assert leftovers == set()
    statuses = {
        (s["name"], s["example"].get("table", "")): (s["status"], s["error"])
        for s in _evidence(tmp_path / "run")["scenarios"]
    }
    needs = {key: error for key, (status, error) in statuses.items() if status == "not runnable"}
    ran = {key: status for key, (status, _) in statuses.items() if status != "not runnable"}
    assert set(ran.values()) <= {"passed", "gap"}, statuses
    # the guide's own restore runs as the owner role: -U postgres is mapped and recorded
    assert ran[("The guide's pg_restore command restores a custom-format dump as written", "")]
    by_name = {name: error for (name, _), error in needs.items()}
    assert capabilities.PGSS_EXTENSION in by_name["The guide's slow-query report runs as written"]
    assert (
        capabilities.AMCHECK
        in by_name[
            "Database recovery meets the Database RTO, measured and predicted at production size"
        ]
    )
    assert (
        "is a system trigger"
        in by_name["A restore that silently loses data is caught and names the table"]
    )
    assert (
        capabilities.PGSS_EXTENSION
        in by_name["The drill database is a real PostgreSQL server that records query statistics"]
    )
    assert "Only senior developers and the application can read production data" in {
        name for (name, _) in ran
    }


def test_the_drill_never_kills_or_restarts_a_server_it_does_not_own() -> None:
    with plain_server() as staging:
        server = dsn_server(staging.superuser_dsn())
        assert not server.owned
        for action in (kill_server, restart_server):
            with pytest.raises(NotRunnable) as refused:
                action(server)
            assert refused.value.capability == OWNER_NEEDED
        with pytest.raises(NotRunnable, match="a server the drill owns"):
            signals.database_outage(server, "app_staging", stop=3, restart=8)
        with server.connect() as conn:  # still running, never touched
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_namespaced_session_touches_only_its_own_databases_and_roles() -> None:
    with plain_server() as staging:
        server = dataclasses.replace(
            dsn_server(staging.superuser_dsn()), namespace=namespace_for("a1b2c3", "gw0")
        )
        other = dataclasses.replace(server, namespace=namespace_for("a1b2c3", "gw1"))
        mine = server.create_database(server.scoped("napoleon_seed"))
        theirs = other.create_database(other.scoped("napoleon_seed"))
        with server.connect() as conn:
            conn.execute(f"CREATE ROLE {server.scoped('bob_dev')} NOLOGIN")
        for name in ("napoleon_ai", theirs, "app_staging"):
            with pytest.raises(ConfigurationError, match="not one of this drill's"):
                server.drop_database(name)
            with pytest.raises(ConfigurationError, match="not one of this drill's"):
                server.create_database(name)
        assert mine == "rb_a1b2c3_gw0_napoleon_seed"
        assert set(drop_namespace(server)) == {mine, "rb_a1b2c3_gw0_bob_dev"}
        assert theirs in staging.databases()
        assert set(EXISTING_DATABASES) <= staging.databases()
        assert set(EXISTING_ROLES) <= staging.roles()
        assert drop_namespace(other) == [theirs]


def test_names_stay_postgres_identifiers() -> None:
    server = PostgresServer(
        "dsn",
        "127.0.0.1",
        1,
        "u",
        Secret("pw"),
        Path("/none"),
        "15",
        namespace=namespace_for("f" * 9, "gw12"),
    )
    assert server.scoped("napoleon_ai_recovered_restoring").startswith("rb_ffffff_gw12_")
    with pytest.raises(ConfigurationError, match="1-63"):
        server.scoped("x" * 60)
    with pytest.raises(ConfigurationError):
        server.scoped('bad"name')
    assert namespace_for("AB-12-cd-ef", "main") == "rb_ab12cd_main_"


NO_LOCAL_SERVER = """
import contextlib
from runbook_lib.errors import EnvironmentMissing
import runbook_lib.world.postgres as postgres

@contextlib.contextmanager
def _no_binaries(*args, **kwargs):
    raise EnvironmentMissing("no PostgreSQL server binaries here (only a DSN is reachable)")
    yield

postgres.embedded_cluster = _no_binaries
"""


def test_scenarios_that_kill_or_reconfigure_a_server_need_one_the_drill_starts(
    tmp_path: Path,
) -> None:
    """On a machine that only reaches a DSN (no server binaries to start a cluster of its own),
    the kill, outage and TLS scenarios are not runnable, naming what they need; the shared
    server is never stopped or reconfigured instead."""
    patch = tmp_path / "patch"
    patch.mkdir()
    (patch / "sitecustomize.py").write_text(NO_LOCAL_SERVER)
    selection = "killed_in_the_middle or accepts_only_tls or stopped_database"
    with plain_server() as staging:
        done = runbook(
            *("drill", "--pg", "dsn", "-k", selection, "--report-dir", str(tmp_path / "run")),
            env={"RUNBOOK_PG_DSN": staging.superuser_dsn(), "PYTHONPATH": f"{patch}:{ROOT}"},
            timeout=600,
        )
        with staging.server.connect() as conn:  # never stopped
            ssl = conn.execute("SHOW ssl").fetchone()
        leftovers = _leftovers(staging)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    scenarios = _evidence(tmp_path / "run")["scenarios"]
    assert len(scenarios) == 3, [s["name"] for s in scenarios]
    assert {s["status"] for s in scenarios} == {"not runnable"}, scenarios
    assert all(OWNER_NEEDED in s["error"] for s in scenarios), [s["error"] for s in scenarios]
    assert ssl == ("off",)  # not reconfigured
    assert leftovers == set()
    assert "NOT RUNNABLE (needs a server the drill owns" in done.stdout
