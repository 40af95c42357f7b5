"""Secrets never reach artifacts; a hermetic run cannot leave loopback; evidence records first."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from runbook_lib.errors import FindingConfirmed, HermeticViolation, ThresholdBreached
from runbook_lib.evidence.records import ScenarioEvidence, write_evidence
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world import shell
from runbook_lib.world.hermetic import hermetic, is_loopback
from runbook_lib.world.redact import Redactor
from tests.helpers import run_info


def test_registered_environment_and_pattern_secrets_are_masked() -> None:
    redactor = Redactor({"STRIPE_SECRET_KEY": "sk_live_verysecretvalue", "HOME": "/root"})
    redactor.register("sbp_0123456789abcdef")
    text = (
        "token sbp_0123456789abcdef key sk_live_verysecretvalue "
        "Authorization: Bearer abc.def.ghi123 dsn postgresql://postgres:pa55w0rd@127.0.0.1:5432/db"
    )
    cleaned = redactor.text(text)
    for secret in ("sbp_0123456789abcdef", "sk_live_verysecretvalue", "abc.def.ghi123", "pa55w0rd"):
        assert secret not in cleaned
    assert "postgresql://postgres:***@127.0.0.1" in cleaned


def test_a_command_is_masked_with_the_secrets_of_its_environment() -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DRILL_TOKEN": "tok-0123456789"}
    done = shell.run(["bash", "-c", 'echo "got $DRILL_TOKEN"'], env=env)
    assert done.stdout.strip() == "got ***"


def test_a_redactor_knows_only_the_secrets_registered_with_it() -> None:
    session, other = Redactor(), Redactor()
    token = SimulatedCloud(redactor=session).credentials.vercel_token
    assert (session.text(token), other.text(token)) == ("***", token)


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("192.0.2.1")
    assert not is_loopback("api.supabase.com")


def test_hermetic_guard_refuses_before_any_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
    with hermetic():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            with pytest.raises(HermeticViolation, match=r"192\.0\.2\.1:443"):
                sock.connect(("192.0.2.1", 443))
            sock.connect(("127.0.0.1", 9))
        finally:
            sock.close()
        with pytest.raises(HermeticViolation, match=r"api\.openai\.com"):
            socket.getaddrinfo("api.openai.com", 443)
    assert attempts == [("127.0.0.1", 9)]


def test_check_records_the_measurement_before_raising() -> None:
    evidence = ScenarioEvidence(name="s")
    evidence.check("restore seconds", 12.0, "<=", 900, "s")
    with pytest.raises(ThresholdBreached, match="restore seconds: 1000 s is not <= 900 s"):
        evidence.check("restore seconds", 1000.0, "<=", 900, "s")
    assert [m.passed for m in evidence.measurements] == [True, False]


def test_confirm_finding_records_and_raises_the_expected_type() -> None:
    evidence = ScenarioEvidence(name="s")
    with pytest.raises(FindingConfirmed):
        evidence.confirm_finding(
            "GUIDE-X", "Backups", "daily backups cannot meet a 1 h RPO", "24 h > 1 h"
        )
    assert evidence.findings[0].id == "GUIDE-X"


def test_written_evidence_is_redacted_and_complete(tmp_path: Path) -> None:
    redactor = Redactor()
    redactor.register("s3cr3t-token-value")
    record = ScenarioEvidence(
        feature="F", name="S", tags=("guide:database-backups", "control:SOC2-A1.2")
    )
    record.note("called with Bearer s3cr3t-token-value")
    record.status = "passed"
    run = run_info("r1")
    path = write_evidence(tmp_path, run, [record], redactor)
    text = path.read_text()
    assert "s3cr3t-token-value" not in text
    document = json.loads(text)
    assert document["scenarios"][0]["controls"] == ["SOC2-A1.2"]
    assert document["scenarios"][0]["guide_sections"] == ["database-backups"]
    assert not list(tmp_path.glob("*.partial"))


def test_a_value_recorded_without_an_objective_is_not_a_pass() -> None:
    """A 401 status or a row count is evidence of what was seen, never a "met" objective."""
    evidence = ScenarioEvidence(name="s")
    recorded = evidence.measure("listing status with the guide's credential", 401)
    assert recorded.passed is None
