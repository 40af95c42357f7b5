"""The buckets as the guide promises them, read back through the S3 API (guide: Security
Procedures > Access Management and Compliance; Recovery Time Objectives (RTO), File Storage).

What a bucket must be is read from the parsed guide, never typed here; what the guide does not
promise or imply is not checked:

=============================================  ==============  ======================================
the guide says                                 of              required, and read with
=============================================  ==============  ======================================
User Data: Encrypted **at rest** ...           both buckets    default encryption (GetBucketEncryption)
User Data: ... **and in transit**              both buckets    a policy denying requests without TLS
                                                               (``aws:SecureTransport`` false)
Production Access: **Limited** to ...          both buckets    all four public access block settings
                                                               (nobody on the internet is allowed)
GDPR: Data **retention** and deletion ...      backup bucket   an enabled lifecycle rule that expires
                                                               objects (copies are not kept forever)
the **File Storage** row's RPO                 both buckets    versioning enabled: a file overwritten
                                                               or deleted after the last dated copy,
                                                               or a day's copy a second sync rewrote,
                                                               keeps its previous version
=============================================  ==============  ======================================

:func:`read_posture` makes only ``Get*`` calls; :func:`refuse_writes` makes a client refuse any
other before it is sent (what a live check runs with). :func:`keep` is the hardening an
operator applies to make a bucket keep one promise (how a simulated target is arranged).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from runbook_lib.errors import ProcedureFailed, ServiceError
from runbook_lib.guide.model import Guide, Statement
from runbook_lib.procedures.backup_recovery.storage import Buckets
from runbook_lib.procedures.security.encryption import deny_insecure_transport_policy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Property = Literal[
    "encrypted at rest",
    "refuses requests without TLS",
    "public access blocked",
    "expires old objects",
    "versioned",
]
PUBLIC_ACCESS_BLOCK = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)
READ_ONLY_PREFIXES = ("Get", "List", "Head")
# what S3 answers for a setting the bucket does not have (as opposed to a refusal)
NOT_SET = {
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchBucketPolicy",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchLifecycleConfiguration",
}


@dataclass(frozen=True)
class Promise:
    """One thing the guide promises (or implies) of one bucket, with the guide's words."""

    bucket: str
    property: Property
    because: str  # "Access Management, User Data: Encrypted at rest and in transit (line 173)"


@dataclass(frozen=True)
class BucketPosture:
    """What S3 says of one bucket's configuration."""

    bucket: str
    encryption: str | None  # the default SSE algorithm; None: no default encryption
    denies_plain_http: bool  # its policy denies requests without TLS
    public_access_block: tuple[str, ...]  # the settings that are on
    versioning: str  # "Enabled", "Suspended", or "" (never enabled)
    expiring_rules: tuple[str, ...]  # enabled lifecycle rules that expire objects (their IDs)


def _said(statement: Statement) -> str:
    return f"{statement.section}, {statement.label}: {statement.text} (line {statement.line})"


def promises(guide: Guide, buckets: Buckets) -> tuple[Promise, ...]:
    """What the guide promises of the storage and backup buckets (see the module's table)."""
    both = (buckets.storage, buckets.backup)
    found: list[Promise] = []

    def add(names: tuple[str, ...], prop: Property, because: str) -> None:
        found.extend(Promise(name, prop, because) for name in names)

    for statement in guide.statements_in("Access Management"):
        text = statement.text.lower()
        if statement.label == "User Data" and "at rest" in text:
            add(both, "encrypted at rest", _said(statement))
        if statement.label == "User Data" and "in transit" in text:
            add(both, "refuses requests without TLS", _said(statement))
        if statement.label == "Production Access" and "limited" in text:
            add(both, "public access blocked", _said(statement))
    for statement in guide.statements_in("Compliance"):
        if statement.label == "GDPR" and "retention" in statement.text.lower():
            add((buckets.backup,), "expires old objects", _said(statement))
    storage = [o for o in guide.recovery_objectives if o.component == "File Storage"]
    for row in storage:
        because = f"Recovery Time Objectives, File Storage RPO {row.rpo_seconds / 3600:g} h (line {row.line})"
        add(both, "versioned", because)
    return tuple(found)


def _read(s3: S3Client, bucket: str, what: str, call: Callable[[], Any]) -> Any:
    """``call()``'s answer, or None when the bucket has no such setting; a refusal (no access,
    no bucket) is a ServiceError naming the bucket and S3's code."""
    try:
        return call()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in NOT_SET:
            return None
        raise ServiceError(
            f"S3 refused to read {what} of bucket {bucket}: {code or exc}; the drill's "
            "credentials need s3:GetBucket* on the target's buckets",
            exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        ) from None


def read_posture(s3: S3Client, bucket: str) -> BucketPosture:
    """The bucket's encryption, TLS policy, public access block, versioning and lifecycle."""
    encryption = _read(
        s3, bucket, "the encryption", lambda: s3.get_bucket_encryption(Bucket=bucket)
    )
    rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithm = next(
        (
            str(r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])
            for r in rules
            if r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
        ),
        None,
    )
    policy = _read(s3, bucket, "the policy", lambda: s3.get_bucket_policy(Bucket=bucket))
    statements = json.loads(policy["Policy"]).get("Statement", []) if policy else []
    denies_plain = any(
        st.get("Effect") == "Deny"
        and str(st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport", "")).lower()
        == "false"
        for st in (statements if isinstance(statements, list) else [statements])
    )
    block = _read(
        s3, bucket, "the public access block", lambda: s3.get_public_access_block(Bucket=bucket)
    )
    settings = (block or {}).get("PublicAccessBlockConfiguration", {})
    versioning = _read(s3, bucket, "versioning", lambda: s3.get_bucket_versioning(Bucket=bucket))
    lifecycle = _read(
        s3,
        bucket,
        "the lifecycle",
        lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket),
    )
    expiring = tuple(
        str(rule.get("ID", f"rule {index + 1}"))
        for index, rule in enumerate((lifecycle or {}).get("Rules", []))
        if rule.get("Status") == "Enabled" and rule.get("Expiration")
    )
    return BucketPosture(
        bucket,
        algorithm,
        denies_plain,
        tuple(name for name in PUBLIC_ACCESS_BLOCK if settings.get(name)),
        str((versioning or {}).get("Status", "")),
        expiring,
    )


def broken(promise: Promise, posture: BucketPosture) -> str | None:
    """Why ``posture`` breaks ``promise`` (None: it keeps it)."""
    name = promise.bucket
    if promise.property == "encrypted at rest" and posture.encryption is None:
        return f"{name} has no default encryption"
    if promise.property == "refuses requests without TLS" and not posture.denies_plain_http:
        return f"{name}'s policy does not deny requests without TLS (aws:SecureTransport)"
    if promise.property == "public access blocked":
        off = [s for s in PUBLIC_ACCESS_BLOCK if s not in posture.public_access_block]
        if off:
            return f"{name} can be made public: public access block {', '.join(off)} off"
    if promise.property == "expires old objects" and not posture.expiring_rules:
        return f"{name} has no enabled lifecycle rule that expires objects"
    if promise.property == "versioned" and posture.versioning != "Enabled":
        return f"{name} is not versioned (versioning {posture.versioning or 'never enabled'})"
    return None


def keep(s3: S3Client, promise: Promise, retention_days: int = 90) -> None:
    """Harden ``promise.bucket`` so it keeps ``promise`` (an operator's fix, one setting)."""
    bucket = promise.bucket
    if promise.property == "encrypted at rest":
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
    elif promise.property == "refuses requests without TLS":
        s3.put_bucket_policy(Bucket=bucket, Policy=deny_insecure_transport_policy(bucket))
    elif promise.property == "public access blocked":
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    elif promise.property == "expires old objects":
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "backup-retention",
                        "Filter": {"Prefix": ""},
                        "Status": "Enabled",
                        "Expiration": {"Days": retention_days},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": retention_days},
                    }
                ]
            },
        )
    else:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def refuse_writes(s3: S3Client) -> None:
    """From now on ``s3`` refuses, before sending, every operation that is not a read."""

    def guard(model: Any, **_: object) -> None:
        if not str(model.name).startswith(READ_ONLY_PREFIXES):
            raise ProcedureFailed(
                f"a live check tried S3 {model.name}: live checks only read (Get, List, Head)"
            )

    s3.meta.events.register("before-call.s3", guard)
