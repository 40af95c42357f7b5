"""Evidence reports for auditors: evidence.html (one self-contained file), summary.md, a
manifest of sha256 hashes, and a history line per run.

Everything is rendered from ``evidence.json`` alone, so ``runbook report RUN_DIR`` reproduces the
report of any past run; :func:`verify_manifest` names every file altered since.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from runbook_lib.errors import ConfigurationError
from runbook_lib.evidence.records import EVIDENCE_FILE, unique_findings
from runbook_lib.guide.units import format_seconds
from runbook_lib.paths import TEMPLATES
from runbook_lib.world.files import PARTIAL_SUFFIX, write_atomic

MANIFEST = "manifest.json"
HISTORY = "history.jsonl"
_CSS = {
    "passed": "passed",
    "failed": "failed",
    "gap": "gap",
    "skipped": "skipped",
    "not runnable": "skipped",
}


def load_evidence(run_dir: Path) -> dict[str, Any]:
    path = run_dir / EVIDENCE_FILE
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigurationError(
            f"{run_dir}: no {EVIDENCE_FILE}; point at a run directory such as reports/latest"
        ) from None
    except ValueError as exc:
        raise ConfigurationError(
            f"{path}: not valid JSON ({exc}); the evidence file was damaged"
        ) from None


def overall_verdict(evidence: dict[str, Any]) -> str:
    """failed, incomplete (interrupted, or a planned scenario never ran), passed with gaps, or
    passed: an incomplete run never reads as passed."""
    summary = evidence["summary"]
    if summary.get("failed"):
        return "failed"
    if not evidence["run"].get("complete", True) or summary.get("not run"):
        return "incomplete"
    verdict = "passed with gaps" if summary.get("gap") else "passed"
    if summary.get("not runnable"):  # a capability the server lacks: those scenarios proved nothing
        verdict += f" ({summary['not runnable']} not runnable here)"
    return verdict


def scope_sentence(run: dict[str, Any]) -> str:
    """What the run covered, in words: the whole drill or a subset (and which)."""
    selection = run.get("selection") or {}
    shard = run.get("shard") or {}
    if shard:  # one machine's share of a sharded drill: `runbook merge` joins the shards
        return (
            f"SHARD {shard['index']}/{shard['count']} only: {selection.get('planned', 0)} of the "
            f"{len(shard.get('selected', []))} selected scenarios (`runbook merge` joins the shards)"
        )
    if not selection.get("subset"):
        return "every scenario of the features was selected"
    parts = []
    if selection.get("only"):
        parts.append("only the features " + ", ".join(selection["only"]))
    if selection.get("live_only"):
        parts.append("only the @live scenarios")
    if selection.get("deselected"):
        parts.append(f"{selection['deselected']} scenario(s) deselected")
    return f"a SUBSET: {'; '.join(parts)} ({selection.get('planned', 0)} planned)"


def completeness_sentence(run: dict[str, Any]) -> str:
    merge = run.get("merge") or {}
    if merge.get("problems"):
        return (
            f"INCOMPLETE: the merge of {len(merge.get('sources', []))} shard run(s) is not one "
            f"whole drill: {'; '.join(merge['problems'][:10])}"
        )
    if run.get("complete", True):
        joined = f", joined from {merge['count']} shards" if merge else ""
        return f"complete: every planned scenario reached a verdict{joined}"
    never = run.get("not_run") or []
    return (
        f"INCOMPLETE: the run was interrupted or lost a worker; {len(never)} planned "
        f"scenario(s) never ran" + (f": {'; '.join(never[:20])}" if never else "")
    )


def write_report(
    run_dir: Path, *, record_history: bool = True, step_summary: Path | None = None
) -> Path:
    """Render evidence.html and summary.md from evidence.json alone, append to history (and to
    ``step_summary``, e.g. ``$GITHUB_STEP_SUMMARY``), then write the manifest."""
    evidence = load_evidence(run_dir)
    history_path = run_dir.parent / HISTORY
    history = _read_history(history_path)
    if record_history and not any(h.get("id") == evidence["run"]["id"] for h in history):
        history.append(_history_line(evidence))
        with history_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(history[-1]) + "\n")
    html = _render_html(evidence, history[-20:], evidence["run"].get("guide_sections") or {})
    write_atomic(run_dir / "evidence.html", html)
    summary = summary_markdown(evidence)
    write_atomic(run_dir / "summary.md", summary)
    if step_summary is not None:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary + "\n")
    write_manifest(run_dir)
    return run_dir / "evidence.html"


def _read_history(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # a torn line from a killed run must not hide the others
    return lines


def _history_line(evidence: dict[str, Any]) -> dict[str, Any]:
    controls: dict[str, str] = {}
    for scenario in evidence["scenarios"]:
        for control in scenario["controls"]:
            controls[control] = _worse(controls.get(control, "passed"), scenario["status"])
    recovery = [
        m["value"]
        for s in evidence["scenarios"]
        for m in s["measurements"]
        if m["name"].startswith("database recovery time (measured")
    ]
    return {
        "id": evidence["run"]["id"],
        "started_at": evidence["run"]["started_at"],
        "summary": evidence["summary"],
        "verdict": overall_verdict(evidence),
        "database_recovery_seconds": recovery[0] if recovery else None,
        "findings": len(evidence["findings"]),
        "controls": controls,
        "game_day_fault": evidence["run"].get("game_day_fault"),
    }


def _worse(a: str, b: str) -> str:
    order = {"passed": 0, "skipped": 1, "not run": 1, "not runnable": 1, "gap": 2, "failed": 3}
    return a if order.get(a, 1) >= order.get(b, 1) else b


def _render_html(
    evidence: dict[str, Any], history: list[dict[str, Any]], titles: dict[str, str]
) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    overall = overall_verdict(evidence)
    return environment.get_template("evidence.html.j2").render(
        run=evidence["run"],
        summary=evidence["summary"],
        findings=unique_findings(evidence["findings"], per="id"),
        overall=overall,
        overall_class="failed"
        if overall in ("failed", "incomplete")
        else ("gap" if "gaps" in overall else "passed"),
        scope=scope_sentence(evidence["run"]),
        completeness=completeness_sentence(evidence["run"]),
        controls=_controls(evidence, history),
        sections=_sections(evidence, titles),
        history=history,
        trend_svg=_trend_svg(history),
    )


def _controls(evidence: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for scenario in evidence["scenarios"]:
        for control in scenario["controls"]:
            row = found.setdefault(control, {"id": control, "count": 0, "verdict": "passed"})
            row["count"] += 1
            row["verdict"] = _worse(row["verdict"], scenario["status"])
    for row in found.values():
        passes = [
            h["started_at"] for h in history if h.get("controls", {}).get(row["id"]) == "passed"
        ]
        row["last_pass"] = passes[-1] if passes else None
        row["scenarios"] = f"{row['count']} scenario{'s' if row['count'] != 1 else ''}"
    return sorted(found.values(), key=lambda r: r["id"])


def _sections(evidence: dict[str, Any], titles: dict[str, str]) -> list[dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for scenario in evidence["scenarios"]:
        anchor = scenario["guide_sections"][-1] if scenario["guide_sections"] else "unsectioned"
        grouped.setdefault(anchor, []).append(_scenario_view(scenario))
    order = list(titles)
    return [
        {"anchor": anchor, "title": titles.get(anchor, anchor), "scenarios": scenarios}
        for anchor, scenarios in sorted(
            grouped.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)
        )
    ]


def _scenario_view(scenario: dict[str, Any]) -> dict[str, Any]:
    measurements = [
        {
            **m,
            "display": _display(m["value"], m["unit"]),
            "threshold_display": _display(m["threshold"], m["unit"])
            if m["threshold"] is not None
            else "",
        }
        for m in scenario["measurements"]
    ]
    return {
        **scenario,
        "css": _CSS.get(scenario["status"], "other"),
        "measurements": measurements,
        "charts": _bullet_svg(
            [
                m
                for m in scenario["measurements"]
                if m["comparator"] in ("<=", "<") and m["unit"] in ("s", "ms")
            ]
        )
        + _timeline_svg([m for m in scenario["measurements"] if m["name"].startswith("paged ")])
        + _alert_svg(scenario["measurements"]),
    }


def _display(value: float, unit: str) -> str:
    if unit == "s":
        return format_seconds(value)
    if unit == "bytes":
        return f"{value / 1024**2:,.1f} MiB"
    return f"{value:,.4g} {unit}".strip()


def _bullet_svg(measurements: list[dict[str, Any]]) -> str:
    """One bar per measurement against its limit (the limit line sits at 80% of the width)."""
    if not measurements:
        return ""
    width, row = 640, 26
    parts = [
        f'<svg width="{width}" height="{row * len(measurements) + 8}" role="img" aria-label="measurements against objectives">'
    ]
    for i, m in enumerate(measurements):
        y = 4 + i * row
        limit = float(m["threshold"]) or 1.0
        scale = 0.8 * (width - 260) / limit
        bar = min(float(m["value"]) * scale, width - 262)
        colour = "#2e9e4f" if m["passed"] else "#c0392b"
        parts.append(
            f'<text x="0" y="{y + 14}">{_esc(m["name"][:38])}</text>'
            f'<rect x="250" y="{y + 3}" width="{max(bar, 1):.1f}" height="14" fill="{colour}"/>'
            f'<line x1="{250 + limit * scale:.1f}" x2="{250 + limit * scale:.1f}" y1="{y}" y2="{y + 20}" stroke="#1d2330" stroke-width="2"/>'
            f'<text x="{min(250 + bar + 4, width - 60):.1f}" y="{y + 14}">{_esc(_display(float(m["value"]), m["unit"]))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _timeline_svg(pages: list[dict[str, Any]]) -> str:
    """Escalation pages on a time axis (minutes after the incident opened)."""
    if not pages:
        return ""
    width, last = 640, max(float(p["value"]) for p in pages) or 1.0
    parts = [
        f'<svg width="{width}" height="60" role="img" aria-label="escalation timeline">'
        f'<line x1="10" x2="{width - 10}" y1="30" y2="30" stroke="#8a94a6"/>'
    ]
    for p in pages:
        x = 10 + (width - 120) * float(p["value"]) / last
        parts.append(
            f'<circle cx="{x:.1f}" cy="30" r="5" fill="#3b6fd8"/>'
            f'<text x="{x:.1f}" y="18">{_esc(p["name"].removeprefix("paged ").split(" after")[0][:18])}</text>'
            f'<text x="{x:.1f}" y="50">{float(p["value"]) / 60:g} min</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_ALERT_POINT = re.compile(
    r"^(?P<alert>\w+) at minute (?P<minute>\d+) \((?P<state>silent|pending|firing)\)$"
)
_STATE_COLOUR = {"silent": "#8a94a6", "pending": "#d9a400", "firing": "#c0392b"}


def _alert_svg(measurements: list[dict[str, Any]]) -> str:
    """Alert states the scenario checked, on a minutes axis: grey silent, amber pending, red firing."""
    points = [
        (m.group("alert"), int(m.group("minute")), m.group("state"))
        for m in (_ALERT_POINT.match(x["name"]) for x in measurements)
        if m
    ]
    if not points:
        return ""
    width, last = 640, max(minute for _, minute, _ in points) or 1
    parts = [
        f'<svg width="{width}" height="56" role="img" aria-label="alert states over time">'
        f'<line x1="10" x2="{width - 10}" y1="28" y2="28" stroke="#c9ced8"/>'
    ]
    for alert, minute, state in points:
        x = 10 + (width - 40) * minute / last
        parts.append(
            f'<circle cx="{x:.1f}" cy="28" r="6" fill="{_STATE_COLOUR[state]}"><title>{_esc(alert)}: {state} at minute {minute}</title></circle>'
            f'<text x="{x:.1f}" y="50">{minute} min {state}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _trend_svg(history: list[dict[str, Any]]) -> str:
    values = [h.get("database_recovery_seconds") or 0.0 for h in history]
    top = max(values, default=0.0) or 1.0  # no history yet (a copied run directory)
    width, height = 640, 120
    step = (width - 20) / max(len(history), 1)
    parts = [
        f'<svg width="{width}" height="{height + 20}" role="img" aria-label="trend of recovery time and verdicts">'
    ]
    for i, (h, v) in enumerate(zip(history, values, strict=True)):
        bar = (height - 10) * v / top
        colour = {"passed": "#2e9e4f", "passed with gaps": "#d9a400"}.get(
            h.get("verdict", ""), "#c0392b"
        )
        parts.append(
            f'<rect x="{10 + i * step:.1f}" y="{height - bar:.1f}" width="{step * 0.7:.1f}" height="{max(bar, 2):.1f}" fill="{colour}">'
            f"<title>{_esc(h['id'])}: {v:.2f} s, {_esc(h.get('verdict', ''))}</title></rect>"
        )
    parts.append(
        f'<text x="10" y="{height + 16}">oldest</text><text x="{width - 50}" y="{height + 16}">latest</text></svg>'
    )
    return "".join(parts)


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def summary_markdown(evidence: dict[str, Any]) -> str:
    run, summary = evidence["run"], evidence["summary"]
    lines = [
        f"## Runbook drill {run['id']}: {overall_verdict(evidence)}",
        "",
        f"Run {completeness_sentence(run)}; {scope_sentence(run)}.",
        "",
        f"{summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, {summary.get('gap', 0)} gaps, "
        f"{summary.get('not run', 0)} not run, {summary.get('not runnable', 0)} not runnable here of {summary['total']} scenarios; PostgreSQL {run['postgres_backend']} {run['postgres_version']}; "
        f"{'game day: ' + run['game_day_fault'] if run.get('game_day_fault') else run['mode'] + ' run'}.",
        "",
        "| feature | passed | failed | gaps |",
        "|---|---|---|---|",
    ]
    features: dict[str, list[int]] = {}
    for scenario in evidence["scenarios"]:
        counts = features.setdefault(scenario["feature_file"], [0, 0, 0])
        index = {"passed": 0, "failed": 1, "gap": 2}.get(scenario["status"])
        if index is not None:
            counts[index] += 1
    lines += [f"| {name} | {c[0]} | {c[1]} | {c[2]} |" for name, c in sorted(features.items())]
    unique = {f["id"]: f for f in evidence["findings"]}
    if unique:
        lines += [
            "",
            "Runbook gaps:",
            *[f"- `{f['id']}` ({f['section']}): {f['title']}" for f in unique.values()],
        ]
    return "\n".join(lines) + "\n"


def write_manifest(run_dir: Path) -> Path:
    files = {
        p.name: _sha256(p)
        for p in sorted(run_dir.iterdir())
        if p.is_file() and p.name != MANIFEST and not p.name.endswith(PARTIAL_SUFFIX)
    }
    document = {
        "run": run_dir.name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    write_atomic(run_dir / MANIFEST, json.dumps(document, indent=2) + "\n")
    return run_dir / MANIFEST


def verify_manifest(run_dir: Path) -> list[str]:
    """Every artifact that was altered, removed or added since the manifest was written."""
    try:
        recorded = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        raise ConfigurationError(
            f"{run_dir}: no readable {MANIFEST}; was this directory written by `runbook drill`?"
        ) from None
    present = {p.name for p in run_dir.iterdir() if p.is_file() and p.name != MANIFEST}
    problems = [
        f"{name}: altered (sha256 differs)"
        for name, digest in sorted(recorded.items())
        if name in present and _sha256(run_dir / name) != digest
    ]
    problems += [f"{name}: missing" for name in sorted(set(recorded) - present)]
    problems += [f"{name}: not in the manifest" for name in sorted(present - set(recorded))]
    return problems


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
