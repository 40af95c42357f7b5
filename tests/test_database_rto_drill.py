"""The Database RTO scenario, run as a child drill: both recovery paths are labelled in the
evidence with what their prediction assumes, and a guide whose Database RTO the guide's path
cannot meet turns the scenario red for that path, with the finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_lib.guide.model import load_guide
from runbook_lib.paths import DEFAULT_GUIDE
from tests.helpers import child_drill

SCENARIO = "test_database_recovery_meets_the_database_rto_measured_and_predicted_at_production_size"
GUIDE_PATH = "guide's path: plain SQL through psql, single stream"
CORRECTED_PATH = "corrected path: custom format, pg_restore -j "
DATABASE_ROW = "| Database | 15 minutes | 1 hour |"


def run_scenario(tmp_path: Path, guide: Path = DEFAULT_GUIDE) -> tuple[dict[str, Any], Any]:
    """One serial child drill of the RTO scenario; its evidence record and the run's metadata."""
    evidence_dir = tmp_path / "evidence"
    _, document = child_drill(
        f"--guide={guide}",
        "--only=recovery_objectives",
        "-k",
        SCENARIO,
        evidence_dir=evidence_dir,
    )
    (record,) = document["scenarios"]
    return record, document["run"]


def test_both_paths_are_labelled_with_what_their_prediction_assumes(tmp_path: Path) -> None:
    record, run = run_scenario(tmp_path)
    assert record["status"] == "passed", record["error"]
    names = [m["name"] for m in record["measurements"]]
    for what in ("measured", "predicted at production size"):
        checks = [n for n in names if n.startswith(f"database recovery time ({what}; ")]
        assert len(checks) == 2, checks
        assert any(GUIDE_PATH in n for n in checks)
        assert any(CORRECTED_PATH in n for n in checks)
    assert any(n == f"recovery step: psql ({GUIDE_PATH})" for n in names)
    assert any(n.startswith("recovery step: pg_restore (corrected path") for n in names)
    for label in (GUIDE_PATH, CORRECTED_PATH):
        notes = [n for n in record["notes"] if n.startswith(f"prediction ({label}")]
        assert [n.split(" assumes ")[1].split(":")[0] for n in notes] == [
            "storage",
            "network",
            "parallelism",
            "model",
        ]
        assert run["postgres_storage"] in notes[0]  # where the run's cluster kept its data
    assert record["findings"] == []


def test_a_guide_path_slower_than_the_database_rto_turns_the_scenario_red(
    tmp_path: Path,
) -> None:
    """30 seconds: every drill recovery (~1 s) meets it, no 8 GiB prediction does."""
    text = DEFAULT_GUIDE.read_text(encoding="utf-8")
    assert text.count(DATABASE_ROW) == 1
    guide = tmp_path / "guide.md"
    guide.write_text(text.replace(DATABASE_ROW, "| Database | 30 seconds | 1 hour |"), "utf-8")
    assert load_guide(guide).objective("Database").rto_seconds == 30
    record, _ = run_scenario(tmp_path, guide)
    assert record["status"] == "failed"
    assert "ThresholdBreached" in record["error"]
    assert f"{GUIDE_PATH} misses it" in record["error"]
    verdicts = {m["name"]: m["passed"] for m in record["measurements"] if m["threshold"] == 30}
    assert verdicts[f"database recovery time (predicted at production size; {GUIDE_PATH})"] is False
    assert [f["id"] for f in record["findings"]] == ["GUIDE-RTO-RESTORE-PATH"]
    assert GUIDE_PATH in record["findings"][0]["detail"]
