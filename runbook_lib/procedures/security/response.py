"""Security Incident Response (guide: Security Procedures > Security Incident Response).

The guide's four phases run in its order; a phase cannot start before the previous one ended.
"Preserve evidence" is real: a ``pg_dump`` snapshot of the database and the application logs
go to a versioned, object-locked (COMPLIANCE mode) evidence bucket, so nobody, not even an
administrator, can delete or overwrite them before the retention date. Remediation is refused
until that evidence exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from runbook_lib.errors import ProcedureFailed
from runbook_lib.guide.model import Guide, Phase
from runbook_lib.procedures.backup_recovery.backup import take_logical_backup
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

EVIDENCE_BUCKET = "napoleon-ai-security-evidence"
RETENTION_DAYS = 365


@dataclass(frozen=True)
class PreservedObject:
    key: str
    version_id: str
    sha256: str
    retain_until: datetime


@dataclass
class SecurityResponse:
    guide: Guide
    completed: list[str] = field(default_factory=list)
    evidence: list[PreservedObject] = field(default_factory=list)

    @property
    def phases(self) -> tuple[Phase, ...]:
        return self.guide.security_phases

    def start(self, phase_name: str) -> Phase:
        """Begin a phase; refused when an earlier phase has not been completed."""
        names = [p.name for p in self.phases]
        if phase_name not in names:
            raise ProcedureFailed(
                f"the guide has no security phase {phase_name!r}; phases: {', '.join(names)}"
            )
        expected = names[len(self.completed)] if len(self.completed) < len(names) else None
        if phase_name != expected:
            raise ProcedureFailed(
                f"phase {phase_name!r} cannot start: the guide's order requires {expected!r} first"
            )
        if phase_name.lower().startswith("remediation") and not self.evidence:
            raise ProcedureFailed(
                "remediation refused: no evidence was preserved (Immediate Actions: Preserve evidence)"
            )
        return self.phases[len(self.completed)]

    def complete(self, phase_name: str) -> None:
        self.start(phase_name)
        self.completed.append(phase_name)

    def preserve_evidence(
        self,
        s3: S3Client,
        server: PostgresServer,
        database: str,
        logs: dict[str, bytes],
        workdir: Path,
        now: datetime,
    ) -> list[PreservedObject]:
        """Snapshot the database and copy the logs into the locked evidence bucket."""
        ensure_evidence_bucket(s3)
        snapshot = take_logical_backup(server, database, workdir, now)
        stamp = f"{now:%Y%m%dT%H%M%SZ}"
        until = now + timedelta(days=RETENTION_DAYS)
        items = {f"{stamp}/database/{snapshot.path.name}": snapshot.path.read_bytes()}
        items.update({f"{stamp}/logs/{name}": body for name, body in logs.items()})
        for key, body in items.items():
            answer = s3.put_object(
                Bucket=EVIDENCE_BUCKET,
                Key=key,
                Body=body,
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=until,
                ChecksumAlgorithm="SHA256",
            )
            self.evidence.append(PreservedObject(key, answer["VersionId"], _sha256(body), until))
        return self.evidence


def ensure_evidence_bucket(s3: S3Client) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if EVIDENCE_BUCKET not in existing:
        s3.create_bucket(Bucket=EVIDENCE_BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_bucket_versioning(Bucket=EVIDENCE_BUCKET, VersioningConfiguration={"Status": "Enabled"})


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def deletion_refused(s3: S3Client, item: PreservedObject) -> bool:
    """Try to delete a preserved version, as an attacker with admin rights would; True if refused."""
    from botocore.exceptions import ClientError

    try:
        s3.delete_object(Bucket=EVIDENCE_BUCKET, Key=item.key, VersionId=item.version_id)
    except ClientError:
        return True
    return False
