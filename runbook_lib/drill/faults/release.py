"""Faults of a release (guide: Deployment Procedures): a commit that breaks the test suite or
the build, or a staging deployment that fails its build or its health check. Each acts on a
:class:`~runbook_lib.procedures.deployment.deploy.Release`."""

from __future__ import annotations

from runbook_lib.drill.faults.base import Fault
from runbook_lib.procedures.deployment.deploy import Release, set_script


def _tests_fail(release: Release) -> None:
    set_script(release.repo, "test:ci", 'node -e "process.exit(1)"')


def _build_fails(release: Release) -> None:
    set_script(release.repo, "build", "node -e \"console.error('Type error'); process.exit(1)\"")


def _staging_build_fails(release: Release) -> None:
    release.faults.update(staging={"simulateBuildFailure": True})


def _staging_unhealthy(release: Release) -> None:
    release.faults.update(staging={"simulateUnhealthy": True})


FAULTS: tuple[Fault[Release, None], ...] = (
    Fault(
        "failing-tests",
        "the release commit makes `npm run test:ci` exit 1",
        "detected",
        _tests_fail,
        says="the test suite fails",
    ),
    Fault(
        "failing-build",
        "the release commit makes `npm run build` fail with a type error",
        "detected",
        _build_fails,
        says="the build fails",
    ),
    Fault(
        "staging-build-fails",
        "the release's staging deployment fails its Vercel build",
        "detected",
        _staging_build_fails,
        says="the staging build fails",
    ),
    Fault(
        "staging-unhealthy",
        "the release's staging deployment answers unhealthy",
        "detected",
        _staging_unhealthy,
        says="the staging deployment is unhealthy",
    ),
)
