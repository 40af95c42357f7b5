"""A staging as an SRE finds it on a good week, arranged in the simulations (what the weekly live
checks read, ``features/live_checks.feature``, when no live target answers for them).

- Supabase: point-in-time recovery on since the base backup a schedule interval ago, and the
  daily backup taken a few hours ago (:func:`arrange_backups`);
- Vercel: production deployments made through the REST client, each healthy, unhealthy (its
  domain answers 503) or failed (its build fails), oldest first (:func:`arrange_production`);
- S3: both buckets, each keeping every promise the guide makes of it (:func:`arrange_buckets`).

Each part takes what to break, so a test can arrange the same staging with one thing wrong and
see the check that reads it turn red. The arrangement writes; the checks that follow only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import httpx

from runbook_lib.errors import ProcedureFailed
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.procedures.deployment.vercel import Deployment, VercelClient
from runbook_lib.procedures.live_checks import ReadOnlyHttp, TargetServices, services
from runbook_lib.procedures.security import buckets as bucket_promises
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world.secrets import Secret

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Fate = Literal["healthy", "unhealthy", "failed"]
DAY = 86400.0


def arrange_backups(
    cloud: SimulatedCloud,
    *,
    pitr: bool = True,
    interval_seconds: float = DAY,
    newest_hours_ago: float = 3.0,
) -> None:
    """Two scheduled backups ``interval_seconds`` apart, the newest ``newest_hours_ago`` hours
    before the cloud's now; with ``pitr`` the first is PITR's base backup (WAL archived since)."""
    backend, ref, clock = cloud.supabase.backend, cloud.target.supabase_project, cloud.clock
    if pitr:
        backend.enable_pitr(ref)
    else:
        backend.take_daily_backup(ref)
    clock.advance(interval_seconds)
    backend.take_daily_backup(ref)
    clock.advance(newest_hours_ago * 3600)


def arrange_production(
    cloud: SimulatedCloud, client: VercelClient, fates: Sequence[Fate] = ("healthy", "healthy")
) -> list[Deployment]:
    """One production deployment per fate, oldest first, each waited for until it ends."""
    made = []
    for number, fate in enumerate(fates, start=1):
        if fate != "healthy":
            flag = "simulateUnhealthy" if fate == "unhealthy" else "simulateBuildFailure"
            cloud.vercel.doom("production", {flag: True})
        deployment = client.deploy("production", f"{number:040x}")
        try:
            made.append(client.wait_ready(deployment))
        except ProcedureFailed:
            if fate != "failed":
                raise
            made.append(client.get(deployment.id))
    return made


def arrange_buckets(
    s3: S3Client,
    guide: Guide,
    buckets: Buckets,
    skip: Sequence[tuple[str, str]] = (),
    uploads: int = 3,
) -> None:
    """Both buckets, ``uploads`` files in storage, and each bucket keeping every promise of the
    guide but those in ``skip`` ((bucket, property) pairs: the arranged mistake). The files go
    in first: a policy that denies plain HTTP refuses them afterwards, as S3 would."""
    for name in (buckets.storage, buckets.backup):
        s3.create_bucket(Bucket=name)
    for index in range(uploads):
        s3.put_object(Bucket=buckets.storage, Key=f"users/{index}/upload.bin", Body=b"x" * index)
    for promise in bucket_promises.promises(guide, buckets):
        if (promise.bucket, promise.property) not in skip:
            bucket_promises.keep(s3, promise)


def stand_in_services(cloud: SimulatedCloud, http: ReadOnlyHttp, s3: S3Client) -> TargetServices:
    """The weekly checks' view of the simulations standing in for ``cloud``'s target."""
    tokens = {
        "SUPABASE_ACCESS_TOKEN": Secret(cloud.credentials.supabase_access_token),
        "VERCEL_TOKEN": Secret(cloud.credentials.vercel_token),
    }
    return services(cloud.target, tokens, cloud.clock, http, s3, live=False)


def operator_vercel(cloud: SimulatedCloud, http: httpx.Client) -> VercelClient:
    """The client that arranges deployments (it writes: never the checks' own)."""
    return cloud.vercel_client(http)
