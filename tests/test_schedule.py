"""The workers' order: the longest scenarios first, dealt so every worker starts on long ones
(runbook_lib/drill/schedule.py). Broken worlds: the features' own order (the 8-second release
last), every long scenario in one worker's share, a missing durations file that breaks the
drill instead of leaving the order alone."""

from __future__ import annotations

import json
from pathlib import Path

from runbook_lib.drill.schedule import DURATIONS_FILE, dealt, load_durations
from runbook_lib.drill.shard import scenario_id

DURATIONS = {"a": 0.1, "b": 8.0, "c": 0.2, "d": 5.0, "e": 3.0, "f": 0.3}


def _ids(items: list[str]) -> dict[str, str]:
    return {item: item for item in items}


def test_longest_first_dealt_into_each_workers_share() -> None:
    items = list("abcdef")
    order = dealt(items, _ids(items), DURATIONS, 2)
    # by length: b d e f c a; worker 1's share (first half) b e c, worker 2's d f a
    assert order == list("becdfa")
    assert sorted(order) == items  # nothing lost, nothing doubled


def test_one_worker_or_no_durations_keeps_the_features_order() -> None:
    items = list("abcdef")
    assert dealt(items, _ids(items), DURATIONS, 1) == items
    assert dealt(items, _ids(items), {}, 4) == items


def test_a_scenario_without_a_duration_counts_as_the_median() -> None:
    items = ["new", "b", "a"]
    assert dealt(items, _ids(items), {"a": 0.1, "b": 8.0, "c": 1.0}, 3) == ["b", "new", "a"]


def test_the_durations_file_names_the_packaged_scenarios(tmp_path: Path) -> None:
    durations = load_durations()
    assert len(durations) > 100
    features = Path(DURATIONS_FILE).parent.parent / "features"
    stems = {p.stem for p in features.glob("*.feature")}
    assert {key.partition("::")[0] for key in durations} <= stems
    assert scenario_id("features/deployment.feature", "x::test_y") == "deployment::test_y"
    assert load_durations(tmp_path / "absent.json") == {}
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert load_durations(tmp_path / "bad.json") == {}
    (tmp_path / "mixed.json").write_text(json.dumps({"a": 1, "b": "slow"}))
    assert load_durations(tmp_path / "mixed.json") == {"a": 1.0}
