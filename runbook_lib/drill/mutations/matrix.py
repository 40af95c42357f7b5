"""The kill matrix: which mutations turn which scenario red, measured, never assumed.

:func:`build` runs the drills of the selected features once unmutated (the *baseline*) and once
under each mutation, serially, each in a child ``pytest`` with its own evidence directory. A
scenario is *killed* by a mutation when its verdict differs from the baseline's (passed ->
failed, gap -> failed or passed); a scenario that was red, skipped or not run in the baseline
cannot be judged, and a mutated run that did not complete (a usage error, an interrupted run,
no evidence) counts no kill at all. The matrix names, per scenario, the mutations that kill it
with the error each produced; a scenario no mutation kills is *unproven*.

:func:`proof_fields` is what a drill given ``--kill-matrix`` writes per scenario: the mutations
that kill it, or why it is unproven (also when the matrix was computed for another guide or
another version of the scenario's feature file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.drill.mutations.base import Mutation, mutated_config, mutated_guide
from runbook_lib.drill.options import DrillOptions
from runbook_lib.errors import ConfigurationError, RunbookError
from runbook_lib.evidence.records import EVIDENCE_FILE, git_state, utc_now
from runbook_lib.guide.model import load_guide
from runbook_lib.world.files import write_atomic

SCHEMA = "runbook-kill-matrix/1"
UNPROVEN = "no mutation kills it"
JUDGED = ("passed", "gap")  # baseline verdicts a mutation can change
VERDICTS = ("passed", "failed", "gap")  # mutated verdicts that count
PLUGIN = "runbook_lib.drill.mutations.plugin"


@dataclass(frozen=True)
class DrillRun:
    """One child drill: pytest's exit code, its scenario records by node id, and why it cannot
    be judged ("" when it can)."""

    code: int
    records: dict[str, dict[str, Any]]
    problem: str = ""
    seconds: float = 0.0


def child_args(mutation: Mutation | None) -> list[str]:
    """Extra pytest arguments of a (mutated) child drill."""
    args = ["-p", "no:randomly"]
    if mutation is not None and mutation.needs_plugin:
        args += ["-p", PLUGIN, f"--mutation={mutation.name}"]
    return args


def run_drills(
    options: DrillOptions, directory: Path, mutation: Mutation | None, timeout: float = 900
) -> DrillRun:
    """The drills of ``options.only``, serially, unmutated or under ``mutation``."""
    from runbook_lib.drill.runner import pytest_argv

    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        if mutation is not None:
            options = dataclasses.replace(
                options,
                guide=mutated_guide(mutation, options.guide, directory),
                config=mutated_config(mutation, options.config, directory),
                fault=mutation.game_day,
            )
    except RunbookError as exc:
        return DrillRun(-1, {}, f"not applied: {exc}")
    evidence_dir = directory / "evidence"
    options = dataclasses.replace(options, workers="0", evidence_dir=evidence_dir.resolve())
    argv = [*pytest_argv(options), *child_args(mutation)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    code, output = _run_child(argv, environ, timeout)
    seconds = time.monotonic() - started
    written = evidence_dir / EVIDENCE_FILE
    tail = " | ".join(output.strip().splitlines()[-3:])[:400]
    if code is None:
        return DrillRun(-1, {}, f"timed out after {timeout:g} s: {tail}", seconds)
    if not written.exists():
        return DrillRun(code, {}, f"no evidence written (exit {code}): {tail}", seconds)
    document = json.loads(written.read_text(encoding="utf-8"))
    records = {str(r["node_id"]): r for r in document["scenarios"]}
    if code not in (0, 1):
        return DrillRun(code, records, f"exit {code}: {tail}", seconds)
    if not document["run"].get("complete", False):
        return DrillRun(code, records, f"incomplete run: {tail}", seconds)
    return DrillRun(code, records, "", seconds)


def _run_child(argv: list[str], environ: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Exit code and output of a child drill; None when it outlived ``timeout`` (then it is
    interrupted like Ctrl-C, so it still stops its servers, and killed if it does not)."""
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=environ)
        try:
            code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            code = None
        output.seek(0)
        return code, output.read()


def killed(baseline: DrillRun, mutated: DrillRun) -> dict[str, dict[str, Any]]:
    """The scenarios whose verdict ``mutated`` changed, each with its mutated status and error."""
    if mutated.problem:
        return {}
    found = {}
    for node_id, record in mutated.records.items():
        before = baseline.records.get(node_id, {}).get("status")
        status = record["status"]
        if before in JUDGED and status in VERDICTS and status != before:
            found[node_id] = {"status": status, "error": record.get("error") or ""}
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_once_more(
    options: DrillOptions,
    directory: Path,
    mutation: Mutation | None,
    timeout: float,
    say: Callable[[str], None],
) -> DrillRun:
    """A child drill ended by a signal it did not ask for is run once more (a shared machine's
    housekeeping is no verdict of the mutation); a second such end is reported as it is."""
    result = run_drills(options, directory, mutation, timeout)
    if result.code < 0 and not result.problem.startswith("timed out"):
        say(f"  (the child drill was ended by signal {-result.code}: running it again)")
        result = run_drills(options, directory / "again", mutation, timeout)
    return result


_KEPT = ("node_id", "feature_file", "name", "example", "status", "error")


class Checkpoint:
    """The runs done so far, one JSON line each after a header line, so that a matrix
    interrupted after hours resumes where it stopped; runs are kept only for the same guide,
    features, selection and backend (the header), else the file starts again. The matrix
    says how many of its runs were resumed (code may have changed in between)."""

    def __init__(self, path: Path | None, key: dict[str, Any]) -> None:
        self.path, self.done = path, {}
        if path is None:
            return
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if lines and json.loads(lines[0]) == key:
            for line in lines[1:]:
                entry = json.loads(line)
                self.done[entry["name"]] = DrillRun(
                    entry["code"], entry["records"], entry["problem"], entry["seconds"]
                )
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(key) + "\n", encoding="utf-8")

    def get(self, name: str) -> DrillRun | None:
        return self.done.get(name)

    def add(self, name: str, run: DrillRun) -> None:
        self.done[name] = run
        if self.path is None:
            return
        records = {n: {k: r.get(k) for k in _KEPT} for n, r in run.records.items()}
        entry = {"name": name, "code": run.code, "records": records, "problem": run.problem}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({**entry, "seconds": run.seconds}) + "\n")

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def build(
    options: DrillOptions,
    mutations: Iterable[Mutation],
    say: Callable[[str], None] = print,
    workdir: Path | None = None,
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """Run the baseline and every mutation; the kill matrix as a JSON-ready document.

    With ``checkpoint``, every finished run is kept there and a rerun of the same selection
    (same guide and features) resumes from it; it is removed once the matrix is built."""
    selected = tuple(mutations)
    stems = options.only or tuple(options.available_features())
    key = {
        "schema": SCHEMA,
        "guide_sha256": load_guide(options.guide).sha256,
        "features": {s: _sha256(options.features / f"{s}.feature") for s in stems},
        "mutations": [m.name for m in selected],
        "pg": options.pg,
    }
    kept = Checkpoint(checkpoint, key)
    resumed = len(kept.done)
    if kept.done:
        say(f"resuming: {len(kept.done)} runs kept in {checkpoint}")
    with tempfile.TemporaryDirectory(prefix="runbook-mutate-", dir=workdir) as scratch:
        root = Path(scratch)
        base = dataclasses.replace(options, only=stems)
        say(f"baseline: {', '.join(stems)}")
        baseline = kept.get("") or _run_once_more(base, root / "baseline", None, 900, say)
        if baseline.problem:
            raise ConfigurationError(f"the unmutated baseline cannot be judged: {baseline.problem}")
        if kept.get("") is None:
            kept.add("", baseline)
        limit = max(300.0, 3 * baseline.seconds)  # a mutation that hangs a drill counts nothing
        runs: list[tuple[Mutation, DrillRun, dict[str, dict[str, Any]]]] = []
        for index, mutation in enumerate(selected, 1):
            features = tuple(stem for stem in mutation.features if stem in stems)
            run = kept.get(mutation.name)
            if run is None and not features:
                run = DrillRun(-1, {}, f"runs against none of {', '.join(stems)}")
            elif run is None:
                only = dataclasses.replace(options, only=features)
                run = _run_once_more(only, root / f"m{index:03d}", mutation, limit, say)
                kept.add(mutation.name, run)
            kills = killed(baseline, run)
            runs.append((mutation, run, kills))
            verdict = run.problem or f"kills {len(kills)}"
            say(f"[{index}/{len(selected)}] {mutation.name} ({mutation.kind}): {verdict}")
    document = _document(options, stems, baseline, runs)
    document["summary"]["resumed_runs"] = resumed
    kept.remove()
    return document


def _document(
    options: DrillOptions,
    stems: tuple[str, ...],
    baseline: DrillRun,
    runs: list[tuple[Mutation, DrillRun, dict[str, dict[str, Any]]]],
) -> dict[str, Any]:
    scenarios = []
    for node_id, record in baseline.records.items():
        killers = [
            {"mutation": m.name, "kind": m.kind, **kills[node_id]}
            for m, _, kills in runs
            if node_id in kills
        ]
        status = record["status"]
        unproven = None
        if status not in JUDGED:
            unproven = f"{status} in the unmutated baseline: no mutation can be judged"
        elif not killers:
            unproven = UNPROVEN
        scenarios.append(
            {
                "node_id": node_id,
                "feature_file": record["feature_file"],
                "name": record["name"],
                "example": record.get("example", {}),
                "baseline": status,
                "killed_by": killers,
                "unproven": unproven,
            }
        )
    mutations = [
        {
            "name": m.name,
            "kind": m.kind,
            "breaks": m.breaks,
            "features": list(m.features),
            "exit_code": run.code,
            "problem": run.problem,
            "seconds": round(run.seconds, 1),
            "kills": sorted(kills),
        }
        for m, run, kills in runs
    ]
    commit, dirty = git_state(options.guide.resolve().parent)
    return {
        "schema": SCHEMA,
        "created_at": utc_now(),
        "git_commit": commit,
        "git_dirty": dirty,
        "guide_path": str(options.guide),
        "guide_sha256": load_guide(options.guide).sha256,
        "features": {stem: _sha256(options.features / f"{stem}.feature") for stem in stems},
        "summary": {
            "scenarios": len(scenarios),
            "killed": sum(1 for s in scenarios if s["killed_by"]),
            "unproven": sum(1 for s in scenarios if s["unproven"]),
            "mutations": len(mutations),
            "not_applied": [m["name"] for m in mutations if m["problem"]],
            "killing_nothing": [
                m["name"] for m in mutations if not m["problem"] and not m["kills"]
            ],
        },
        "mutations": mutations,
        "scenarios": scenarios,
    }


def write(matrix: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(matrix, indent=2) + "\n")
    return path


def load(path: Path) -> dict[str, Any]:
    """A kill matrix written by ``runbook mutate``; ConfigurationError naming what is wrong."""
    try:
        matrix = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"--kill-matrix {path}: cannot read it ({exc})") from None
    if not isinstance(matrix, dict) or matrix.get("schema") != SCHEMA:
        raise ConfigurationError(
            f"--kill-matrix {path}: not a kill matrix ({SCHEMA}); write one with `runbook mutate`"
        )
    return matrix


def label(scenario: dict[str, Any]) -> str:
    example = ", ".join(f"{k}={v}" for k, v in scenario.get("example", {}).items())
    stem = Path(str(scenario["feature_file"])).stem
    return f"{stem} > {scenario['name']}" + (f" [{example}]" if example else "")


def render(matrix: dict[str, Any], width: int = 70) -> str:
    """The kill matrix as a text table: each scenario, its baseline verdict and its killers."""
    lines = [f"{'scenario':<{width}} {'baseline':<8} killed by"]
    for s in matrix["scenarios"]:
        killers = ", ".join(k["mutation"] for k in s["killed_by"]) or f"UNPROVEN ({s['unproven']})"
        name = label(s)
        name = name if len(name) <= width else name[: width - 3] + "..."
        lines.append(f"{name:<{width}} {s['baseline']:<8} {killers}")
    summary = matrix["summary"]
    lines += [
        "",
        f"{summary['killed']} of {summary['scenarios']} scenarios killed by at least one of "
        f"{summary['mutations']} mutations; {summary['unproven']} unproven",
    ]
    for s in matrix["scenarios"]:
        if s["unproven"]:
            lines.append(f"  unproven: {label(s)}: {s['unproven']}")
    for name in summary["not_applied"]:
        problem = next(m["problem"] for m in matrix["mutations"] if m["name"] == name)
        lines.append(f"  mutation not applied: {name}: {problem}")
    for name in summary["killing_nothing"]:
        lines.append(f"  mutation killing nothing: {name}")
    return "\n".join(lines)


def annotate(
    records: list[dict[str, Any]], path: Path, guide_sha256: str, features: Path
) -> list[dict[str, Any]]:
    """``records`` (evidence.json's scenarios) with their mutation proof from the kill matrix
    at ``path``; an unreadable matrix makes every scenario unproven, saying why."""
    try:
        matrix = load(path)
    except RunbookError as exc:
        return [{**r, "unproven": f"no usable kill matrix: {exc}"} for r in records]
    return [{**r, **proof_fields(matrix, r, guide_sha256, features)} for r in records]


def proof_fields(
    matrix: dict[str, Any] | None, record: dict[str, Any], guide_sha256: str, features: Path
) -> dict[str, Any]:
    """What evidence.json says of a scenario's mutation proof: ``{"mutation_proof":
    {"killed_by": [...]}}`` or ``{"unproven": why}``; nothing without a matrix."""
    if matrix is None:
        return {}
    if matrix.get("guide_sha256") != guide_sha256:
        return {"unproven": "the kill matrix was computed for another guide"}
    stem = Path(str(record.get("feature_file", ""))).stem
    feature = features / f"{stem}.feature"
    known = matrix.get("features", {}).get(stem)
    if known is None or not feature.exists() or known != _sha256(feature):
        return {"unproven": f"the kill matrix was not computed for this version of {stem}.feature"}
    entry = next((s for s in matrix["scenarios"] if s["node_id"] == record.get("node_id")), None)
    if entry is None:
        return {"unproven": "not in the kill matrix"}
    if entry["unproven"]:
        return {"unproven": str(entry["unproven"])}
    return {"mutation_proof": {"killed_by": [k["mutation"] for k in entry["killed_by"]]}}
