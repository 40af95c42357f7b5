"""Game days: the fault catalogue, and faults applied to a whole drill run.

``runbook drill --fault NAME`` runs every drill with one fault active across the simulated
world. A fault expected to be *detected* passes the game day when at least one scenario fails
because of it (the drills noticed); a fault expected to be *survived* passes when every scenario
still passes (the procedures absorbed it). The per-scenario faults the drills inject themselves
(corrupted dumps, a killed server, ...) are listed too, with the scenarios that use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from runbook_lib.drill import faults
from runbook_lib.errors import ConfigurationError
from runbook_lib.sim.cloud import SimulatedCloud


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str
    expected: Literal["detected", "survived"]
    run_wide: bool  # usable with `runbook drill --fault`


CATALOGUE: tuple[Fault, ...] = (
    Fault(
        "s3-throttling",
        "S3 answers 503 SlowDown to the first two uploads of every client",
        "survived",
        True,
    ),
    Fault(
        "supabase-outage",
        "the Supabase Management API answers 503 to every request",
        "detected",
        True,
    ),
    Fault("vercel-builds-fail", "every new Vercel deployment fails its build", "detected", True),
    Fault(
        "slack-webhook-revoked",
        "the Slack #incidents webhook is revoked (404 no_service)",
        "detected",
        True,
    ),
    Fault("statuspage-down", "the status page API answers 503 to every request", "detected", True),
    Fault(
        "corrupted-dump",
        "bytes flipped in a stored database backup (backup_recovery)",
        "detected",
        False,
    ),
    Fault(
        "truncated-dump",
        "a stored database backup cut in half (backup_recovery)",
        "detected",
        False,
    ),
    Fault(
        "lossy-restore",
        "a restore silently loses rows or a table (backup_recovery)",
        "detected",
        False,
    ),
    Fault(
        "server-killed",
        "PostgreSQL killed in the middle of a restore (backup_recovery)",
        "detected",
        False,
    ),
    Fault(
        "storage-object-lost",
        "an object missing from the storage backup (backup_recovery)",
        "detected",
        False,
    ),
    Fault(
        "stray-grant", "a developer granted SELECT on production data (security)", "detected", False
    ),
    Fault(
        "share-lock",
        "a session holds a SHARE lock during an index build (performance_optimization)",
        "detected",
        False,
    ),
)


def fault(name: str) -> Fault:
    for candidate in CATALOGUE:
        if candidate.name == name:
            if not candidate.run_wide:
                raise ConfigurationError(
                    f"fault {name!r} is injected by its own scenarios; run-wide faults: "
                    + ", ".join(f.name for f in CATALOGUE if f.run_wide)
                )
            return candidate
    raise ConfigurationError(f"no fault named {name!r}; see `runbook faults`")


def apply_to_cloud(name: str | None, cloud: SimulatedCloud) -> None:
    if name == "supabase-outage":
        cloud.supabase.inject(503, times=10**9)
    elif name == "vercel-builds-fail":
        cloud.vercel.fail_all_builds = True
    elif name == "slack-webhook-revoked":
        cloud.slack.channels.clear()
    elif name == "statuspage-down":
        cloud.statuspage.inject(503, times=10**9)


def apply_to_s3(name: str | None, s3: Any) -> None:
    if name == "s3-throttling":
        faults.throttle_s3(s3, "PutObject", 2)


def verdict(expected: str, failed: int) -> bool:
    """True when the game day went as the catalogue says it should."""
    return failed > 0 if expected == "detected" else failed == 0
