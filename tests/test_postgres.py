"""The PostgreSQL provider: real servers, clear errors, and nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runbook_lib.errors import ConfigurationError, EnvironmentMissing
from runbook_lib.world.postgres import (
    dsn_server,
    embedded_cluster,
    open_server,
    reap_orphans,
    resolve_backend,
)
from tests.helpers import kill_and_restart, leftover_clusters

ROOT = Path(__file__).resolve().parent.parent


_clusters = leftover_clusters


def _postmasters(datadir: str) -> list[str]:
    out = subprocess.run(
        ["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if datadir in line and "postgres" in line]


def test_embedded_cluster_runs_real_postgres_and_leaves_nothing() -> None:
    before = _clusters()
    with embedded_cluster() as server:
        datadir = server.extras["datadir"]
        with server.connect() as conn:
            row = conn.execute(
                "SELECT current_setting('shared_preload_libraries'), version()"
            ).fetchone()
        assert row is not None
        assert row[0] == "pg_stat_statements"
        assert "PostgreSQL" in str(row[1])
        assert _postmasters(datadir)
        assert server.dsn().reveal().startswith("postgresql://postgres:")
        assert server.url() == f"postgresql://postgres:***@127.0.0.1:{server.port}/postgres"
    assert not _postmasters(datadir)
    assert _clusters() == before


def test_an_error_inside_the_block_still_cleans_up() -> None:
    before = _clusters()
    seen: list[str] = []

    def crash() -> None:
        with embedded_cluster() as server:
            seen.append(server.extras["datadir"])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    datadir = seen[0]
    assert not _postmasters(datadir)
    assert _clusters() == before


def test_ctrl_c_of_a_drill_leaves_no_server_or_temp_dir(tmp_path: Path) -> None:
    before = _clusters()
    script = tmp_path / "hold.py"
    script.write_text(
        textwrap.dedent("""
        import sys, time
        from runbook_lib.world.postgres import embedded_cluster
        with embedded_cluster() as server:
            print(server.extras["datadir"], flush=True)
            time.sleep(120)
    """)
    )
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    ) as child:
        assert child.stdout is not None
        datadir = child.stdout.readline().strip()
        assert _postmasters(datadir)
        child.send_signal(signal.SIGINT)
        child.wait(timeout=60)
    assert not _postmasters(datadir)
    assert _clusters() == before


def test_ctrl_c_while_pg_ctl_stops_the_server_still_removes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CI flake of stop 18: Ctrl-C landed while ``pg_ctl stop`` ran, the interrupt left the
    block's ``finally`` early and the cluster directory stayed. Now the postmaster is killed and
    the directory removed whatever interrupts the stop."""
    real_run = subprocess.run

    def interrupted_stop(argv: list[str], *args: object, **kwargs: object) -> object:
        if "stop" in argv:
            raise KeyboardInterrupt
        return real_run(argv, *args, **kwargs)  # type: ignore[call-overload]

    seen: list[str] = []

    def drill() -> None:
        with embedded_cluster() as server:
            seen.append(server.extras["datadir"])
            monkeypatch.setattr(subprocess, "run", interrupted_stop)

    with pytest.raises(KeyboardInterrupt):
        drill()
    monkeypatch.undo()
    datadir = seen[0]
    deadline = time.monotonic() + 10
    while _postmasters(datadir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _postmasters(datadir)
    assert not Path(datadir).parent.exists()


def test_the_drill_sweeps_what_a_killed_worker_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed before its teardown ran (xdist kills one that is slow to stop) leaves
    its cluster; ``runbook drill`` sweeps it once its pytest has exited."""
    from runbook_lib.drill.runner import sweep_leftovers

    orphan = tmp_path / "runbook-pg-killed"
    (orphan / "data").mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (orphan / "runbook-owner.pid").write_text(str(dead.pid))
    sweep_leftovers({"RUNBOOK_PG_TMPDIR": str(tmp_path)})
    assert not orphan.exists()


def test_a_restart_clears_the_locks_of_a_dead_postmaster_only(tmp_path: Path) -> None:
    """A killed postmaster stays a zombie until PID 1 reaps it, and PostgreSQL refuses to start
    while its lock files name a pid that still exists: the restart removes the locks of a
    postmaster that no longer runs, and keeps those of one that does."""
    from runbook_lib.world.postgres import _remove_stale_locks

    datadir = tmp_path / "data"
    datadir.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (datadir / "postmaster.pid").write_text(f"{dead.pid}\n{datadir}\n")
    (tmp_path / ".s.PGSQL.5999.lock").write_text(f"{dead.pid}\n")
    (tmp_path / ".s.PGSQL.5999").write_text("")
    (tmp_path / ".s.PGSQL.6000.lock").write_text(f"{os.getpid()}\n")
    _remove_stale_locks(datadir)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.PGSQL.6000.lock", "data"]
    assert list(datadir.iterdir()) == []


def test_orphans_of_a_killed_run_are_reaped(tmp_path: Path) -> None:
    orphan = tmp_path / "runbook-pg-orphan"
    (orphan / "data").mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (orphan / "runbook-owner.pid").write_text(str(dead.pid))
    alive = tmp_path / "runbook-pg-alive"
    alive.mkdir()
    (alive / "runbook-owner.pid").write_text(str(os.getpid()))
    assert reap_orphans(str(tmp_path)) == [orphan]
    assert not orphan.exists()
    assert alive.exists()


def test_a_killed_server_refuses_connections_until_restarted() -> None:
    with embedded_cluster() as server:
        kill_and_restart(server)
        with server.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_unknown_backend_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown PostgreSQL backend 'sqlite'"):
        resolve_backend("sqlite")


def test_dsn_backend_needs_a_dsn() -> None:
    with pytest.raises(ConfigurationError, match="RUNBOOK_PG_DSN"), open_server("dsn"):
        pass
    with pytest.raises(ConfigurationError, match="must look like"):
        dsn_server("mysql://x")


def test_dsn_backend_reports_an_unreachable_server_without_its_password() -> None:
    with pytest.raises(EnvironmentMissing, match="cannot connect to RUNBOOK_PG_DSN") as caught:
        dsn_server("postgresql://postgres:hunter2secret@127.0.0.1:1/postgres")
    assert "hunter2secret" not in str(caught.value)


def test_dsn_backend_attaches_to_an_existing_server() -> None:
    with embedded_cluster() as server, open_server("dsn", server.dsn()) as attached:
        assert attached.backend == "dsn"
        assert attached.version == server.version


# the container backend: tests/test_container_backend.py


def test_no_binaries_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("runbook_lib.world.postgres.Path.glob", lambda self, pattern: iter(()))
    monkeypatch.setattr("runbook_lib.world.postgres.Path.exists", lambda self: False)
    with pytest.raises(EnvironmentMissing, match="apt-get install postgresql"), embedded_cluster():
        pass
