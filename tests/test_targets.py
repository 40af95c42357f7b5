"""Live mode is guarded: a target that points at production is refused unless allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.errors import ConfigurationError
from runbook_lib.targets import load_target


def test_staging_target_loads_with_its_dsn_from_the_environment() -> None:
    target = load_target(
        "staging",
        environ={
            "RUNBOOK_STAGING_PG_DSN": "postgresql://drill:pw@staging-db.internal:5432/napoleon_staging"
        },
    )
    assert target.identifiers["supabase_project"] == "napoleonaistaging"
    assert target.identifiers["postgres_host"] == "staging-db.internal"


def test_a_target_whose_database_is_production_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"points at production \(postgres_host=db\.supabase\.co\)"
    ):
        load_target(
            "staging",
            environ={
                "RUNBOOK_STAGING_PG_DSN": "postgresql://postgres:pw@db.supabase.co:5432/napoleon_ai"
            },
        )


def test_production_identifiers_need_the_explicit_override(tmp_path: Path) -> None:
    config = tmp_path / "targets.yml"
    config.write_text(
        "production_identifiers: [napoleon-ai-storage]\n"
        "targets:\n  oops:\n    storage_bucket: napoleon-ai-storage\n"
    )
    with pytest.raises(ConfigurationError, match="storage_bucket=napoleon-ai-storage"):
        load_target("oops", path=config, environ={})
    assert load_target("oops", path=config, environ={}, allow_production=True).name == "oops"


def test_unknown_target_and_bad_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no target 'prod'"):
        load_target("prod", environ={})
    bad = tmp_path / "targets.yml"
    bad.write_text("just: text\n")
    with pytest.raises(ConfigurationError, match="expected 'production_identifiers:'"):
        load_target("staging", path=bad, environ={})
