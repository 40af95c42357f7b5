"""`runbook drill --shard I/N` and `runbook merge`: a drill split across processes (machines)
and joined again is the same run as one process gives, and a merge that is not one whole drill
(a shard missing, given twice, of another guide or selection, altered) never passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbook_lib.drill.shard import Shard, ShardPlan, assignment, record_id
from runbook_lib.errors import ConfigurationError
from runbook_lib.evidence.merge import merge_runs
from runbook_lib.evidence.records import RunInfo, ScenarioEvidence, write_evidence
from runbook_lib.evidence.report import verify_manifest, write_report
from runbook_lib.paths import SCENARIOS
from runbook_lib.world.redact import Redactor
from tests.helpers import ROOT, child_environ, run_info, runbook

# two quick features (16 scenarios: outline examples and a known gap among them)
SELECTION = ("--only", "guide", "--only", "post_incident_review", "--pg", "embedded", "-n", "0")


def _drill(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return runbook("drill", *SELECTION, *extra, "--report-dir", str(directory))


def _evidence(directory: Path) -> dict[str, Any]:
    return dict(json.loads((directory / "evidence.json").read_text()))


def _statuses(document: dict[str, Any]) -> dict[str, str]:
    return {record_id(s): s["status"] for s in document["scenarios"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One unsharded run and its two shards, each in its own process (all three at once)."""
    base = tmp_path_factory.mktemp("shards")
    dirs = {name: base / name for name in ("whole", "shard1", "shard2")}
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = {
            "whole": pool.submit(_drill, dirs["whole"]),
            "shard1": pool.submit(_drill, dirs["shard1"], "--shard", "1/2"),
            # under pytest-xdist, the workers hand the shard's place to the controller
            "shard2": pool.submit(_drill, dirs["shard2"], "--shard", "2/2", "-n", "2"),
        }
        for name, future in done.items():
            result = future.result()
            assert result.returncode == 0, (name, result.stdout[-2000:], result.stderr[-2000:])
    return dirs


def test_two_shards_merged_are_the_run_one_process_gives(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    whole, first, second = (_evidence(runs[n]) for n in ("whole", "shard1", "shard2"))
    # each shard ran its own half: disjoint, neither empty, together the whole selection
    one, two = set(_statuses(first)), set(_statuses(second))
    assert one
    assert two
    assert not one & two
    assert one | two == set(_statuses(whole))
    assert first["run"]["shard"]["index"] == 1
    assert second["run"]["shard"]["count"] == 2
    assert set(first["run"]["shard"]["selected"]) == set(_statuses(whole))

    merged_dir = tmp_path / "merged"
    done = runbook("merge", str(runs["shard1"]), str(runs["shard2"]), "--output", str(merged_dir))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    merged = _evidence(merged_dir)
    assert _statuses(merged) == _statuses(whole)
    assert merged["summary"] == whole["summary"]
    assert {f["id"] for f in merged["findings"]} == {f["id"] for f in whole["findings"]}
    assert merged["run"]["selection"] == whole["run"]["selection"]
    assert merged["run"]["item_coverage"] == whole["run"]["item_coverage"]
    assert merged["run"]["complete"]
    assert not merged["run"]["merge"]["problems"]
    assert [s["shard"]["index"] for s in merged["run"]["merge"]["sources"]] == [1, 2]
    assert "passed with gaps" in done.stdout
    # one manifest over the merged artifacts, and the HTML says what was joined
    assert verify_manifest(merged_dir) == []
    assert {"evidence.html", "junit.xml", "summary.md", "manifest.json"} <= {
        p.name for p in merged_dir.iterdir()
    }
    assert "joined from 2 shards" in (merged_dir / "evidence.html").read_text()
    whole_junit = (runs["whole"] / "junit.xml").read_text()
    merged_junit = (merged_dir / "junit.xml").read_text()
    assert merged_junit.count("<testcase") == whole_junit.count("<testcase")
    # a shard's own report says it is one shard, never the whole drill
    assert "SHARD 1/2 only" in (runs["shard1"] / "evidence.html").read_text()


def test_a_merge_with_a_shard_missing_is_not_passing(runs: dict[str, Path], tmp_path: Path) -> None:
    done = runbook("merge", str(runs["shard1"]), "--output", str(tmp_path / "merged"))
    assert done.returncode == 1
    assert "merge problem: shard 2/2 missing: its 8 scenario(s) never ran" in done.stderr
    assert "Traceback" not in done.stderr
    merged = _evidence(tmp_path / "merged")
    assert merged["run"]["complete"] is False
    never = {record_id(s) for s in merged["scenarios"] if s["status"] == "not run"}
    assert never == set(_statuses(_evidence(runs["shard2"])))
    junit = (tmp_path / "merged" / "junit.xml").read_text()
    assert 'name="the merged shards are one drill"' in junit
    assert "INCOMPLETE" in (tmp_path / "merged" / "evidence.html").read_text()


def test_a_shard_given_twice_or_altered_is_not_passing(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    again = tmp_path / "shard1-again"
    shutil.copytree(runs["shard1"], again)
    result = merge_runs([runs["shard1"], again], tmp_path / "twice")
    assert not result.passed
    assert any("shard 1/2 given twice" in p for p in result.problems)
    assert any("shard 2/2 missing" in p for p in result.problems)

    altered = tmp_path / "shard2-altered"
    shutil.copytree(runs["shard2"], altered)
    document = _evidence(altered)
    document["scenarios"] = [{**s, "status": "passed"} for s in document["scenarios"]]
    (altered / "evidence.json").write_text(json.dumps(document))
    result = merge_runs([runs["shard1"], altered], tmp_path / "altered")
    assert not result.passed
    assert result.problems == (
        f"{altered}: evidence.json: altered (sha256 differs) (against its manifest.json)",
    )


def test_the_merge_refuses_a_used_output_and_a_directory_without_evidence(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(ConfigurationError, match="not empty"):
        merge_runs([runs["shard1"]], tmp_path / "used")
    done = runbook("merge", str(tmp_path / "nothing"), "--output", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "no evidence.json" in done.stderr


# merges of synthetic shards: each check red in its own broken world


def _shard_run(
    directory: Path,
    shard: str,
    scenarios: dict[str, str],
    selected: list[str],
    **run: Any,
) -> Path:
    """A shard's run directory as `runbook drill --shard` writes it (evidence, report,
    manifest): ``scenarios`` maps test names of feature "f" to their status."""
    place = Shard.parse(shard)
    plan = ShardPlan(place, tuple(selected), run.pop("features_sha256", "features"))
    records = []
    for name, status in scenarios.items():
        record = ScenarioEvidence(
            feature="F", feature_file="features/f.feature", name=name, node_id=f"x.py::{name}"
        )
        record.status = status
        records.append(record)
    base = run_info(directory.name)
    info = RunInfo(
        **{
            **base.__dict__,
            "shard": plan.record(),
            "selection": {"subset": False, "only": [], "live_only": False, "planned": 0},
            **run,
        }
    )
    write_evidence(directory, info, records, Redactor())
    write_report(directory, record_history=False)
    return directory


NAMES = ["a", "b", "c", "d"]
IDS = [f"f::{n}" for n in NAMES]


def _split(tmp_path: Path, **second: Any) -> list[Path]:
    share = assignment(IDS, 2)
    return [
        _shard_run(
            tmp_path / f"s{i}",
            f"{i}/2",
            {n: "passed" for n, key in zip(NAMES, IDS, strict=True) if share[key] == i},
            IDS,
            **(second if i == 2 else {}),
        )
        for i in (1, 2)
    ]


def test_synthetic_shards_merge_whole(tmp_path: Path) -> None:
    result = merge_runs(_split(tmp_path), tmp_path / "merged")
    assert (result.verdict, result.problems, result.scenarios) == ("passed", (), 4)


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        ({"guide_sha256": "other"}, "the guide (sha256) differ"),
        ({"features_sha256": "other"}, "the features (sha256) differ"),
        ({"game_day_fault": "supabase-outage"}, "the game-day fault differ"),
        ({"target": "staging"}, "the target differ"),
    ],
)
def test_a_shard_of_another_drill_is_not_passing(
    tmp_path: Path, second: dict[str, Any], problem: str
) -> None:
    result = merge_runs(_split(tmp_path, **second), tmp_path / "merged")
    assert result.verdict == "incomplete"
    assert len(result.problems) == 1
    assert problem in result.problems[0]


def test_a_shard_of_another_selection_or_count_is_not_passing(tmp_path: Path) -> None:
    first = _shard_run(tmp_path / "s1", "1/2", {"a": "passed", "c": "passed"}, IDS)
    other = _shard_run(tmp_path / "s2", "2/3", {"b": "passed"}, [*IDS, "f::e"])
    result = merge_runs([first, other], tmp_path / "merged")
    assert not result.passed
    assert any("the shard count (3, not 2)" in p for p in result.problems)
    assert any("the selected scenarios (1 more, 0 fewer)" in p for p in result.problems)


def test_overlapping_or_misplaced_scenarios_are_not_passing(tmp_path: Path) -> None:
    share = assignment(IDS, 2)
    first_names = [n for n, key in zip(NAMES, IDS, strict=True) if share[key] == 1]
    second_names = [n for n, key in zip(NAMES, IDS, strict=True) if share[key] == 2]
    overlapping = [
        _shard_run(tmp_path / "o1", "1/2", dict.fromkeys(first_names, "passed"), IDS),
        _shard_run(
            tmp_path / "o2", "2/2", dict.fromkeys([*second_names, first_names[0]], "passed"), IDS
        ),
    ]
    result = merge_runs(overlapping, tmp_path / "merged")
    assert not result.passed
    assert any("1 scenario(s) ran in more than one shard" in p for p in result.problems)
    assert any("not its share" in p for p in result.problems)


def test_a_run_without_shard_is_not_merged(tmp_path: Path) -> None:
    first, second = _split(tmp_path)
    document = json.loads((second / "evidence.json").read_text())
    document["run"]["shard"] = {}
    (second / "evidence.json").write_text(json.dumps(document))
    write_report(second, record_history=False)  # a consistent manifest: only the shard is gone
    result = merge_runs([first, second], tmp_path / "merged")
    assert not result.passed
    assert any("not a shard" in p for p in result.problems)


def test_a_failed_scenario_in_one_shard_fails_the_merge(tmp_path: Path) -> None:
    share = assignment(IDS, 2)
    dirs = [
        _shard_run(
            tmp_path / f"s{i}",
            f"{i}/2",
            {
                n: ("failed" if n == "d" else "passed")
                for n, key in zip(NAMES, IDS, strict=True)
                if share[key] == i
            },
            IDS,
        )
        for i in (1, 2)
    ]
    result = merge_runs(dirs, tmp_path / "merged")
    assert (result.verdict, result.failed, result.problems) == ("failed", 1, ())


@pytest.mark.parametrize(
    ("fault", "failed", "code", "words"),
    [
        ("supabase-outage", True, 0, "-> as expected"),  # detected, and a scenario caught it
        ("supabase-outage", False, 1, "-> NOT as expected"),  # detected, but nothing failed
        ("s3-throttling", False, 0, "-> as expected"),  # survived
    ],
)
def test_the_merge_judges_a_sharded_game_day(
    tmp_path: Path, fault: str, failed: bool, code: int, words: str
) -> None:
    share = assignment(IDS, 2)
    dirs = [
        _shard_run(
            tmp_path / f"s{i}",
            f"{i}/2",
            {
                n: ("failed" if failed and n == "a" else "passed")
                for n, key in zip(NAMES, IDS, strict=True)
                if share[key] == i
            },
            IDS,
            game_day_fault=fault,
        )
        for i in (1, 2)
    ]
    done = runbook("merge", *map(str, dirs), "--output", str(tmp_path / "merged"))
    assert done.returncode == code, done.stdout + done.stderr
    assert f"game day {fault}" in done.stdout
    assert words in done.stdout


# the split itself


@given(
    st.sets(st.text(min_size=1, max_size=12), max_size=60),
    st.integers(min_value=1, max_value=7),
    st.randoms(),
)
def test_shards_partition_the_selection_evenly_whatever_the_order(
    ids: set[str], count: int, shuffle: Any
) -> None:
    ordered = sorted(ids)
    shuffled = list(ids)
    shuffle.shuffle(shuffled)
    share = assignment(shuffled, count)
    assert share == assignment(ordered, count)  # collection order changes nothing
    assert set(share) == ids
    assert set(share.values()) <= set(range(1, count + 1))
    sizes = [sum(1 for v in share.values() if v == i) for i in range(1, count + 1)]
    assert max(sizes) - min(sizes) <= 1


# a plugin that shuffles the collected items (seeded), before any selection
SHUFFLE = """
import os, random
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    random.Random(os.environ["SHUFFLE_SEED"]).shuffle(items)
"""


def _collected(plugins: Path, shard: str, seed: str) -> list[str]:
    """The node ids shard ``shard`` runs, in the order of a collection shuffled with ``seed``
    (and Python's string hashing seeded with it too)."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(SCENARIOS), "--collect-only", "-q"),
            *(f"--shard={shard}", "-p", "shuffle_items", "-p", "no:randomly"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={
            **child_environ(),
            "PYTHONPATH": str(plugins),
            "SHUFFLE_SEED": seed,
            "PYTHONHASHSEED": seed,
        },
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_a_shard_is_the_same_whatever_the_collection_order_or_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "shuffle_items.py").write_text(SHUFFLE)
    first = _collected(tmp_path, "1/3", "1")
    again = _collected(tmp_path, "1/3", "2")
    assert first != again  # the two collections really were ordered differently
    assert sorted(first) == sorted(again)
    rest = _collected(tmp_path, "2/3", "3") + _collected(tmp_path, "3/3", "4")
    assert not set(first) & set(rest)
    everything = _collected(tmp_path, "1/1", "5")
    assert sorted(first + rest) == sorted(everything)
    assert len(everything) > 100  # the whole drill, not a subset
    assert abs(len(first) - len(everything) / 3) < 1


@pytest.mark.parametrize("spec", ["0/2", "3/2", "x/y", "1/0", "2"])
def test_a_bad_shard_is_one_line_and_exit_2(spec: str) -> None:
    done = runbook("drill", "--only", "guide", "--shard", spec)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"runbook: --shard {spec}")
    assert done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stderr


def test_a_shard_whose_share_is_empty_ran_correctly(tmp_path: Path) -> None:
    done = runbook(
        "drill",
        *("--only", "post_incident_review", "-k", "review_deadlines_come_from"),
        *("--pg", "embedded", "-n", "0", "--shard", "2/2", "--report-dir", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "shard 2/2: none of the 1 selected scenarios fall to it" in done.stdout
    assert _evidence(tmp_path)["run"]["shard"]["selected"] == [
        "post_incident_review::test_the_review_deadlines_come_from_the_guide"
    ]


def test_plain_pytest_refuses_a_bad_shard() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(SCENARIOS), "--collect-only", "-q", "--shard=3/2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env=child_environ(),
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--shard 3/2: I must be between 1 and N" in done.stderr
