"""``runbook merge``: the shards of one drill (``runbook drill --shard I/N`` on several machines)
joined into one run, with one verdict, one manifest and one HTML report.

Each shard's evidence.json says which shard it is and which scenarios the whole selection held
(``run.shard``, see :mod:`runbook_lib.drill.shard`), so the merge can check that it holds the
whole drill: every shard of 1..N once, all of the same guide, features, selection, mode, target
and fault, each scenario run once and by the shard it belongs to, every artifact still matching
its shard's manifest. Whatever fails those checks is a *problem*: the merged run is incomplete
(never passed), every problem is stated in evidence.json (``run.merge.problems``), the HTML,
summary.md and junit.xml, and a selected scenario that no shard ran is listed as ``not run``.

The merged directory holds evidence.json, junit.xml and cucumber.json (the shards' joined),
evidence.html, summary.md and manifest.json, rendered as ``runbook drill`` renders its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.drill.shard import Shard, assignment, record_id
from runbook_lib.errors import ConfigurationError, RunbookError
from runbook_lib.evidence.junit import mark_junit
from runbook_lib.evidence.records import (
    EVIDENCE_FILE,
    RunInfo,
    ScenarioEvidence,
    scenario_record,
    write_evidence_records,
)
from runbook_lib.evidence.report import (
    load_evidence,
    overall_verdict,
    verify_manifest,
    write_report,
)
from runbook_lib.world.files import write_atomic
from runbook_lib.world.redact import Redactor

# what every shard of one drill must share, with how a problem names it
_SAME = (
    (("run", "guide_sha256"), "the guide (sha256)"),
    (("run", "shard", "features_sha256"), "the features (sha256)"),
    (("run", "mode"), "the mode"),
    (("run", "target"), "the target"),
    (("run", "game_day_fault"), "the game-day fault"),
    (("run", "selection", "only"), "--only"),
    (("run", "selection", "live_only"), "the @live selection"),
)


@dataclass(frozen=True)
class Source:
    """One shard's run directory as the merge read it."""

    directory: Path
    run_id: str
    shard: Shard | None
    verdict: str
    scenarios: int
    evidence_sha256: str

    def label(self) -> str:
        return f"{self.directory} (shard {self.shard})" if self.shard else str(self.directory)

    def record(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "run_id": self.run_id,
            "shard": {"index": self.shard.index, "count": self.shard.count} if self.shard else {},
            "verdict": self.verdict,
            "scenarios": self.scenarios,
            "evidence_sha256": self.evidence_sha256,
        }


@dataclass(frozen=True)
class MergeResult:
    """The merged run: where it was written, its verdict and what keeps it from being whole."""

    directory: Path
    verdict: str
    problems: tuple[str, ...]
    sources: tuple[Source, ...]
    scenarios: int
    failed: int
    game_day_fault: str | None

    @property
    def passed(self) -> bool:
        """Passed, with or without known gaps (never failed or incomplete)."""
        return self.verdict.startswith("passed")


def merge_runs(
    directories: list[Path], output: Path, *, step_summary: Path | None = None
) -> MergeResult:
    """Join the shards' run ``directories`` into ``output`` (a new or empty directory).

    An unreadable directory is a ConfigurationError (exit 2); everything else that makes the
    merge less than one whole drill is a problem of the returned, non-passing result.
    """
    if not directories:
        raise ConfigurationError("runbook merge: give the report directories of the shards")
    if output.exists() and any(output.iterdir()):
        raise ConfigurationError(f"--output {output}: not empty; give a new directory")
    documents = [load_evidence(d) for d in directories]  # one line for a missing evidence.json
    sources = tuple(_source(d, doc) for d, doc in zip(directories, documents, strict=True))
    problems = [p for d in directories for p in _integrity(d)]
    problems += _not_shards(sources)
    reference = next((doc for doc in documents if doc["run"].get("shard")), documents[0])
    problems += _differences(sources, documents, reference)
    kept, duplicates = _one_per_index(sources, documents)
    problems += duplicates
    selected: list[str] = list(reference["run"].get("shard", {}).get("selected", []))
    count = int(reference["run"].get("shard", {}).get("count", 0))
    records, misplaced = _records(kept, selected, count)
    problems += misplaced
    present = {s.shard.index for s, _ in kept if s.shard}
    belongs = assignment(selected, count) if count else {}
    for index in range(1, count + 1):
        if index not in present:
            share = sum(1 for i in belongs.values() if i == index)
            problems.append(f"shard {index}/{count} missing: its {share} scenario(s) never ran")
    run = _run_info(output, sources, [doc for _, doc in kept] or documents, records, problems)
    output.mkdir(parents=True, exist_ok=True)
    write_evidence_records(output, run, records, Redactor(os.environ))
    _join_junit([d / "junit.xml" for d in directories], output / "junit.xml", run)
    _join_cucumber([d / "cucumber.json" for d in directories], output / "cucumber.json")
    write_report(output, step_summary=step_summary)
    merged = load_evidence(output)
    return MergeResult(
        directory=output,
        verdict=overall_verdict(merged),
        problems=tuple(problems),
        sources=sources,
        scenarios=len(records),
        failed=int(merged["summary"].get("failed", 0)),
        game_day_fault=run.game_day_fault,
    )


def _source(directory: Path, document: dict[str, Any]) -> Source:
    shard = document["run"].get("shard") or {}
    digest = hashlib.sha256((directory / EVIDENCE_FILE).read_bytes()).hexdigest()
    return Source(
        directory=directory,
        run_id=str(document["run"].get("id", directory.name)),
        shard=Shard(int(shard["index"]), int(shard["count"])) if shard else None,
        verdict=overall_verdict(document),
        scenarios=len(document["scenarios"]),
        evidence_sha256=digest,
    )


def _integrity(directory: Path) -> list[str]:
    """A shard whose artifacts changed since its run wrote them cannot be evidence."""
    try:
        altered = verify_manifest(directory)
    except ConfigurationError as exc:
        return [str(exc)]
    return [f"{directory}: {'; '.join(altered)} (against its manifest.json)"] if altered else []


def _not_shards(sources: tuple[Source, ...]) -> list[str]:
    return [
        f"{s.directory}: not a shard (it ran without --shard I/N); merge joins the shards of one drill"
        for s in sources
        if s.shard is None
    ]


def _get(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _differences(
    sources: tuple[Source, ...], documents: list[dict[str, Any]], reference: dict[str, Any]
) -> list[str]:
    """Each shard that is not of the same drill as the first one, and how it differs."""
    first = next((s for s in sources if s.shard), sources[0])
    problems = []
    for source, document in zip(sources, documents, strict=True):
        if source.shard is None or document is reference:
            continue
        differs = [name for path, name in _SAME if _get(document, path) != _get(reference, path)]
        if first.shard and source.shard.count != first.shard.count:
            differs.append(f"the shard count ({source.shard.count}, not {first.shard.count})")
        mine = set(_get(document, ("run", "shard", "selected")) or [])
        theirs = set(_get(reference, ("run", "shard", "selected")) or [])
        if mine != theirs:
            differs.append(
                f"the selected scenarios ({len(mine - theirs)} more, {len(theirs - mine)} fewer)"
            )
        if differs:
            problems.append(
                f"{source.label()} is not of the same drill as {first.label()}: "
                f"{', '.join(differs)} differ"
            )
    return problems


def _one_per_index(
    sources: tuple[Source, ...], documents: list[dict[str, Any]]
) -> tuple[list[tuple[Source, dict[str, Any]]], list[str]]:
    """The first run of each shard index; a second one is a problem (and is left out)."""
    kept: dict[int, tuple[Source, dict[str, Any]]] = {}
    problems = []
    for source, document in zip(sources, documents, strict=True):
        if source.shard is None:
            continue
        if source.shard.index in kept:
            problems.append(
                f"shard {source.shard} given twice: {kept[source.shard.index][0].directory} "
                f"and {source.directory}"
            )
            continue
        kept[source.shard.index] = (source, document)
    return [kept[i] for i in sorted(kept)], problems


def _records(
    kept: list[tuple[Source, dict[str, Any]]], selected: list[str], count: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every scenario record once, in the selection's order, each selected scenario no shard
    reported as ``not run``; scenarios run twice, or by a shard they do not belong to."""
    belongs = assignment(selected, count) if count else {}
    found: dict[str, dict[str, Any]] = {}
    ran_by: dict[str, Source] = {}
    twice: list[str] = []
    stray: dict[Source, int] = {}
    for source, document in kept:
        for record in document["scenarios"]:
            key = record_id(record)
            if source.shard and belongs.get(key) != source.shard.index:
                stray[source] = stray.get(source, 0) + 1
            if key in found:
                twice.append(f"{key} ({ran_by[key].directory}, {source.directory})")
                continue
            found[key], ran_by[key] = record, source
    problems = []
    if twice:
        problems.append(
            f"{len(twice)} scenario(s) ran in more than one shard: {'; '.join(twice[:5])}"
        )
    problems += [
        f"{s.label()} ran {n} scenario(s) that are not its share of the selection"
        for s, n in stray.items()
    ]
    order = {key: position for position, key in enumerate(selected)}
    records = sorted(found.values(), key=lambda r: order.get(record_id(r), len(order)))
    files = {Path(r["feature_file"]).stem: r["feature_file"] for r in records if r["feature_file"]}
    folder = next((str(Path(f).parent) for f in files.values()), ".")
    records += [_never_ran(key, files, folder) for key in selected if key not in found]
    return records, problems


def _never_ran(key: str, files: dict[str, str], folder: str) -> dict[str, Any]:
    """The record of a selected scenario no shard reported (named by its id alone)."""
    stem, _, name = key.partition("::")
    record = scenario_record(ScenarioEvidence(name=name or key, node_id=key))
    feature_file = files.get(stem) or str(Path(folder) / f"{stem}.feature")
    return {**record, "feature_file": feature_file if name else ""}


def _run_info(
    output: Path,
    sources: tuple[Source, ...],
    documents: list[dict[str, Any]],
    records: list[dict[str, Any]],
    problems: list[str],
) -> RunInfo:
    runs = [d["run"] for d in documents]
    first = runs[0]
    shard = first.get("shard") or {}
    selected = list(shard.get("selected", []))
    selection = dict(first.get("selection") or {})
    # a shard's deselected count includes the other shards' share: take it back out
    outside = int(selection.get("deselected", 0)) - (
        len(selected) - int(selection.get("planned", 0))
    )
    selection.update(
        planned=len(selected),
        deselected=max(outside, 0),
        subset=bool(selection.get("only") or selection.get("live_only") or outside > 0),
    )
    not_run = [_label(r) for r in records if r["status"] == "not run"]
    return RunInfo(
        id=output.name,
        started_at=min(r["started_at"] for r in runs),
        finished_at=max(r["finished_at"] for r in runs),
        git_commit=_joined(r["git_commit"] for r in runs),
        git_dirty=any(r["git_dirty"] for r in runs),
        guide_path=first["guide_path"],
        guide_sha256=first["guide_sha256"],
        postgres_backend=_joined(r["postgres_backend"] for r in runs),
        postgres_version=_joined(r["postgres_version"] for r in runs),
        postgres_storage=_joined(r.get("postgres_storage", "") for r in runs),
        mode=first["mode"],
        target=first.get("target", "simulated"),
        game_day_fault=first.get("game_day_fault"),
        tool_versions=dict(first.get("tool_versions") or {}),
        platform=_joined(r["platform"] for r in runs),
        guide_sections=dict(first.get("guide_sections") or {}),
        complete=not problems and not not_run and all(r.get("complete", True) for r in runs),
        not_run=not_run,
        selection=selection,
        item_coverage=_item_coverage(first, records),
        merge={
            "count": int(shard.get("count", 0)),
            "sources": [s.record() for s in sources],
            "problems": list(problems),
        },
    )


def _joined(values: Any) -> str:
    return ", ".join(dict.fromkeys(str(v) for v in values if v)) or ""


def _label(record: dict[str, Any]) -> str:
    example = ", ".join(f"{k}={v}" for k, v in record.get("example", {}).items())
    stem = Path(record.get("feature_file", "")).stem
    name = f"{stem} > {record['name']}" if stem else record["name"]
    return f"{name} [{example}]" if example else name


def _item_coverage(run: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, int]:
    """Per guide item, the strongest proof across every shard, when the guide the shards ran
    is at hand here (same sha256); else nothing is claimed."""
    from runbook_lib.guide.coverage import distribution, item_coverage
    from runbook_lib.guide.model import load_guide
    from runbook_lib.paths import DEFAULT_GUIDE

    for path in (Path(run["guide_path"]), DEFAULT_GUIDE):
        try:
            guide = load_guide(path)
        except (RunbookError, OSError):
            continue
        if guide.sha256 == run["guide_sha256"]:
            return distribution(item_coverage(guide, records))
    return {}


def _join_junit(paths: list[Path], target: Path, run: RunInfo) -> None:
    """One test suite of every shard's test cases (their own "run complete" cases left out:
    :func:`mark_junit` judges the merged run, stating the merge's problems)."""
    cases = []
    for path in paths:
        if not path.is_file():
            continue
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        for suite in suites:
            cases += [c for c in suite.findall("testcase") if c.get("classname") != "runbook"]
    if not cases:
        return
    suite = ET.Element("testsuite", name="runbook-drill")
    for case in cases:
        suite.append(case)
    suite.set("tests", str(len(cases)))
    for kind, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(kind, str(sum(1 for c in cases if c.find(tag) is not None)))
    suite.set("time", f"{sum(float(c.get('time', '0') or 0) for c in cases):.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    write_atomic(target, ET.tostring(root, encoding="unicode", xml_declaration=True))
    mark_junit(target, run)
    if run.merge.get("problems"):
        tree = ET.parse(target)
        merged = tree.getroot().find("testsuite")
        assert merged is not None
        case = ET.SubElement(
            merged, "testcase", classname="runbook", name="the merged shards are one drill"
        )
        failure = ET.SubElement(case, "failure", message=run.merge["problems"][0])
        failure.text = "\n".join(run.merge["problems"])
        merged.set("tests", str(int(merged.get("tests", "0")) + 1))
        merged.set("failures", str(int(merged.get("failures", "0")) + 1))
        write_atomic(target, ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True))


def _join_cucumber(paths: list[Path], target: Path) -> None:
    """One cucumber.json: each feature once, with the scenarios every shard ran of it."""
    features: dict[str, dict[str, Any]] = {}
    if not any(path.is_file() for path in paths):
        return
    for path in paths:
        if not path.is_file():
            continue
        for feature in json.loads(path.read_text(encoding="utf-8")):
            known = features.setdefault(feature.get("uri", ""), {**feature, "elements": []})
            known["elements"] += feature.get("elements", [])
    write_atomic(target, json.dumps(list(features.values()), indent=2) + "\n")
