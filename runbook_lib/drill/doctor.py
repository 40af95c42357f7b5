"""``runbook doctor``: what this machine has for drills, and whether the default drill can run."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata

from runbook_lib.errors import EnvironmentMissing
from runbook_lib.world.postgres import docker_available, find_bindir


@dataclass(frozen=True)
class Check:
    name: str
    found: bool
    detail: str
    required: bool  # the default drill cannot run without it
    fix: str = ""


def _version(argv: list[str]) -> str | None:
    if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "present"


def run_checks() -> list[Check]:
    checks = []
    try:
        bindir = find_bindir()
        version = _version([str(bindir / "pg_ctl"), "--version"]) or "unknown"
        checks.append(Check("PostgreSQL binaries", True, f"{version} in {bindir}", True))
        if os.geteuid() == 0:
            has_user = (
                subprocess.run(["id", "postgres"], capture_output=True, check=False).returncode == 0
            )
            checks.append(
                Check(
                    "unprivileged 'postgres' user (running as root)",
                    has_user,
                    "present" if has_user else "missing",
                    True,
                    "useradd -r postgres",
                )
            )
    except EnvironmentMissing as exc:
        checks.append(
            Check("PostgreSQL binaries", False, str(exc), True, "apt-get install postgresql")
        )
    docker = docker_available()
    checks.append(
        Check(
            "Docker daemon (--pg container)",
            docker,
            "answers" if docker else "not answering",
            False,
            "optional: the embedded backend is used without it",
        )
    )
    for name, argv, required, fix in (
        ("aws CLI", ["aws", "--version"], True, "pip install awscli"),
        ("git", ["git", "--version"], True, "apt-get install git"),
        (
            "npm",
            ["npm", "--version"],
            False,
            "optional: apt-get install npm (else `npm version` is emulated)",
        ),
        ("promtool", ["promtool", "--version"], False, "optional: apt-get install prometheus"),
    ):
        found = _version(argv)
        checks.append(Check(name, found is not None, found or "not found", required, fix))
    for dist in ("pytest-bdd", "moto", "respx", "hypothesis"):
        try:
            checks.append(Check(f"python: {dist}", True, metadata.version(dist), True))
        except metadata.PackageNotFoundError:
            checks.append(
                Check(f"python: {dist}", False, "not installed", True, "pip install -e '.[test]'")
            )
    return checks


def default_drill_can_run(checks: list[Check]) -> bool:
    """Every required check passed; PostgreSQL binaries may be replaced by a Docker daemon."""
    docker_ok = any(c.found for c in checks if c.name.startswith("Docker"))
    return all(
        c.found or (docker_ok and c.name.startswith(("PostgreSQL", "unprivileged")))
        for c in checks
        if c.required
    )
