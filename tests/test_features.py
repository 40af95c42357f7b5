"""The feature reader sees what the drills run: pytest-bdd's scenarios, steps and tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd.parser import FeatureParser

from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.features import read_feature, read_features, scenarios_by_tag
from runbook_lib.paths import DEFAULT_FEATURES

SAMPLE = """\
@guide:sample @control:C1
Feature: A sample
  Background:
    Given the operations guide

  @guide:first @guide:sample
  Scenario: A scenario with a table
    Then these figures:
      | component | RTO       |

      | Database  | 5 minutes |

  @compliance:SOC-2
  Scenario Outline: An outline
    When <x> happens
    Then it is <y>

    @guide:examples
    Examples:
      | x | y |
      | a | b |

  @guide:rule
  Rule: A rule
    Background:
      Given a rule background

    Scenario: Inside the rule
      Then it holds
"""


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.feature"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(DEFAULT_FEATURES.glob("*.feature")), ids=lambda p: p.stem)
def test_the_reader_sees_the_scenarios_steps_and_tags_pytest_bdd_runs(path: Path) -> None:
    ours = read_feature(path)
    theirs = FeatureParser(str(path.parent), path.name).parse()
    assert ours.name == theirs.name
    assert set(ours.tags) == theirs.tags
    assert [s.name for s in ours.scenarios] == list(theirs.scenarios)
    for scenario, template in zip(ours.scenarios, theirs.scenarios.values(), strict=True):
        assert scenario.line == template.line_number
        assert set(scenario.tags) == template.tags | theirs.tags
        assert [(s.line, s.text) for s in scenario.steps] == [
            (s.line_number, s.name) for s in template.steps
        ]
        assert [[list(r.cells) for r in t.body] for t in scenario.examples] == [
            e.examples for e in template.examples
        ]


def test_tags_merge_feature_rule_and_scenario_in_order_once(sample: Path) -> None:
    feature = read_feature(sample)
    assert feature.tags == ("guide:sample", "control:C1")
    first, outline, ruled = feature.scenarios
    assert first.tags == ("guide:sample", "control:C1", "guide:first")
    assert first.values("guide") == ("sample", "first")
    assert outline.values("compliance") == ("SOC-2",)
    assert ruled.tags == ("guide:sample", "control:C1", "guide:rule")
    assert outline.examples[0].tags == ("guide:examples",)


def test_steps_carry_the_backgrounds_and_tables_their_rows_lines(sample: Path) -> None:
    first, outline, ruled = read_feature(sample).scenarios
    assert [s.text for s in first.steps] == ["the operations guide", "these figures:"]
    table = first.steps[-1].table
    assert table is not None
    assert table.header == ("component", "RTO")
    assert [(r.line, r.cells) for r in table.body] == [(11, ("Database", "5 minutes"))]
    assert [s.text for s in outline.steps] == ["the operations guide", "<x> happens", "it is <y>"]
    assert [r.cells for r in outline.examples[0].body] == [("a", "b")]
    assert [s.text for s in ruled.steps] == [
        "the operations guide",
        "a rule background",
        "it holds",
    ]
    assert [t.line for t in read_feature(sample).tables()] == [9, 20]


def test_scenarios_by_tag_counts_a_scenario_once_per_value(sample: Path) -> None:
    tagged = scenarios_by_tag(read_features(sample.parent), "guide")
    assert tagged["SAMPLE"] == [
        "sample: A scenario with a table",
        "sample: An outline",
        "sample: Inside the rule",
    ]
    assert tagged["FIRST"] == ["sample: A scenario with a table"]
    assert "EXAMPLES" not in tagged  # an examples table's tags select rows, not the scenario


def test_a_feature_the_drills_cannot_parse_is_a_configuration_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.feature"
    broken.write_text("Scenario: no feature\n  Given nothing\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"broken\.feature:1"):
        read_feature(broken)
