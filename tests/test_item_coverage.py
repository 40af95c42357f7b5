"""Coverage per guide item, with the strength of its proof (issue: truthful evidence): a section
is no longer credited whole to any scenario tagged with it."""

from __future__ import annotations

from pathlib import Path

from runbook_lib.guide.coverage import distribution, item_coverage, proven_share
from runbook_lib.guide.model import load_guide
from runbook_lib.guide.reading import recording
from runbook_lib.world import touched

GUIDE = load_guide()


def _scenario(name: str, lines: set[int], proof: str, status: str = "passed") -> dict[str, object]:
    return {"name": name, "guide_lines": sorted(lines), "proof": proof, "status": status}


def test_a_lookup_notes_the_row_it_returns_not_the_rows_it_searched() -> None:
    with recording() as lines:
        assert GUIDE.objective("File Storage").rto_seconds > 0
    assert lines == {GUIDE.objective("File Storage").line}


def test_a_severity_notes_its_timeline_line_and_a_phase_its_actions() -> None:
    p1 = GUIDE.severity("P1")
    with recording() as lines:
        assert p1.response_seconds > 0
    assert lines == {p1.line, p1.response_line}
    phase = GUIDE.security_phases[0]
    with recording() as lines:
        assert phase.actions
    assert lines == {phase.line, *phase.action_lines}


def test_reading_outside_a_scenario_and_parsing_note_nothing() -> None:
    with recording() as lines:
        load_guide()
    assert lines == set()


def test_each_item_takes_the_strongest_proof_of_the_scenarios_that_read_it() -> None:
    rto = GUIDE.objective("Database").line
    checklist = GUIDE.field_lines["checklist"][0]
    rows = item_coverage(
        GUIDE,
        [
            _scenario("restore", {rto}, "real"),
            _scenario("guide text", {rto, checklist}, "restated"),
            _scenario("broken", {GUIDE.objective("Application").line}, "real", status="failed"),
        ],
    )
    by_line = {row.line: row for row in rows}
    assert by_line[rto].level == "real"
    assert by_line[rto].scenarios == ("restore", "guide text")
    assert by_line[checklist].level == "restated"
    assert (
        by_line[GUIDE.objective("Application").line].level == "uncovered"
    )  # a failure proves nothing
    assert by_line[4].level == "untestable"  # the overview sentence
    counts = distribution(rows)
    assert sum(counts.values()) == len(GUIDE.items)
    assert proven_share(rows, "real") < proven_share(rows, "restated")


def test_a_scenario_is_only_as_real_as_the_weakest_thing_it_ran_against() -> None:
    with touched.recording() as seen:
        touched.real("PostgreSQL embedded")
        touched.simulated("SupabaseAPI (api.supabase.com)")
    assert seen.level == "simulated"
    with touched.recording() as seen:
        touched.real("pg_restore")
    assert seen.level == "real"
    with touched.recording() as seen:
        pass
    assert seen.level == "restated"


def test_every_item_has_a_line_and_a_section(tmp_path: Path) -> None:
    assert all(item.line > 0 and item.section.anchor for item in GUIDE.items)
    kinds = {item.kind for item in GUIDE.items}
    assert kinds == {"list item", "table row", "code", "paragraph"}
