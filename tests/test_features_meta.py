"""The feature files keep the house rules: tags name real guide sections and known findings."""

from __future__ import annotations

import re

import pytest

from runbook_lib.evidence.findings import CATALOGUE
from runbook_lib.guide.model import load_guide
from runbook_lib.paths import DEFAULT_FEATURES

FEATURES = sorted(DEFAULT_FEATURES.glob("*.feature"))
ANCHORS = {s.anchor for s in load_guide().sections}


def _tags(kind: str) -> list[tuple[str, str]]:
    return [
        (path.name, tag)
        for path in FEATURES
        for tag in re.findall(rf"@{kind}:(\S+)", path.read_text())
    ]


@pytest.mark.parametrize(("feature", "anchor"), _tags("guide"))
def test_guide_tags_name_a_heading_of_the_guide(feature: str, anchor: str) -> None:
    assert anchor in ANCHORS, f"{feature}: @guide:{anchor} is not a heading anchor of the guide"


@pytest.mark.parametrize(("feature", "finding"), _tags("finding"))
def test_finding_tags_are_in_the_catalogue(feature: str, finding: str) -> None:
    assert finding in CATALOGUE, (
        f"{feature}: @finding:{finding} has no entry in runbook_lib/findings.py"
    )


def test_every_feature_names_its_guide_section_and_a_control() -> None:
    for path in FEATURES:
        first_tags = path.read_text().split("Feature:")[0]
        assert "@guide:" in first_tags, path.name
        assert "@control:" in first_tags, path.name
