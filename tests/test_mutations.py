"""The mutation suite (runbook_lib/drill/mutations): the registry is well-formed, one mutation of
each kind really turns its scenarios red in a child drill, the kill matrix has its schema, and a
drill given the matrix lists the scenarios no mutation kills as unproven.

The child drills run one fast feature (maintenance_windows) serially on the embedded PostgreSQL;
the full matrix is `runbook mutate` (minutes, not CI time).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.drill import faults
from runbook_lib.drill.mutations import KINDS, MUTATIONS, find, for_features, matrix
from runbook_lib.drill.mutations.base import edited, mutated_config, mutated_guide, resolve
from runbook_lib.drill.mutations.plugin import withhold
from runbook_lib.drill.options import DrillOptions
from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.model import load_guide
from runbook_lib.paths import DEFAULT_CONFIG, DEFAULT_FEATURES, DEFAULT_GUIDE, ConfigDir
from tests.helpers import runbook

FEATURE = "maintenance_windows"
ONE_OF_EACH = (
    "weekly-window-on-monday",
    "game-day-statuspage-down",
    "maintenance-notices-send-nothing",
)
STEMS = {p.stem for p in DEFAULT_FEATURES.glob("*.feature")}


# -- the registry --


def test_every_mutation_is_named_once_with_a_kind_a_break_and_existing_features() -> None:
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))
    for m in MUTATIONS:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", m.name), m.name
        assert m.kind in KINDS, m.name
        assert m.breaks, m.name
        assert not m.breaks.endswith("."), m.name
        assert m.features, m.name
        assert set(m.features) <= STEMS, (m.name, m.features)


def test_each_kind_is_applied_the_way_its_kind_says() -> None:
    for m in MUTATIONS:
        ways = [bool(m.guide), bool(m.rules), bool(m.game_day), bool(m.withheld), bool(m.patches)]
        assert sum(ways) == 1, f"{m.name}: one way of applying it"
        if m.kind == "guide edit":
            assert m.guide, m.name
        elif m.kind == "procedure no-op":
            assert m.patches, m.name
        else:
            assert not m.guide, m.name


def test_every_guide_edit_occurs_once_in_the_guide_and_the_edited_guide_parses(
    tmp_path: Path,
) -> None:
    text = DEFAULT_GUIDE.read_text(encoding="utf-8")
    for m in (m for m in MUTATIONS if m.guide):
        for old, new in m.guide:
            assert text.count(old) == 1, f"{m.name}: {old!r} occurs {text.count(old)} times"
            assert old != new, m.name
        folder = tmp_path / m.name
        folder.mkdir()
        mutated = load_guide(mutated_guide(m, DEFAULT_GUIDE, folder))
        assert mutated.sha256 != load_guide(DEFAULT_GUIDE).sha256, m.name


def test_every_rule_edit_occurs_once_in_the_deployed_rule_file(tmp_path: Path) -> None:
    text = ConfigDir(DEFAULT_CONFIG).rule_file.read_text(encoding="utf-8")
    for m in (m for m in MUTATIONS if m.rules):
        for old, _ in m.rules:
            assert text.count(old) == 1, f"{m.name}: {old!r} occurs {text.count(old)} times"
        folder = tmp_path / m.name
        folder.mkdir()
        copy = ConfigDir(mutated_config(m, DEFAULT_CONFIG, folder))
        assert copy.rule_file.read_text(encoding="utf-8") != text
        assert copy.targets.exists()
        assert copy.key_inventory.exists()


def test_game_days_are_run_wide_faults_and_withheld_faults_exist() -> None:
    names = {f.name for f in faults.CATALOGUE}
    for m in MUTATIONS:
        if m.game_day:
            assert faults.run_wide(m.game_day).expected == "detected", m.name
        assert set(m.withheld) <= names, m.name


def test_every_patch_target_exists() -> None:
    for m in MUTATIONS:
        for patch in m.patches:
            resolve(patch.target)  # raises ConfigurationError naming a missing target


def test_an_edit_that_no_longer_applies_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="occurs 0 times"):
        edited("abc", (("xyz", "q"),), "guide")
    with pytest.raises(ConfigurationError, match="no mutation named"):
        find("no-such-mutation")
    assert {m.name for m in for_features((FEATURE,))} >= set(ONE_OF_EACH)


def test_a_withheld_fault_does_nothing_in_the_process_that_withholds_it() -> None:
    fault = next(f for f in faults.CATALOGUE if f.name == "stray-grant")
    original = fault.apply
    try:
        withhold("stray-grant")
        assert fault.apply is not original
        assert fault.apply(object()) is None  # no database touched
    finally:
        object.__setattr__(fault, "apply", original)
    with pytest.raises(ConfigurationError, match="no fault named"):
        withhold("no-such-fault")


# -- one mutation of each kind, really run --


@pytest.fixture(scope="module")
def kill_matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    options = DrillOptions(pg="embedded", only=(FEATURE,), workers="0")
    return matrix.build(
        options,
        [find(n) for n in ONE_OF_EACH],
        say=lambda _: None,
        workdir=tmp_path_factory.mktemp("m"),
    )


def _killed_by(document: dict[str, Any], mutation: str) -> set[str]:
    return {
        s["name"]
        for s in document["scenarios"]
        if mutation in {k["mutation"] for k in s["killed_by"]}
    }


def test_a_guide_edit_kills_the_scenarios_that_read_its_figure(kill_matrix: dict[str, Any]) -> None:
    killed = _killed_by(kill_matrix, "weekly-window-on-monday")
    assert any(name.startswith("An instant is inside the weekly window") for name in killed)
    assert any(name.startswith("The next window, as a viewer") for name in killed)


def test_a_world_fault_and_a_procedure_no_op_kill_the_notice_scenarios(
    kill_matrix: dict[str, Any],
) -> None:
    notices = (
        "Everyone the guide names is told before a maintenance window; users only of major changes"
    )
    for mutation in ("game-day-statuspage-down", "maintenance-notices-send-nothing"):
        assert notices in _killed_by(kill_matrix, mutation), mutation
    killer = next(
        k
        for s in kill_matrix["scenarios"]
        if s["name"] == notices
        for k in s["killed_by"]
        if k["mutation"] == "maintenance-notices-send-nothing"
    )
    assert killer["status"] == "failed", killer
    assert killer["error"], killer


def test_the_kill_matrix_has_its_schema(kill_matrix: dict[str, Any], tmp_path: Path) -> None:
    document = json.loads(json.dumps(kill_matrix))  # JSON-ready
    assert document["schema"] == matrix.SCHEMA
    assert document["guide_sha256"] == load_guide(DEFAULT_GUIDE).sha256
    assert set(document["features"]) == {FEATURE}
    assert [m["name"] for m in document["mutations"]] == list(ONE_OF_EACH)
    for m in document["mutations"]:
        assert set(m) >= {"name", "kind", "breaks", "features", "exit_code", "problem", "kills"}
        assert m["problem"] == "", m
        assert m["kills"], m
    for s in document["scenarios"]:
        assert set(s) >= {"node_id", "feature_file", "name", "example", "baseline", "killed_by"}
        assert (s["unproven"] is None) == bool(s["killed_by"]), s
    summary = document["summary"]
    assert summary["scenarios"] == len(document["scenarios"])
    assert summary["killed"] + summary["unproven"] == summary["scenarios"]
    # the @finding scenarios are gaps no mutation of these three kills: listed as unproven
    assert summary["unproven"] >= 1
    text = matrix.render(document)
    assert "unproven: maintenance_windows > The guide states when the quarterly window is" in text
    path = matrix.write(document, tmp_path / "kill-matrix.json")
    assert matrix.load(path) == document
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ConfigurationError, match="not a kill matrix"):
        matrix.load(tmp_path / "other.json")


def test_proof_fields_name_the_killers_or_say_why_unproven(kill_matrix: dict[str, Any]) -> None:
    sha = kill_matrix["guide_sha256"]
    killed = next(s for s in kill_matrix["scenarios"] if s["killed_by"])
    unproven = next(s for s in kill_matrix["scenarios"] if s["unproven"])
    proof = matrix.proof_fields(kill_matrix, killed, sha, DEFAULT_FEATURES)
    assert proof == {"mutation_proof": {"killed_by": [k["mutation"] for k in killed["killed_by"]]}}
    assert matrix.proof_fields(kill_matrix, unproven, sha, DEFAULT_FEATURES) == {
        "unproven": matrix.UNPROVEN
    }
    assert (
        "another guide"
        in matrix.proof_fields(kill_matrix, killed, "x", DEFAULT_FEATURES)["unproven"]
    )
    stranger = {**killed, "node_id": "elsewhere::test_x"}
    assert matrix.proof_fields(kill_matrix, stranger, sha, DEFAULT_FEATURES) == {
        "unproven": "not in the kill matrix"
    }
    other_feature = {**killed, "feature_file": "features/guide.feature"}
    assert (
        "guide.feature"
        in matrix.proof_fields(kill_matrix, other_feature, sha, DEFAULT_FEATURES)["unproven"]
    )
    assert matrix.proof_fields(None, killed, sha, DEFAULT_FEATURES) == {}


def test_a_drill_given_the_matrix_lists_unproven_scenarios(
    kill_matrix: dict[str, Any], tmp_path: Path
) -> None:
    path = matrix.write(kill_matrix, tmp_path / "kill-matrix.json")
    report = tmp_path / "report"
    done = runbook(
        "drill", "--only", FEATURE, "-n", "0", "--pg", "embedded",
        "--report-dir", str(report), "--kill-matrix", str(path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    records = json.loads((report / "evidence.json").read_text())["scenarios"]
    for record in records:
        assert ("mutation_proof" in record) != ("unproven" in record), record["name"]
    unproven = [r for r in records if "unproven" in r]
    assert unproven
    assert all(r["unproven"] == matrix.UNPROVEN for r in unproven)
    html = (report / "evidence.html").read_text()
    assert "unproven</span>" in html
    assert "killed by mutations: " in html
    missing = runbook("drill", "--only", FEATURE, "--kill-matrix", str(tmp_path / "none.json"))
    assert missing.returncode == 2
    assert "--kill-matrix" in missing.stderr


def _run(statuses: dict[str, str], problem: str = "") -> matrix.DrillRun:
    records = {
        node: {"status": status, "error": f"{status} error", "name": node, "feature_file": "f"}
        for node, status in statuses.items()
    }
    return matrix.DrillRun(1, records, problem)


def test_a_kill_is_a_changed_verdict_of_a_scenario_the_baseline_could_judge() -> None:
    baseline = _run({"a": "passed", "b": "gap", "c": "passed", "d": "failed", "e": "passed"})
    mutated = _run({"a": "failed", "b": "passed", "c": "skipped", "d": "passed", "e": "passed"})
    assert set(matrix.killed(baseline, mutated)) == {"a", "b"}
    assert matrix.killed(baseline, _run({"a": "failed"}, problem="exit 2: usage")) == {}


def test_a_mutation_of_no_selected_feature_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, ...]] = []

    def fake(options: DrillOptions, *_args: object) -> matrix.DrillRun:
        ran.append(options.only)
        return _run({"x": "passed"})

    monkeypatch.setattr(matrix, "run_drills", fake)
    document = matrix.build(
        DrillOptions(only=("guide",)), [find("weekly-window-on-monday")], say=lambda _: None
    )
    assert ran == [("guide",)]  # the baseline only
    assert "runs against none of guide" in document["mutations"][0]["problem"]
    assert document["summary"]["not_applied"] == ["weekly-window-on-monday"]


def test_an_interrupted_matrix_resumes_and_a_signalled_child_runs_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []
    interrupt = {"at": "weekly-window-2-to-5-am"}

    def fake(options: DrillOptions, directory: Path, mutation: Any, *_: object) -> matrix.DrillRun:
        name = mutation.name if mutation else ""
        calls.append(name)
        if name == interrupt["at"]:
            raise KeyboardInterrupt
        if name == "weekly-window-on-monday" and calls.count(name) == 1:
            return matrix.DrillRun(-15, {}, "no evidence written (exit -15)")
        return _run({"x": "failed" if mutation else "passed"})

    monkeypatch.setattr(matrix, "run_drills", fake)
    selected = [find(n) for n in ("weekly-window-on-monday", "weekly-window-2-to-5-am")]
    options = DrillOptions(only=(FEATURE,))
    partial = tmp_path / "kill-matrix.json.partial"
    with pytest.raises(KeyboardInterrupt):
        matrix.build(options, selected, say=lambda _: None, checkpoint=partial)
    assert calls == [
        "",
        "weekly-window-on-monday",
        "weekly-window-on-monday",
        "weekly-window-2-to-5-am",
    ]
    calls.clear()
    interrupt["at"] = ""
    document = matrix.build(options, selected, say=lambda _: None, checkpoint=partial)
    assert calls == ["weekly-window-2-to-5-am"]  # the baseline and the first run were kept
    assert document["summary"]["resumed_runs"] == 2
    assert document["summary"]["killed"] == 1
    assert not partial.exists()
