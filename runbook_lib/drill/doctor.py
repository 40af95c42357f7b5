"""``runbook doctor``: what this machine has for drills, and whether the default drill can run.

Read-only: it probes every entry of :data:`~runbook_lib.drill.requirements.REQUIREMENTS` and
installs nothing (``runbook setup`` does). The Docker rows report the engine (does it answer at
``DOCKER_HOST``, which version) and whether it has the container backend's image
(``RUNBOOK_PG_IMAGE``, default ``postgres:15``): without both, ``--pg auto`` runs the embedded
cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.drill.requirements import REQUIREMENTS, Requirement


@dataclass(frozen=True)
class Check:
    name: str
    found: bool
    detail: str
    required: bool  # the default drill cannot run without it
    fix: str = ""


def check(requirement: Requirement) -> Check:
    seen = requirement.probe()
    fix = requirement.fix if requirement.required else f"optional: {requirement.purpose}"
    return Check(requirement.name, seen.found, seen.detail, requirement.required, fix)


def run_checks() -> list[Check]:
    return [check(requirement) for requirement in REQUIREMENTS]


def default_drill_can_run(checks: list[Check]) -> bool:
    """Every required check passed; PostgreSQL binaries may be replaced by a Docker engine that
    has the container backend's image (``--pg auto`` then runs containers)."""
    docker = [c for c in checks if c.name.startswith("Docker")]
    docker_ok = bool(docker) and all(c.found for c in docker)
    return all(
        c.found or (docker_ok and c.name.startswith(("PostgreSQL", "unprivileged")))
        for c in checks
        if c.required
    )
