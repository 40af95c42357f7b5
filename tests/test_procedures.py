"""Unit tests of the backup, restore, verification, storage and objective procedures."""

from __future__ import annotations

import httpx
import pytest
import respx

from runbook_lib.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ProcedureFailed,
    ServiceError,
)
from runbook_lib.guide.model import load_guide, schedule_interval
from runbook_lib.paths import DEFAULT_CONFIG_DIR
from runbook_lib.procedures.backup_recovery.backup import parse_curl
from runbook_lib.procedures.backup_recovery.restore import MappedCommand, map_connection
from runbook_lib.procedures.backup_recovery.storage import ObjectInfo, compare_copies
from runbook_lib.procedures.backup_recovery.verify import Fingerprint, TableFingerprint, differences
from runbook_lib.procedures.production_sizes import parse_size
from runbook_lib.procedures.recovery_objectives import predict_restore
from runbook_lib.world.clock import VirtualClock
from runbook_lib.world.http import ApiClient
from runbook_lib.world.postgres import PostgresServer

GUIDE = load_guide()
SERVER = PostgresServer(
    "embedded",
    "127.0.0.1",
    54321,
    "postgres",
    "pw",
    __import__("pathlib").Path("/usr/lib/postgresql/15/bin"),
    "15.18",
)


def test_the_guides_curl_is_read_as_written() -> None:
    request = parse_curl(
        GUIDE.command("curl", GUIDE.backup_commands).text,
        {"PROJECT_ID": "abc", "SUPABASE_SERVICE_ROLE_KEY": "srk"},
    )
    assert request.method == "POST"
    assert request.url == "https://api.supabase.com/v1/projects/abc/backups"
    assert request.headers == {"Authorization": "Bearer srk"}
    assert request.placeholders == ("PROJECT_ID", "SUPABASE_SERVICE_ROLE_KEY")


def test_a_missing_placeholder_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="SUPABASE_SERVICE_ROLE_KEY"):
        parse_curl(GUIDE.command("curl", GUIDE.backup_commands).text, {"PROJECT_ID": "abc"})


def test_only_the_connection_target_of_pg_restore_is_mapped() -> None:
    mapped = map_connection(GUIDE.command("pg_restore", GUIDE.recovery_commands).text, SERVER)
    assert mapped.argv[1:] == (
        "-h",
        "127.0.0.1",
        "-p",
        "54321",
        "-U",
        "postgres",
        "-d",
        "napoleon_ai",
        "backup.sql",
    )
    assert ("-h db.supabase.co", "-h 127.0.0.1 -p 54321") in mapped.mapping
    assert mapped.only_target_changed()
    tampered = MappedCommand(mapped.guide_text, (*mapped.argv[:-1], "other.dump"), mapped.mapping)
    assert not tampered.only_target_changed()


def _fingerprint(**tables: tuple[int, str]) -> Fingerprint:
    return Fingerprint(
        {k: TableFingerprint(*v) for k, v in tables.items()},
        "s",
        ("CREATE TABLE x",),
        {"users_id_seq": 10},
        frozenset({"users_pkey: ..."}),
        frozenset(),
        frozenset({"pg_stat_statements"}),
    )


def test_differences_name_the_table_and_what_differs() -> None:
    source = _fingerprint(users=(10, "a"), emails=(200, "b"), audit_log=(5, "c"))
    restored = _fingerprint(users=(10, "a"), emails=(180, "x"))
    found = differences(source, restored)
    assert "table audit_log is missing" in found
    assert "table emails has 180 rows, the source 200" in found
    same_count = _fingerprint(users=(10, "z"), emails=(200, "b"), audit_log=(5, "c"))
    assert differences(source, same_count) == [
        "table users has the same row count but different content"
    ]
    assert differences(source, source) == []


def test_differences_in_schema_sequences_and_indexes() -> None:
    source = _fingerprint(users=(1, "a"))
    restored = Fingerprint(
        source.tables,
        "t",
        ("CREATE TABLE y",),
        {"users_id_seq": 3},
        frozenset(),
        frozenset(),
        frozenset({"pg_stat_statements"}),
    )
    found = differences(source, restored)
    assert any(f.startswith("schema differs") for f in found)
    assert "sequence users_id_seq is at 3, the source at 10" in found
    assert "index missing: users_pkey: ..." in found


def test_storage_comparison_names_keys() -> None:
    source = {"a.bin": ObjectInfo(3, "x"), "b.bin": ObjectInfo(4, "y")}
    copy = {"a.bin": ObjectInfo(3, "z"), "c.bin": ObjectInfo(1, "w")}
    assert compare_copies(source, copy) == [
        "b.bin is missing from the copy",
        "c.bin is in the copy but not in the source",
        "a.bin differs (3 bytes vs 3)",
    ]
    assert compare_copies(source, dict(source)) == []


@pytest.mark.parametrize(
    ("text", "size"),
    [("8GiB", 8 * 1024**3), ("500 MB", 500_000_000), ("1024", 1024), ("1.5KiB", 1536)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_parse_size_rejects_nonsense() -> None:
    with pytest.raises(ConfigurationError, match="8GiB"):
        parse_size("huge")


def test_prediction_is_fixed_cost_plus_throughput() -> None:
    prediction = predict_restore(100, 12.0, 2.0, 1000)  # 100 units in 10 s beyond the fixed 2 s
    assert prediction.bytes_per_second == 10
    assert prediction.predicted_seconds == 102.0
    with pytest.raises(ProcedureFailed, match="too fast to measure"):
        predict_restore(100, 1.0, 2.0, 1000)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Automated daily backups via Supabase", 86400),
        ("hourly snapshot", 3600),
        ("sync every 4 hours", 14400),
        ("Backup user uploads and assets", None),
    ],
)
def test_schedule_from_the_guides_words(text: str, seconds: float | None) -> None:
    assert schedule_interval(text) == seconds


def test_guide_backup_schedules() -> None:
    assert GUIDE.backup_schedule("Database").interval_seconds == 86400
    assert GUIDE.backup_schedule("File Storage").interval_seconds is None


@respx.mock(assert_all_called=False)
def test_api_client_retries_5xx_with_backoff_then_gives_up(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://api.example.test/x").mock(return_value=httpx.Response(503))
    clock = VirtualClock()
    with httpx.Client() as http:
        client = ApiClient(
            "Example API", "https://api.example.test", "t0k3n", "EXAMPLE_TOKEN", http, clock=clock
        )
        with pytest.raises(ServiceError, match="answered 503 on all 4 attempts"):
            client.request("GET", "/x")
    assert client.attempts == 4
    assert clock.monotonic() == 1 + 2 + 4


def test_api_client_survives_one_failure_and_fails_fast_on_401() -> None:
    with respx.mock() as router, httpx.Client() as http:
        route = router.get("https://api.example.test/x")
        route.side_effect = [httpx.Response(502), httpx.Response(200, json={"ok": True})]
        client = ApiClient(
            "Example API",
            "https://api.example.test",
            "t0k3n",
            "EXAMPLE_TOKEN",
            http,
            clock=VirtualClock(),
        )
        assert client.request("GET", "/x").json() == {"ok": True}
        router.get("https://api.example.test/y").mock(return_value=httpx.Response(401))
        with pytest.raises(AuthenticationFailed, match="EXAMPLE_TOKEN"):
            client.request("GET", "/y")
    assert client.attempts == 3
    with pytest.raises(AuthenticationFailed, match="set EXAMPLE_TOKEN"), httpx.Client() as http:
        ApiClient("Example API", "https://api.example.test", "", "EXAMPLE_TOKEN", http).request(
            "GET", "/x"
        )


def test_luhn_and_card_columns() -> None:
    from runbook_lib.procedures.security.compliance import card_data_columns, luhn_valid

    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert card_data_columns([("payments", "card_number"), ("users", "email"), ("x", "cvv")]) == [
        "payments.card_number",
        "x.cvv",
    ]


def test_key_inventory_and_rotation_period(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from runbook_lib.procedures.security.keys import load_inventory, rotation_days, stale_keys

    assert rotation_days(GUIDE) == 92
    inventory = load_inventory(DEFAULT_CONFIG_DIR.key_inventory)
    assert stale_keys(inventory, date(2026, 11, 25), 92) == [
        "STRIPE_SECRET_KEY (stripe, owner billing-team) is 176 days old"
    ]
    broken = tmp_path / "keys.yml"
    broken.write_text("keys: [{name: X}]")
    with pytest.raises(ConfigurationError, match="not a key inventory"):
        load_inventory(broken)


def test_working_equivalent_renames_pre_13_columns() -> None:
    from runbook_lib.procedures.performance_optimization.database import working_equivalent

    sql = GUIDE.optimization_sql[0].text
    assert "mean_exec_time" in working_equivalent(sql)
    assert "mean_time" not in working_equivalent(sql).replace("mean_exec_time", "")
