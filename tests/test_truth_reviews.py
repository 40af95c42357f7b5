"""The post-incident review and pre-deployment checklist checks turn red in their broken worlds
(issue: truthful evidence).

The review documents and the release's checklist are written in the features, apart from the
guide; what they must contain is read from the guide. So a guide that requires one more part
(or checklist item) turns the passing scenario red, and a check that finds nothing missing (or
a gate that lets anything through) turns the refusing one red.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.broken_worlds import Case, World, judge

COMPLETE, INCOMPLETE = "with_every_required_part_passes", "without_a_root_cause_analysis"
ALLOWED, REFUSED = "every_checklist_item_met_is_allowed", "unmet_checklist_items_is_refused"
GATE = "from runbook_lib.procedures.deployment import deploy\ngate = deploy.readiness_gate\n"

CASES = (
    Case(
        World(
            "guide-requires-a-sixth-review-part",
            (("- Prevention measures\n", "- Prevention measures\n- Customer communication\n"),),
        ),
        "post_incident_review",
        f"{COMPLETE} or {INCOMPLETE}",
        {COMPLETE: ("missing parts: 1 is not == 0", "(Customer communication)")},
    ),
    Case(
        World(
            "review-check-finds-nothing-missing",
            mutant="from runbook_lib.procedures import post_incident_review as reviews\n"
            "reviews.missing_parts = lambda guide, document: []\n",
        ),
        "post_incident_review",
        f"{COMPLETE} or {INCOMPLETE}",
        {INCOMPLETE: "reported missing 'Root cause analysis': no"},
    ),
    Case(
        World(
            "review-check-matches-headings-case-sensitively",
            mutant="from runbook_lib.procedures import post_incident_review as reviews\n"
            "reviews.missing_parts = lambda guide, document: "
            "[p for p in guide.review_documentation if f'## {p}' not in document]\n",
        ),
        "post_incident_review",
        f"{COMPLETE} or {INCOMPLETE}",
        {
            COMPLETE: "missing parts: 5 is not == 0",
            INCOMPLETE: "parts reported missing that the document has: 4 is not == 0",
        },
    ),
    Case(
        World(
            "guide-adds-a-checklist-item",
            (
                (
                    "- [ ] Documentation updated\n",
                    "- [ ] Documentation updated\n- [ ] Database migrations reviewed\n",
                ),
            ),
        ),
        "deployment",
        "checklist",
        {ALLOWED: "checklist items not met: Database migrations reviewed"},
    ),
    Case(
        World(
            "gate-lets-everything-through",
            mutant=GATE + "deploy.readiness_gate = lambda checklist, status: None\n",
        ),
        "deployment",
        "checklist",
        {REFUSED: "the procedure succeeded, but it should have failed"},
    ),
    Case(
        World(
            "gate-ignores-items-the-release-left-out",
            mutant=GATE + "deploy.readiness_gate = lambda checklist, status: "
            "gate([i for i in checklist if i in status], status)\n",
        ),
        "deployment",
        "checklist",
        {REFUSED: "not with 'Documentation updated'"},
    ),
    Case(
        World(
            "gate-refuses-met-items-too",
            mutant=GATE + "deploy.readiness_gate = lambda checklist, status: gate(checklist, {})\n",
        ),
        "deployment",
        "checklist",
        {
            ALLOWED: "checklist items not met: All tests passing",
            REFUSED: "met items named as unmet: 3 is not == 0",
        },
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.world.name)
def test_the_check_turns_red_in_its_broken_world_only(case: Case, tmp_path: Path) -> None:
    judge(case, tmp_path)
