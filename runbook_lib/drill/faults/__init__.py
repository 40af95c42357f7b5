"""The fault registry: every fault the drills inject on purpose, to prove each check catches the
broken world it guards, in one place.

Each :class:`Fault` has a name, what it breaks, the verdict it expects (*detected*: a check
fails because of it; *survived*: the procedures absorb it) and how it is applied, typed by what
it acts on, one module per kind of target:

- :mod:`.cloud`: the simulated Supabase, Vercel, Slack and status page APIs
- :mod:`.s3`: an S3 client (throttling), objects in a bucket (a lost object)
- :mod:`.dumps`: a database backup stored in the backup bucket
- :mod:`.database`: a database of the drill server, the session of an index build
- :mod:`.release`: a release going through the guide's deployment steps

Scenarios look a fault up by the words their feature uses for it (:func:`find`). Game days
(``runbook drill --fault NAME``) run every drill with one *run-wide* fault active across the
simulated world; :func:`verdict` says whether the drills reacted as the registry expects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook_lib.drill.faults import cloud, database, dumps, release, s3
from runbook_lib.drill.faults.base import Expected, Fault, find, verdict
from runbook_lib.drill.faults.database import Database, Session
from runbook_lib.drill.faults.s3 import Stored, Throttle
from runbook_lib.errors import ConfigurationError
from runbook_lib.sim.cloud import SimulatedCloud

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "CATALOGUE",
    "CLOUD",
    "DATABASE",
    "DUMPS",
    "RELEASE",
    "S3_LOSSES",
    "S3_THROTTLES",
    "SESSIONS",
    "Database",
    "Expected",
    "Fault",
    "Session",
    "Stored",
    "Throttle",
    "apply_to_cloud",
    "apply_to_s3",
    "find",
    "run_wide",
    "verdict",
]

CLOUD = cloud.FAULTS
S3_THROTTLES = s3.THROTTLES
S3_LOSSES = s3.LOSSES
DUMPS = dumps.FAULTS
DATABASE = database.FAULTS
SESSIONS = database.SESSIONS
RELEASE = release.FAULTS

CATALOGUE: tuple[Fault[Any, Any], ...] = (
    *CLOUD,
    *S3_THROTTLES,
    *S3_LOSSES,
    *DUMPS,
    *DATABASE,
    *SESSIONS,
    *RELEASE,
)


def run_wide(name: str) -> Fault[Any, Any]:
    """The fault ``runbook drill --fault NAME`` activates; refuses one only scenarios inject."""
    usable = ", ".join(f.name for f in CATALOGUE if f.run_wide)
    found = next((f for f in CATALOGUE if f.name == name), None)
    if found is None:
        raise ConfigurationError(
            f"no fault named {name!r}; run-wide faults: {usable} (all faults: `runbook faults`)"
        )
    if not found.run_wide:
        raise ConfigurationError(
            f"fault {name!r} is injected by its own scenarios; run-wide faults: {usable}"
        )
    return found


def apply_to_cloud(name: str | None, simulated: SimulatedCloud) -> None:
    """Break the simulated services as the run-wide fault ``name`` says (None: no game day)."""
    for fault in CLOUD:
        if fault.run_wide and fault.name == name:
            fault.apply(simulated)


def apply_to_s3(name: str | None, client: S3Client) -> None:
    """Break an S3 client as the run-wide fault ``name`` says (None: no game day)."""
    for fault in S3_THROTTLES:
        if fault.run_wide and fault.name == name:
            fault.apply(client)
