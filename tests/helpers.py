"""Helpers shared by the tests: running the CLI, leftover clusters, run metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

from runbook_lib.evidence.records import RunInfo
from runbook_lib.world.postgres import (
    PostgresServer,
    cluster_parent,
    kill_server,
    pid_alive,
    restart_server,
)


def all_clusters() -> set[Path]:
    parents = {cluster_parent(), Path(tempfile.gettempdir())}
    return {path for parent in parents for path in parent.glob("runbook-pg-*")}


def leftover_clusters() -> set[Path]:
    """Cluster directories whose owning process is gone or is this test process (another drill
    running on the machine at the same time owns its own, live ones)."""
    found = set()
    for path in all_clusters():
        try:
            owner = int((path / "runbook-owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not pid_alive(owner) or owner == os.getpid():
            found.add(path)
    return found


def run_info(
    run_id: str = "run",
    game_day_fault: str | None = None,
    guide_sections: dict[str, str] | None = None,
) -> RunInfo:
    """Run metadata for tests that write evidence without running a drill."""
    return RunInfo(
        run_id,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
        "abc",
        False,
        "g.md",
        "sha",
        "embedded",
        "15.18",
        "simulated",
        game_day_fault,
        {"runbook-lib": "0.1.0"},
        "Linux",
        guide_sections=guide_sections or {},
    )


ROOT = Path(__file__).resolve().parent.parent


def child_environ() -> dict[str, str]:
    """This environment without pytest's own variables, for a child drill or CLI run."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def runbook(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`runbook ARGS` in a child process from the repository root; ``env`` adds variables."""
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.drill.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env={**child_environ(), **(env or {})},
    )


def child_drill(
    *args: str,
    evidence_dir: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """One serial child drill (pytest on the packaged scenarios, embedded PostgreSQL unless
    ``args`` say otherwise) writing ``evidence_dir``; the run and its evidence.json."""
    from runbook_lib.paths import SCENARIOS

    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(SCENARIOS), "-q", "-p", "no:randomly"),
            *("-n", "0", "--pg=embedded", *args, f"--evidence-dir={evidence_dir}"),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env=env if env is not None else child_environ(),
    )
    written = evidence_dir / "evidence.json"
    assert written.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    document: dict[str, Any] = json.loads(written.read_text())
    return done, document


def edited_guide(directory: Path, edits: Sequence[tuple[str, str]]) -> Path:
    """The default guide with ``edits`` (old, new) made, each exactly once, written to
    ``directory``; it still parses."""
    from runbook_lib.drill.mutations.base import edited
    from runbook_lib.guide.model import load_guide
    from runbook_lib.paths import DEFAULT_GUIDE

    path = directory / "guide.md"
    path.write_text(edited(DEFAULT_GUIDE.read_text(encoding="utf-8"), tuple(edits), "the guide"))
    load_guide(path)
    return path


def s3_client(endpoint: str, key_id: str = "AKIATESTS00000000001", secret: str = "x") -> Any:
    """A boto3 S3 client of ``endpoint`` (a moto server) with these credentials, us-east-1."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )


def kill_and_restart(server: PostgresServer) -> None:
    """SIGKILL ``server``: it refuses connections until :func:`restart_server` brings it back."""
    assert kill_server(server)
    time.sleep(0.3)
    with pytest.raises(psycopg.OperationalError):
        server.connect().close()
    restart_server(server)
