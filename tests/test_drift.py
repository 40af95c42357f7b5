"""A changed guide figure makes the suite fail, naming both places, or the suite follows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.guide.drift import find_drift
from runbook_lib.guide.model import DEFAULT_GUIDE, load_guide, parse_guide
from runbook_lib.paths import DEFAULT_FEATURES, SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
FEATURES = DEFAULT_FEATURES
TEXT = DEFAULT_GUIDE.read_text(encoding="utf-8")


def test_the_features_quote_the_guide_exactly() -> None:
    assert find_drift(load_guide(), FEATURES) == []


@pytest.mark.parametrize(
    ("original", "mutated", "where"),
    [
        (
            "| Database | 15 minutes | 1 hour |",
            "| Database | 10 minutes | 1 hour |",
            "features/guide.feature:15 says Database rto is 15 minutes; the guide says 10 minutes (line 244)",
        ),
        (
            "| File Storage | 30 minutes | 4 hours |",
            "| File Storage | 30 minutes | 2 hours |",
            "File Storage rpo is 4 hours; the guide says 120 minutes",
        ),
        (
            "- **P1**: Response within 1 hour",
            "- **P1**: Response within 2 hours",
            "P1 response is 1 hour; the guide says Response within 2 hours",
        ),
        (
            "- **Error Rate**: < 1%",
            "- **Error Rate**: < 2%",
            "Error Rate target is < 1%; the guide says < 2%",
        ),
        (
            "- Function execution time > 10s",
            "- Function execution time > 8s",
            "Function execution time threshold is > 10s",
        ),
    ],
)
def test_a_mutated_guide_figure_is_reported_with_both_locations(
    original: str, mutated: str, where: str
) -> None:
    assert original in TEXT
    drift = [
        str(d)
        for d in find_drift(parse_guide(TEXT.replace(original, mutated), "mutated.md"), FEATURES)
    ]
    assert any(where in line for line in drift), drift


def _run_features(guide: Path, *stems: str) -> subprocess.CompletedProcess[str]:
    only = [f"--only={stem}" for stem in stems]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SCENARIOS),
            "-q",
            "-p",
            "no:randomly",
            f"--guide={guide}",
            "--pg=embedded",
            *only,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("original", "mutated", "stems"),
    [
        (
            "< 500ms average",
            "< 400ms average",
            ("monitoring_alerting",),
        ),  # inputs, not quotes: the rules drift
        ("Sunday 2-4 AM UTC", "Saturday 2-4 AM UTC", ("maintenance_windows",)),  # window instants
        ("Technical debrief within 24h", "Technical debrief within 48h", ("post_incident_review",)),
    ],
)
def test_a_mutated_guide_fails_the_drills_that_use_the_figure(
    tmp_path: Path, original: str, mutated: str, stems: tuple[str, ...]
) -> None:
    copy = tmp_path / "guide.md"
    copy.write_text(TEXT.replace(original, mutated), encoding="utf-8")
    done = _run_features(copy, *stems)
    assert done.returncode == 1, done.stdout[-1500:]
    assert "failed" in done.stdout.splitlines()[-1]


def test_a_quoted_target_matches_only_in_the_guides_own_words() -> None:
    from runbook_lib.guide.drift import states_exactly
    from runbook_lib.guide.units import parse_quantity

    response_time = load_guide().key_metric("Response Time")
    assert states_exactly(response_time, parse_quantity("< 500ms"))
    assert not states_exactly(response_time, parse_quantity("< 0.5s"))
    assert not states_exactly(response_time, parse_quantity("<= 500ms"))
