"""Secrets never reach artifacts; a hermetic run cannot leave loopback; evidence records first."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import socket
from pathlib import Path
from urllib.parse import quote

import pytest

from runbook_lib.drill.options import Settings
from runbook_lib.errors import (
    FindingConfirmed,
    HermeticViolation,
    NotRunnable,
    ProcedureFailed,
    ThresholdBreached,
)
from runbook_lib.evidence.records import ScenarioEvidence, write_evidence
from runbook_lib.procedures.performance_optimization import database as performance
from runbook_lib.sim.cloud import SimulatedCloud
from runbook_lib.world import capabilities, shell
from runbook_lib.world.hermetic import hermetic, is_loopback
from runbook_lib.world.postgres import PostgresServer
from runbook_lib.world.redact import Redactor
from runbook_lib.world.secrets import Secret, masked_url
from runbook_lib.world.targets import SIMULATED
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


CANARY = "C4n4ry@pw+/x"  # needs percent-encoding in a DSN


def _server(backend: str = "dsn") -> PostgresServer:
    return PostgresServer(backend, "127.0.0.1", 5432, "drill", Secret(CANARY), Path("/x"), "15")


def test_a_secret_prints_masked_in_every_form_and_is_revealed_only_on_request() -> None:
    held = Secret(CANARY)
    for printed in (repr(held), str(held), f"{held}", f"{held!r}", f"{held:>20}", str([held])):
        assert CANARY not in printed
    assert held.reveal() == CANARY
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(held)
    assert masked_url("postgresql://u:p%40ss@h:5/db") == "postgresql://u:***@h:5/db"


def test_objects_holding_credentials_print_no_secret_in_repr_or_assertion() -> None:
    """The issue's leak: a traceback's repr of PostgresServer showed the DSN password."""
    server = _server()
    settings = Settings.from_environ({"RUNBOOK_PG_DSN": server.dsn().reveal()})
    target = dataclasses.replace(
        SIMULATED, postgres_dsn=server.dsn(), credentials={"VERCEL_TOKEN": Secret(CANARY)}
    )
    cloud = SimulatedCloud(redactor=Redactor())
    printed = [repr(server), str(server.dsn()), server.url(), repr(settings), repr(target)]
    printed.append(repr(cloud.credentials))
    encoded = quote(CANARY, safe="")
    assert all(CANARY not in p and encoded not in p for p in printed), printed
    assert cloud.credentials.vercel_token not in repr(cloud.credentials)
    assert encoded in server.dsn().reveal()  # the client still gets it, percent-encoded
    with pytest.raises(AssertionError) as failed:
        assert server == _server("embedded")
    assert CANARY not in str(failed.value)


def test_a_redactor_masks_dsn_passwords_in_both_spellings_and_whole_structures_at_once() -> None:
    dsn = f"postgresql://drill:{quote(CANARY, safe='')}@db:5432/app"
    redactor = Redactor({"RUNBOOK_STAGING_PG_DSN": dsn, "SLACK_WEBHOOK_URL": "https://h/T/B/xyzw"})
    document = {"a": [f"raw {CANARY}", ("url " + dsn, 3)], "b": {"c": "https://h/T/B/xyzw"}}
    masked = json.dumps(redactor.data(document))
    assert CANARY not in masked, masked
    assert quote(CANARY, safe="") not in masked, masked
    assert "xyzw" not in masked
    assert redactor.texts(["a\0b", CANARY]) == ["a\0b", "***"]  # a NUL cannot confuse the batch


def test_a_missing_capability_is_not_runnable_only_on_a_server_the_drill_does_not_own() -> None:
    """pg_stat_statements not preloaded (SQLSTATE 55000) says nothing about the guide: on a
    shared server the scenario is not runnable, naming it; on the drill's own server it is the
    drill's defect and stays a failure; the renamed column (42703) stays the guide's finding."""
    not_loaded = performance.SqlOutcome(
        "SELECT 1", "pg_stat_statements must be loaded via shared_preload_libraries", (), "55000"
    )
    with pytest.raises(NotRunnable) as refused:
        performance.renamed_column_or_fail(not_loaded, _server("dsn"))
    assert refused.value.capability == capabilities.PG_STAT_STATEMENTS
    with pytest.raises(ProcedureFailed, match="SQLSTATE 55000"):
        performance.renamed_column_or_fail(not_loaded, _server("embedded"))
    renamed = performance.SqlOutcome("SELECT", 'column "mean_time" does not exist', (), "42703")
    assert performance.renamed_column_or_fail(renamed, _server("dsn")) == "mean_time"
    denied = capabilities.refusal(_server("dsn"), "42501", "permission denied for table users")
    assert denied is not None
    assert "permission denied for table users" in denied.capability
    assert capabilities.refusal(_server("embedded"), "42501", "permission denied") is None


def test_a_sentence_about_a_token_keeps_its_words() -> None:
    """The Vercel CLI's "The token provided via VERCEL_TOKEN ..." is quoted in findings: the
    keyword pattern must not star ordinary words, yet still mask a credential after it."""
    redactor = Redactor()
    assert redactor.text("The token provided via VERCEL_TOKEN is invalid") == (
        "The token provided via VERCEL_TOKEN is invalid"
    )
    assert redactor.text("Authorization: Bearer sbp_4f3a9c") == "Authorization: Bearer ***"
    assert redactor.text("OAuth " + "x" * 24) == "OAuth ***"
