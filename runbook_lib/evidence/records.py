"""Evidence records: what each scenario measured, what it found, and the run around it.

Every ``Then`` records a :class:`Measurement` (name, value, unit, comparator, threshold,
passed) through :meth:`ScenarioEvidence.check` *before* it asserts, and gaps in the guide are
recorded as :class:`Finding`. :func:`write_evidence` writes ``evidence.json`` with secrets
redacted. Cf. chaostoolkit's run journal, with typed records instead of dicts.
"""

from __future__ import annotations

import json
import platform
import subprocess
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from runbook_lib.errors import FindingConfirmed, ThresholdBreached
from runbook_lib.guide.units import Comparator, compare
from runbook_lib.world.files import write_atomic
from runbook_lib.world.redact import Redactor
from runbook_lib.world.rewrites import Rewrite
from runbook_lib.world.touched import Touched

EVIDENCE_FILE = "evidence.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    unit: str
    comparator: Comparator | None
    threshold: float | None
    # True/False against the threshold; None for a value only recorded (no comparator): such a
    # value is evidence of what was seen, never a pass
    passed: bool | None
    detail: str = ""


@dataclass(frozen=True)
class Finding:
    """A gap in the guide: its literal text cannot work, or its promises contradict."""

    id: str
    section: str
    title: str
    detail: str
    scenario: str = ""


@dataclass
class ScenarioEvidence:
    """Collected while one scenario runs; the ``evidence`` fixture hands it to steps."""

    feature: str = ""
    feature_file: str = ""
    name: str = ""
    tags: tuple[str, ...] = ()
    node_id: str = ""  # pytest's id: tells Scenario Outline examples apart
    example: dict[str, str] = field(default_factory=dict)  # the outline example row, if any
    measurements: list[Measurement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)  # guide commands changed to run here
    guide_lines: set[int] = field(default_factory=set)  # the guide lines the scenario read
    real: set[str] = field(default_factory=set)  # real components it exercised
    simulated: set[str] = field(default_factory=set)  # simulations it exercised
    status: str = "not run"
    duration_seconds: float = 0.0
    error: str = ""

    @property
    def sections(self) -> tuple[str, ...]:
        return tuple(t.partition(":")[2] for t in self.tags if t.startswith("guide:"))

    @property
    def controls(self) -> tuple[str, ...]:
        return tuple(t.partition(":")[2] for t in self.tags if t.startswith("control:"))

    def measure(
        self,
        name: str,
        value: float,
        unit: str = "",
        comparator: Comparator | None = None,
        threshold: float | None = None,
        detail: str = "",
    ) -> Measurement:
        """Record a figure; with a comparator and threshold it also records pass/fail (without,
        ``passed`` is None: a recorded value, not a verdict)."""
        passed = (
            None
            if comparator is None or threshold is None
            else compare(value, comparator, threshold)
        )
        measurement = Measurement(name, float(value), unit, comparator, threshold, passed, detail)
        self.measurements.append(measurement)
        return measurement

    def check(
        self,
        name: str,
        value: float,
        comparator: Comparator,
        threshold: float,
        unit: str = "",
        detail: str = "",
    ) -> Measurement:
        """Record, then raise ThresholdBreached when ``value comparator threshold`` is false."""
        measurement = self.measure(name, value, unit, comparator, threshold, detail)
        if not measurement.passed:
            raise ThresholdBreached(
                f"{name}: {value:g} {unit} is not {comparator} {threshold:g} {unit}".replace(
                    "  ", " "
                )
                + (f" ({detail})" if detail else "")
            )
        return measurement

    def check_true(self, name: str, holds: bool, detail: str = "") -> Measurement:
        """Record a yes/no check (as 1 or 0, which must equal 1), then raise ThresholdBreached
        when it does not hold."""
        measurement = self.measure(name, 1.0 if holds else 0.0, "", "==", 1.0, detail)
        if not holds:
            raise ThresholdBreached(f"{name}: no" + (f" ({detail})" if detail else ""))
        return measurement

    def finding(self, finding_id: str, section: str, title: str, detail: str) -> Finding:
        found = Finding(finding_id, section, title, detail, self.name)
        self.findings.append(found)
        return found

    def confirm_finding(self, finding_id: str, section: str, title: str, detail: str) -> None:
        """Record the finding and raise FindingConfirmed (expected by ``@finding:<id>``)."""
        self.finding(finding_id, section, title, detail)
        raise FindingConfirmed(finding_id, f"finding {finding_id}: {title}: {detail}")

    def rewrite(self, rewrite: Rewrite) -> None:
        """Record a change made to a guide command to run it here, with its judgement."""
        self.rewrites.append(rewrite)

    def note(self, text: str) -> None:
        self.notes.append(text)


@dataclass(frozen=True)
class RunInfo:
    id: str
    started_at: str
    finished_at: str
    git_commit: str
    git_dirty: bool
    guide_path: str
    guide_sha256: str
    postgres_backend: str
    postgres_version: str
    mode: str  # "simulated" or "live"
    game_day_fault: str | None
    tool_versions: dict[str, str]
    platform: str
    postgres_storage: str = ""  # where an embedded cluster kept its data: "RAM disk (/dev/shm)"
    target: str = "simulated"  # or a live target of targets.yml (simulations stand in)
    # every section of the guide, anchor -> title, in the guide's order: the report renders
    # from evidence.json alone
    guide_sections: dict[str, str] = field(default_factory=dict)
    # False when the run was interrupted or a planned scenario never ran (listed in not_run):
    # such a run never reads as passed in any artifact
    complete: bool = True
    not_run: list[str] = field(default_factory=list)
    # what was selected: {"subset": bool, "only": [...], "live_only": bool, "planned": n,
    # "deselected": n}; a subset says so in every artifact
    selection: dict[str, Any] = field(default_factory=dict)
    # per guide item, the strongest proof this run gave it: {"real": n, "simulated": n, ...}
    item_coverage: dict[str, int] = field(default_factory=dict)
    # a shard of a drill split across machines (`--shard I/N`, runbook_lib.drill.shard):
    # {"index": i, "count": n, "selected": [the whole selection's scenario ids],
    # "features_sha256": ...}; empty for a run of the whole selection
    shard: dict[str, Any] = field(default_factory=dict)
    # a run joined from shards by `runbook merge` (runbook_lib.evidence.merge): {"count": n,
    # "sources": [one per shard: directory, run id, shard, verdict, sha256 of its evidence],
    # "problems": [what keeps the merge from being whole]}; empty for a run of one process
    merge: dict[str, Any] = field(default_factory=dict)


def new_run_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def git_state(cwd: Path) -> tuple[str, bool]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    if commit.returncode != 0:
        return "unknown", False
    return commit.stdout.strip(), bool(dirty.stdout.strip())


def tool_versions(extra: dict[str, str] | None = None) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in (
        "runbook-lib",
        "pytest",
        "pytest-bdd",
        "moto",
        "respx",
        "hypothesis",
        "psycopg",
        "awscli",
        "testcontainers",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    versions.update(extra or {})
    return versions


def scenario_record(s: ScenarioEvidence) -> dict[str, Any]:
    return {
        "feature": s.feature,
        "feature_file": s.feature_file,
        "name": s.name,
        "node_id": s.node_id,
        "example": dict(s.example),
        "guide_sections": list(s.sections),
        "controls": list(s.controls),
        "tags": list(s.tags),
        "status": s.status,
        "duration_seconds": round(s.duration_seconds, 3),
        "error": s.error,
        "measurements": [asdict(m) for m in s.measurements],
        "findings": [asdict(f) for f in s.findings],
        "notes": s.notes,
        "rewrites": [asdict(r) for r in s.rewrites],
        "guide_lines": sorted(s.guide_lines),
        # the weakest thing the scenario ran against: a check that touched any simulation is
        # "simulated" even when it also used the real database (never claim more)
        "proof": Touched(s.real, s.simulated).level,
        "exercised": {"real": sorted(s.real), "simulated": sorted(s.simulated)},
    }


def write_evidence(
    directory: Path, run: RunInfo, scenarios: list[ScenarioEvidence], redactor: Redactor
) -> Path:
    """Write evidence.json atomically (a half-written file is never left behind), every string
    masked by ``redactor``."""
    return write_evidence_records(directory, run, [scenario_record(s) for s in scenarios], redactor)


def write_evidence_records(
    directory: Path, run: RunInfo, records: list[dict[str, Any]], redactor: Redactor
) -> Path:
    """evidence.json from scenario records (also those merged from parallel workers)."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    counts["total"] = len(records)
    document = {
        "schema_version": SCHEMA_VERSION,
        "run": asdict(run),
        "summary": counts,
        "scenarios": records,
        "findings": unique_findings([f for record in records for f in record["findings"]]),
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / EVIDENCE_FILE
    write_atomic(target, json.dumps(redactor.data(document), indent=2, sort_keys=False) + "\n")
    return target


def unique_findings(
    findings: list[dict[str, Any]], *, per: Literal["scenario", "id"] = "scenario"
) -> list[dict[str, Any]]:
    """Each finding once per scenario that observed it, the first record winning (evidence.json);
    with ``per="id"``, one row per finding id whose detail names those scenarios (the report)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        seen.setdefault((f["id"], f.get("scenario", "")), f)
    if per == "scenario":
        return list(seen.values())
    merged: dict[str, dict[str, Any]] = {}
    for finding in seen.values():
        row = merged.setdefault(finding["id"], {**finding, "scenarios": []})
        row["scenarios"].append(finding.get("scenario", ""))
    for row in merged.values():
        row["detail"] = f"{row['detail']} (seen in: {'; '.join(s for s in row['scenarios'] if s)})"
    return list(merged.values())


def redact_file(path: Path, redactor: Redactor) -> None:
    """Rewrite a text artifact with secrets masked (junit.xml, cucumber.json, logs)."""
    if path.is_file():
        original = path.read_text(encoding="utf-8", errors="replace")
        cleaned = redactor.text(original)
        if cleaned != original:
            write_atomic(path, cleaned)
