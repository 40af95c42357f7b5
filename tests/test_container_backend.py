"""The container backend, proven on this machine: a PostgreSQL container per session through
testcontainers, its reaper disabled and the cleanup ours (nothing left after a pass, a failure,
Ctrl-C or a SIGKILL), ``--pg auto`` falling back with one line when the engine cannot provide
the image, and the image's entrypoint keeping the official image's contract.

Tests that need an engine skip only where no Docker daemon answers at all; where one answers,
the image ``RUNBOOK_PG_IMAGE`` names (CI: ``runbook/postgres:15``, built by ``runbook setup
--with docker``) must be there or pullable, else they fail saying how to build it (unset: the
official ``postgres:15``, or else the image built here).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook_lib.drill.image import LOCAL_IMAGE, BuildSteps, debian_release
from runbook_lib.drill.mutations.guide_edits import RECOVERY_COMMAND
from runbook_lib.drill.options import Settings
from runbook_lib.errors import EnvironmentMissing
from runbook_lib.monitoring import signals
from runbook_lib.world.container import (
    LABEL_OWNER,
    LABEL_RUN,
    BackendChoice,
    Engine,
    choose_backend,
    container_ids,
    docker_available,
    probe_engine,
    provide_image,
    reap_orphans,
)
from runbook_lib.world.postgres import container_server, kill_server, open_server
from tests.helpers import ROOT, edited_guide, kill_and_restart, runbook

SETTINGS = Settings.from_environ(os.environ)
HOST, IMAGE = SETTINGS.docker_host, SETTINGS.pg_image
NO_ENGINE = "unix:///nonexistent/docker.sock"


@pytest.fixture(scope="module")
def engine() -> Engine:
    if not docker_available(HOST):
        pytest.skip("no Docker daemon answers on this machine; the container backend needs one")
    return probe_engine(HOST)


@pytest.fixture(scope="module")
def image(engine: Engine) -> str:
    """RUNBOOK_PG_IMAGE when set; else the official image, or the one built here."""
    wanted = [IMAGE] if "RUNBOOK_PG_IMAGE" in os.environ else [IMAGE, LOCAL_IMAGE]
    why = [provide_image(engine, name) for name in wanted]
    for name, missing in zip(wanted, why, strict=True):
        if missing is None:
            return name
    pytest.fail(
        f"the Docker engine at {HOST} answers, but {why[0]}: build {LOCAL_IMAGE} with "
        f"`RUNBOOK_PG_IMAGE={LOCAL_IMAGE} runbook setup --with docker` and export the variable"
    )


def _left(run_id: str) -> list[str]:
    """The containers of ``run_id`` still there, as `docker ps -a --filter label=...` lists them."""
    done = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", f"label={LABEL_RUN}={run_id}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "DOCKER_HOST": HOST},
    )
    return done.stdout.split()


def _drill(*args: str, report: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "runbook_lib.drill.cli",
        "drill",
        *args,
        "--report-dir",
        str(report),
    ]


def _env(image: str, **more: str) -> dict[str, str]:
    """The child's environment: this one, with the engine and the image of these tests."""
    return {**os.environ, "DOCKER_HOST": HOST, "RUNBOOK_PG_IMAGE": image, **more}


# -- no engine needed -----------------------------------------------------------------------


def test_auto_without_an_engine_runs_the_embedded_cluster_and_says_so_only_in_the_evidence() -> (
    None
):
    choice = choose_backend("auto", NO_ENGINE, IMAGE)
    assert choice.backend == "embedded"
    assert choice.label == f"embedded; --pg auto: no Docker engine answers at {NO_ENGINE}"
    assert choice.line == ""  # nobody expected containers: the console stays quiet


def test_a_backend_asked_for_by_name_is_recorded_as_asked() -> None:
    assert BackendChoice("embedded", "embedded", IMAGE).label == "embedded"
    assert BackendChoice("container", "container", "img:1").label == "container (img:1)"


def test_container_without_an_engine_is_one_clear_line() -> None:
    with (
        pytest.raises(EnvironmentMissing, match="needs a running Docker daemon; no Docker engine"),
        open_server("container", docker_host=NO_ENGINE),
    ):
        pass


def test_the_image_is_built_from_this_machines_release_and_mirror(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://security.example\nSuites: bookworm-security\n"
    )
    os_release = tmp_path / "os-release"
    os_release.write_text('ID=debian\nVERSION_CODENAME=bookworm\nPRETTY_NAME="Debian 12"\n')
    release = debian_release(os_release, tmp_path)
    assert (release.codename, release.mirror) == ("bookworm", "http://mirror.example/debian")
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://old.example/debian bookworm main\n"
    )
    assert debian_release(os_release, tmp_path).mirror == "http://old.example/debian"
    os_release.write_text('ID=ubuntu\nVERSION_CODENAME=noble\nPRETTY_NAME="Ubuntu 24.04"\n')
    with pytest.raises(EnvironmentMissing, match=r"needs a Debian machine.*Ubuntu 24\.04"):
        debian_release(os_release, tmp_path)


def test_a_failed_build_step_is_one_line_naming_the_step_and_the_log(tmp_path: Path) -> None:
    lines: list[str] = []
    steps = BuildSteps(tmp_path / "build.log", lines.append)
    with pytest.raises(EnvironmentMissing) as caught:
        steps.run("debootstrap bookworm", ["sh", "-c", "echo mirror unreachable >&2; exit 3"])
    assert str(caught.value) == (
        f"building {LOCAL_IMAGE} failed at debootstrap bookworm (`sh` exited 3); "
        f"see {tmp_path / 'build.log'}"
    )
    assert lines == [f"  {LOCAL_IMAGE}: debootstrap bookworm"]  # progress on the console
    assert "mirror unreachable" in (tmp_path / "build.log").read_text()  # output in the log


def test_doctor_reports_an_engine_that_does_not_answer() -> None:
    done = runbook("doctor", env={"DOCKER_HOST": NO_ENGINE})
    assert done.returncode == 0, done.stdout + done.stderr  # the embedded cluster suffices
    rows = [line for line in done.stdout.splitlines() if "Docker" in line]
    assert len(rows) == 2
    assert f"no Docker engine answers at {NO_ENGINE}" in rows[0]
    assert "unknown" in rows[1]


# -- an engine that answers -----------------------------------------------------------------


@pytest.mark.needs_docker
def test_doctor_reports_the_engine_its_version_and_the_image(engine: Engine, image: str) -> None:
    done = runbook("doctor", env={"DOCKER_HOST": HOST, "RUNBOOK_PG_IMAGE": image})
    assert f"Docker {engine.version} answers at {HOST}" in done.stdout
    assert f"{image} present" in done.stdout
    absent = runbook("doctor", env={"DOCKER_HOST": HOST, "RUNBOOK_PG_IMAGE": "runbook/absent:0"})
    assert "runbook/absent:0 absent: --pg auto runs the embedded cluster" in absent.stdout


@pytest.mark.needs_docker
def test_auto_takes_containers_only_when_the_engine_can_provide_the_image(
    engine: Engine, image: str
) -> None:
    assert choose_backend("auto", HOST, image).backend == "container"
    missing = choose_backend("auto", HOST, "runbook/absent:0")
    assert missing.backend == "embedded"
    assert missing.reason.startswith(f"Docker {engine.version} answers, but it has no image")
    assert missing.line.startswith("PostgreSQL: the embedded cluster, not containers: Docker")


@pytest.mark.needs_docker
def test_a_container_runs_the_drill_settings_on_loopback_and_is_removed(
    engine: Engine, image: str
) -> None:
    run_id = "test-settings"
    with container_server(HOST, image, run_id) as server, server.connect() as conn:
        settings = conn.execute(
            "SELECT current_setting('shared_preload_libraries'), current_setting('fsync'),"
            " current_setting('max_connections')"
        ).fetchone()
        assert settings == ("pg_stat_statements", "off", "60")
        assert (server.backend, server.extras["image"]) == ("container", image)
        if engine.local:
            assert server.host == "127.0.0.1"
        assert len(_left(run_id)) == 1
        owner = container_ids(HOST, {LABEL_RUN: run_id, LABEL_OWNER: str(os.getpid())})
        assert owner == [server.extras["container_id"]]
    assert _left(run_id) == []


@pytest.mark.needs_docker
def test_a_throwaway_container_goes_alone_and_the_sessions_stays(
    engine: Engine, image: str
) -> None:
    """A scenario's throwaway server and the session's server share the run and the process:
    the throwaway's cleanup must not take the session's server with it."""
    run_id = "test-nested"
    with container_server(HOST, image, run_id) as session:
        with container_server(HOST, image, run_id) as throwaway:
            assert kill_server(throwaway)
        assert _left(run_id) == [session.extras["container_id"][:12]]
        with session.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _left(run_id) == []


@pytest.mark.needs_docker
def test_a_failure_in_the_session_still_removes_its_container(engine: Engine, image: str) -> None:
    run_id, seen = "test-failure", []

    def session() -> None:
        with container_server(HOST, image, run_id):
            seen.extend(_left(run_id))
            raise RuntimeError("scenario broke")

    with pytest.raises(RuntimeError, match="scenario broke"):
        session()
    assert len(seen) == 1
    assert _left(run_id) == []


@pytest.mark.needs_docker
def test_a_killed_container_server_comes_back_with_its_data_on_the_same_port(
    engine: Engine,
    image: str,
) -> None:
    with container_server(HOST, image, "test-kill") as server:
        with server.connect() as conn:
            conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")
            conn.execute("CHECKPOINT")  # synchronous_commit=off: a crash may lose the last commit
        kill_and_restart(server)
        with server.connect() as conn:
            assert conn.execute("SELECT answer FROM kept").fetchone() == (42,)
        # the monitoring drill's outage, on the container: down from minute 1, back at minute 3
        database = server.create_database("outage")
        assert signals.database_outage(server, database, 1, 3, minutes=4) == [1, 0, 0, 1, 1]


@pytest.mark.needs_docker
def test_the_container_of_a_killed_run_is_reaped_at_the_next_start(
    engine: Engine, image: str
) -> None:
    run_id = "test-orphan"
    code = (
        "import time\nfrom runbook_lib.world.postgres import container_server\n"
        f"with container_server({HOST!r}, {image!r}, {run_id!r}):\n"
        "    print('up', flush=True)\n    time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=_env(image)
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "up"
    child.kill()  # SIGKILL: no cleanup runs in the child
    child.wait(timeout=30)
    child.stdout.close()
    orphans = _left(run_id)
    assert len(orphans) == 1  # left behind, as a crash leaves it
    assert [o[:12] for o in orphans] == reap_orphans(HOST)
    assert _left(run_id) == []


@pytest.mark.needs_docker
def test_the_image_keeps_the_official_images_contract(engine: Engine, image: str) -> None:
    """POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB make the role, its password (required
    from any address) and the database; without a password the container refuses to start."""
    env = {**os.environ, "DOCKER_HOST": HOST, "PGPASSWORD": "s3cret pass", "WRONG": "nope"}
    label = f"{LABEL_RUN}=test-contract"
    started = subprocess.run(
        ["docker", "run", "-d", "--label", label, "-e", "POSTGRES_USER=alice",
         "-e", "POSTGRES_PASSWORD=s3cret pass", "-e", "POSTGRES_DB=books", image],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout.strip()  # fmt: skip
    refused = subprocess.run(
        ["docker", "run", "-d", "--label", label, image],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout.strip()  # fmt: skip

    def login(password_variable: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "exec", "-e", f"PGPASSWORD={env[password_variable]}", started, "psql",
             "-h", "127.0.0.1", "-U", "alice", "-d", "books", "-tAc",
             "SELECT current_user || ' ' || current_database()"],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip

    try:
        deadline = time.monotonic() + 60
        while (done := login("PGPASSWORD")).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.stdout.strip() == "alice books", done.stderr
        wrong = login("WRONG")
        assert wrong.returncode != 0
        assert "password authentication failed" in wrong.stderr
        state = subprocess.run(
            ["docker", "wait", refused], capture_output=True, text=True, env=env, timeout=60
        )
        assert state.stdout.strip() == "1"
    finally:
        subprocess.run(
            ["docker", "rm", "-f", started, refused], capture_output=True, env=env, timeout=60
        )


@pytest.mark.needs_docker
def test_the_backup_and_recovery_drills_run_green_on_containers(
    engine: Engine, image: str, tmp_path: Path
) -> None:
    """The whole backup & recovery feature on containers, two workers, through `runbook drill`
    (the server killed in the middle of a restore is a throwaway container of the run)."""
    report = tmp_path / f"run-{tmp_path.name}"  # the containers' label: unique per test
    done = subprocess.run(
        _drill("--only", "backup_recovery", "--pg", "container", "-n", "2", report=report),
        capture_output=True, text=True, timeout=900, check=False, cwd=ROOT, env=_env(image),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    run = json.loads((report / "evidence.json").read_text())["run"]
    assert run["postgres_backend"] == f"container ({image})"
    assert run["complete"]
    assert _left(report.name) == []


@pytest.mark.needs_docker
def test_a_failing_drill_removes_its_containers(engine: Engine, image: str, tmp_path: Path) -> None:
    guide = edited_guide(
        tmp_path, [(RECOVERY_COMMAND, RECOVERY_COMMAND.replace("-d napoleon_ai", "-d nobody_db"))]
    )
    report = tmp_path / f"run-{tmp_path.name}"  # the containers' label: unique per test
    args = ("--only", "backup_recovery", "-k", "customformat", "--guide", str(guide))
    done = subprocess.run(
        _drill(*args, "--pg", "container", "-n", "0", report=report),
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT, env=_env(image),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "FAIL" in done.stdout
    assert _left(report.name) == []


@pytest.mark.needs_docker
def test_ctrl_c_removes_every_workers_container(engine: Engine, image: str, tmp_path: Path) -> None:
    report = tmp_path / f"run-{tmp_path.name}"  # the containers' label: unique per test
    drill = subprocess.Popen(
        _drill("--only", "backup_recovery", "--pg", "container", "-n", "2", report=report),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=_env(image),
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while len(_left(report.name)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_left(report.name)) == 2, "both workers should have started a container"
        os.killpg(drill.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
        assert drill.wait(timeout=180) != 0
    finally:
        if drill.poll() is None:
            os.killpg(drill.pid, signal.SIGKILL)
    assert _left(report.name) == []


@pytest.mark.needs_docker
def test_auto_falls_back_to_the_embedded_cluster_with_one_line(
    engine: Engine, image: str, tmp_path: Path
) -> None:
    """An engine that answers but cannot provide the image (no registry reachable, no such
    image): the drill runs on the embedded cluster and says why, once, before any scenario."""
    report = tmp_path / f"run-{tmp_path.name}"  # the containers' label: unique per test
    done = subprocess.run(
        _drill("--only", "backup_recovery", "-k", "logical_backup_lands", "-n", "2", report=report),
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT,
        env=_env("runbook/absent:0", RUNBOOK_PG="auto"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("PostgreSQL: ")]
    assert len(lines) == 1
    assert "the embedded cluster, not containers" in lines[0]
    assert "no image runbook/absent:0" in lines[0]
    run = json.loads((report / "evidence.json").read_text())["run"]
    assert run["postgres_backend"].startswith("embedded; --pg auto: Docker ")
    assert "runbook/absent:0" in run["postgres_backend"]
