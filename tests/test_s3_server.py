"""The simulated S3 server: moto's protocol unchanged, and arranged objects visible over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from runbook_lib.errors import ConfigurationError
from runbook_lib.sim.s3 import MotoServer, put_objects


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    with MotoServer() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield boto3.client("s3", endpoint_url=server.endpoint)


def test_the_server_speaks_s3_with_moto_semantics(s3) -> None:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket="runbook-test-roundtrip")
    s3.put_object(Bucket="runbook-test-roundtrip", Key="a/b.bin", Body=b"payload")
    body = s3.get_object(Bucket="runbook-test-roundtrip", Key="a/b.bin")["Body"].read()
    assert body == b"payload"
    with pytest.raises(ClientError, match="NoSuchKey"):
        s3.get_object(Bucket="runbook-test-roundtrip", Key="missing")
    with pytest.raises(ClientError, match="NoSuchBucket"):
        s3.list_objects_v2(Bucket="runbook-test-no-such-bucket")


def test_arranged_objects_are_served_byte_for_byte(s3) -> None:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket="runbook-test-arranged")
    objects = {f"users/{i}/file.bin": bytes([i]) * (100 + i) for i in range(5)}
    assert put_objects("runbook-test-arranged", objects.items()) == 5
    listed = s3.list_objects_v2(Bucket="runbook-test-arranged")["Contents"]
    assert {o["Key"]: o["Size"] for o in listed} == {k: len(v) for k, v in objects.items()}
    for key, body in objects.items():
        served = s3.get_object(Bucket="runbook-test-arranged", Key=key)
        assert served["Body"].read() == body
        assert served["ETag"].strip('"') == hashlib.md5(body).hexdigest()


def test_arranging_into_a_missing_bucket_fails(s3) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match=r"runbook-test-never-created.*create it first"):
        put_objects("runbook-test-never-created", [("k", b"v")])


def test_a_stopped_server_refuses_connections() -> None:
    server = MotoServer()
    endpoint = server.start()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(endpoint, timeout=2)
    with pytest.raises(RuntimeError, match="start"):
        _ = server.endpoint
