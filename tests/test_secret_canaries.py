"""Secrets never printed: distinct canary values in every credential a drill can be given,
then no trace of any of them in stdout, stderr, or any file the drill wrote.

Two runs, each in a child ``runbook drill`` as a user starts it:

- a full rehearsal of a target (``--target staging --stand-ins``, every scenario, the default
  workers) against a plain password-protected server this test owns, the target naming a
  variable for each credential the drill reads (database DSN, Supabase access token and
  service-role key, Vercel token, Stripe and OpenAI keys, the Slack webhook URL);
- a game day of the same target (``--fault slack-webhook-revoked``) with a guide whose index
  SQL names a column that does not exist, on the incident-response, monitoring and performance
  features (a representative subset, to keep the test under a few minutes): its scenarios
  fail, so tracebacks with their frames' arguments (the database server, the simulated cloud)
  and assertion reprs are printed.

The search covers both runs' output, every file under the report directories, the child
pytest's temporary directories and the plain server's log, for each canary as written and
percent-encoded. Broken worlds it catches: a ``PostgresServer`` or ``Target`` whose repr shows
its password (the issue's traceback), an artifact written without the Redactor, a webhook URL
in an error message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from runbook_lib.paths import DEFAULT_CONFIG_DIR
from tests.helpers import edited_guide, runbook
from tests.plain_server import plain_server

pytestmark = pytest.mark.slow

# distinct and recognisable, each shaped as its service issues it
CANARIES = {
    "database password": "Canary@Db+Pw-7f3a9c2e51",
    "SUPABASE_ACCESS_TOKEN": "sbp_" + "c4a7a2e5" * 5,
    "SUPABASE_SERVICE_ROLE_KEY": "eyJhbGciOiJIUzI1NiJ9.Q2FuYXJ5U2VydmljZVJvbGU.c4n4ryS1gn4tur3",
    "VERCEL_TOKEN": "CanaryVercel7f3a9c2e51ab",
    "STRIPE_SECRET_KEY": "sk_test_CanaryStripe7f3a9c2e51ab",
    "OPENAI_API_KEY": "sk-proj-CanaryOpenAI7f3a9c2e51abcdef",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0CANARY/B0CANARY/CanarySlack7f3a9c2e",
    "AWS_SECRET_ACCESS_KEY": "CanaryAwsSecret/7f3a9c2e51abcdef+wJalrXUtn",
}
# makes the guide's index SQL fail in a step that takes the database server
BROKEN_INDEX = (
    "CREATE INDEX CONCURRENTLY idx_users_email ON users(email);",
    "CREATE INDEX CONCURRENTLY idx_users_email ON users(e_mail);",
)
# the part of each that is secret (a webhook URL's path)
SECRET_PART = {**CANARIES, "SLACK_WEBHOOK_URL": "CanarySlack7f3a9c2e"}
TARGET_VARIABLES = {
    "supabase_token_env": ("SUPABASE_STAGING_ACCESS_TOKEN", "SUPABASE_ACCESS_TOKEN"),
    "supabase_service_role_key_env": (
        "SUPABASE_STAGING_SERVICE_ROLE_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
    ),
    "vercel_token_env": ("VERCEL_STAGING_TOKEN", "VERCEL_TOKEN"),
    "stripe_key_env": ("STRIPE_STAGING_SECRET_KEY", "STRIPE_SECRET_KEY"),
    "openai_key_env": ("OPENAI_STAGING_API_KEY", "OPENAI_API_KEY"),
    "slack_webhook_env": ("SLACK_STAGING_WEBHOOK_URL", "SLACK_WEBHOOK_URL"),
}


def _config(directory: Path) -> Path:
    """The packaged configuration, its staging target naming a variable for every credential."""
    shutil.copytree(DEFAULT_CONFIG_DIR.root, directory)
    targets = directory / "targets.yml"
    text = targets.read_text(encoding="utf-8")
    for key in ("supabase_token_env", "vercel_token_env"):  # named already: drop, then add all
        text = "\n".join(line for line in text.splitlines() if not line.strip().startswith(key))
    lines = "".join(f"    {key}: {variable}\n" for key, (variable, _) in TARGET_VARIABLES.items())
    text = text.replace("  staging:\n", "  staging:\n" + lines, 1)
    targets.write_text(text + "\n", encoding="utf-8")
    return directory


def _environment(dsn: str, config: Path, basetemp: Path) -> dict[str, str]:
    return {
        "RUNBOOK_CONFIG": str(config),
        "RUNBOOK_STAGING_PG_DSN": dsn,
        **{variable: CANARIES[name] for variable, name in TARGET_VARIABLES.values()},
        # what an operator's shell may hold as well: inherited by every child process
        **{name: CANARIES[name] for name in CANARIES if name.isupper()},
        "AWS_ACCESS_KEY_ID": "AKIACANARY7F3A9C2E51",
        "PYTEST_ADDOPTS": f"--basetemp={basetemp}",
    }


def _hits(text: str) -> list[str]:
    found = []
    for name, value in SECRET_PART.items():
        for spelling in {value, quote(value, safe=""), quote(value)}:
            if spelling in text:
                found.append(f"{name} ({spelling[:12]}...)")
    return found


def _files_with_canaries(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        hits = _hits(path.read_bytes().decode("utf-8", errors="replace"))
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def test_no_canary_appears_in_any_output_or_artifact_of_a_rehearsal_and_a_game_day(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "config")
    outputs: dict[str, str] = {}
    with plain_server(superuser_password=CANARIES["database password"]) as staging:
        env = _environment(staging.superuser_dsn(), config, tmp_path / "pytest-rehearsal")
        rehearsal = runbook(
            "drill",
            *("--target", "staging", "--stand-ins"),
            *("--report-dir", str(tmp_path / "reports" / "rehearsal")),
            env=env,
            timeout=1200,
        )
        game_env = {**env, "PYTEST_ADDOPTS": f"--basetemp={tmp_path / 'pytest-game-day'}"}
        guide = edited_guide(tmp_path, [(BROKEN_INDEX[0], BROKEN_INDEX[1])])
        game_day = runbook(
            "drill",
            *("--target", "staging", "--stand-ins", "--fault", "slack-webhook-revoked"),
            *("--guide", str(guide), "--only", "incident_response"),
            *("--only", "monitoring_alerting", "--only", "performance_optimization"),
            *("--report-dir", str(tmp_path / "reports" / "game-day")),
            env=game_env,
            timeout=1200,
        )
        server_log = staging.log.read_text(encoding="utf-8", errors="replace")
    for name, done in (("rehearsal", rehearsal), ("game day", game_day)):
        outputs[f"{name} stdout"], outputs[f"{name} stderr"] = done.stdout, done.stderr
    # the runs really used the canaries and really failed where the game day breaks things
    evidence = json.loads((tmp_path / "reports" / "rehearsal" / "evidence.json").read_text())
    assert (evidence["run"]["target"], evidence["run"]["postgres_backend"]) == ("staging", "dsn")
    assert evidence["summary"].get("passed", 0) > 100, evidence["summary"]
    game = json.loads((tmp_path / "reports" / "game-day" / "evidence.json").read_text())
    assert game["run"]["game_day_fault"] == "slack-webhook-revoked"
    assert game["summary"].get("failed", 0) > 0, game["summary"]  # tracebacks were printed
    assert "= FAILURES =" in game_day.stdout  # with their tracebacks and reprs
    assert "drill_server = PostgresServer(" in game_day.stdout  # the leaking frame
    # zero hits anywhere
    printed = {name: _hits(text) for name, text in outputs.items() if _hits(text)}
    assert printed == {}
    assert _files_with_canaries(tmp_path / "reports") == {}
    for basetemp in ("pytest-rehearsal", "pytest-game-day"):
        assert _files_with_canaries(tmp_path / basetemp) == {}
    assert _hits(server_log) == []
