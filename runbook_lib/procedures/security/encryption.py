"""User Data: Encrypted at rest and in transit (guide: Security Procedures > Access Management).

- S3: every bucket has default encryption and a bucket policy that denies requests without TLS
  (``aws:SecureTransport = false``); :func:`bucket_problems` reads both back through the API.
- PostgreSQL: :func:`tls_files` makes a self-signed certificate so a drill cluster can run with
  ``ssl = on`` and ``hostssl``-only access; :func:`connect_refusal` proves a plain connection is
  refused by actually trying one.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import psycopg
from botocore.exceptions import ClientError

from runbook_lib.world.clock import Clock
from runbook_lib.world.postgres import PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TLS_ONLY_HBA = """# TLS only: any non-TLS TCP connection is rejected
local   all   all                 trust
hostssl all   all   127.0.0.1/32  scram-sha-256
hostnossl all all   0.0.0.0/0     reject
"""


def deny_insecure_transport_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def harden_bucket(s3: S3Client, bucket: str) -> None:
    """Default encryption (SSE-S3, AES256) and a deny-non-TLS policy."""
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=deny_insecure_transport_policy(bucket))


def bucket_problems(s3: S3Client, bucket: str) -> list[str]:
    problems = []
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
        if not any(
            r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules
        ):
            problems.append(f"{bucket}: no default encryption algorithm")
    except ClientError as exc:
        problems.append(f"{bucket}: no default encryption ({exc.response['Error']['Code']})")
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError:
        policy = {"Statement": []}
    denies_plain = any(
        st.get("Effect") == "Deny"
        and str(st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport", "")).lower()
        == "false"
        for st in policy.get("Statement", [])
    )
    if not denies_plain:
        problems.append(f"{bucket}: the bucket policy does not deny requests without TLS")
    return problems


def tls_files(clock: Clock, host: str = "127.0.0.1") -> dict[str, bytes]:
    """A self-signed server certificate and key for the drill cluster (server.crt, server.key),
    valid for a day from ``clock``'s now (a wall clock: TLS clients check real time)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "napoleon-ai-drill")])
    now = clock.now()
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return {
        "server.crt": cert.public_bytes(serialization.Encoding.PEM),
        "server.key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    }


def connect_refusal(server: PostgresServer, sslmode: str) -> str | None:
    """None when a connection with ``sslmode`` works (and reports its TLS state), else the refusal."""
    try:
        with psycopg.connect(server.dsn().reveal(), sslmode=sslmode, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            ).fetchone()
            if sslmode != "disable" and not (row and row[0]):
                return "connected without TLS"
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[-1]
    return None
