"""The feature files keep the house rules: tags name real guide sections and known findings."""

from __future__ import annotations

import pytest

from runbook_lib.evidence.findings import CATALOGUE
from runbook_lib.guide.features import read_features
from runbook_lib.guide.model import load_guide
from runbook_lib.paths import DEFAULT_FEATURES

FEATURES = read_features(DEFAULT_FEATURES)
ANCHORS = {s.anchor for s in load_guide().sections}


def _tags(kind: str) -> list[tuple[str, str]]:
    """(feature file, tag value) for every ``@kind:`` tag, once per feature file."""
    found = {
        (feature.path.name, value): None
        for feature in FEATURES
        for value in (
            *feature.values(kind),
            *(v for s in feature.scenarios for v in s.values(kind)),
            *(
                tag.removeprefix(f"{kind}:")
                for s in feature.scenarios
                for table in s.examples
                for tag in table.tags
                if tag.startswith(f"{kind}:")
            ),
        )
    }
    return list(found)


@pytest.mark.parametrize(("feature", "anchor"), _tags("guide"))
def test_guide_tags_name_a_heading_of_the_guide(feature: str, anchor: str) -> None:
    assert anchor in ANCHORS, f"{feature}: @guide:{anchor} is not a heading anchor of the guide"


@pytest.mark.parametrize(("feature", "finding"), _tags("finding"))
def test_finding_tags_are_in_the_catalogue(feature: str, finding: str) -> None:
    assert finding in CATALOGUE, (
        f"{feature}: @finding:{finding} has no entry in runbook_lib/evidence/findings.py"
    )


def test_every_feature_names_its_guide_section_and_a_control() -> None:
    assert FEATURES
    for feature in FEATURES:
        assert feature.values("guide"), feature.path.name
        assert feature.values("control"), feature.path.name
