"""The ``runbook`` command: drill, guide, doctor.

Expected failures (a bad guide, a missing binary, a wrong option) print one line on stderr
and exit non-zero (2 for bad input, 3 for a missing environment); only bugs show a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from runbook_lib.errors import ConfigurationError, RunbookError
from runbook_lib.guide.model import Guide, load_guide
from runbook_lib.guide.units import format_seconds
from runbook_lib.paths import ALERTMANAGER_FILE_NAME, DEFAULT_FEATURES, DEFAULT_GUIDE, ConfigDir

app = typer.Typer(
    help="Executable drills for the Production Operations Guide.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

AllowProduction = Annotated[
    bool, typer.Option("--allow-production", help="Accept identifiers listed as production.")
]
GuideOption = Annotated[
    Path | None,
    typer.Option(
        "--guide",
        envvar="RUNBOOK_GUIDE",
        help="Guide to test (default: the packaged Napoleon AI guide).",
    ),
]


FeaturesOption = Annotated[
    Path | None,
    typer.Option("--features", help="Feature directory to run (default: the packaged features)."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="RUNBOOK_CONFIG",
        help="Configuration directory: targets.yml, api-keys.yml, alerts/ (default: packaged).",
    ),
]


@app.command()
def drill(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Feature file stem(s) to run, e.g. backup_recovery."),
    ] = None,
    keyword: Annotated[
        str | None,
        typer.Option(
            "-k", "--keyword", help="Only scenarios whose test name matches (pytest's -k)."
        ),
    ] = None,
    guide: GuideOption = None,
    features: FeaturesOption = None,
    config: ConfigOption = None,
    pg: Annotated[
        str | None,
        typer.Option(
            "--pg", envvar="RUNBOOK_PG", help="PostgreSQL: auto, embedded, container or dsn."
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report-dir", help="Write reports here instead of reports/<run-id>."),
    ] = None,
    workers: Annotated[
        str,
        typer.Option(
            "-n",
            "--workers",
            help="Parallel workers (pytest-xdist): auto (two per CPU for a whole drill, at most 8; one "
            "per CPU with --only, -k or --shard), a number, or 0 for serial.",
        ),
    ] = "auto",
    fault: Annotated[
        str | None,
        typer.Option(
            "--fault", help="Game day: run with this fault active (see `runbook faults`)."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="A live target of the configuration's targets.yml (its database, names and "
            "tokens; only @live scenarios run unless --stand-ins).",
        ),
    ] = None,
    allow_production: AllowProduction = False,
    stand_ins: Annotated[
        bool,
        typer.Option(
            "--stand-ins",
            help="With --target: rehearse it, simulations answering for its S3 and HTTP APIs.",
        ),
    ] = False,
    kill_matrix: Annotated[
        Path | None,
        typer.Option(
            "--kill-matrix",
            help="A kill matrix of `runbook mutate`: the evidence names, per scenario, the "
            "mutations that kill it, or lists it as unproven.",
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Run only shard I of N (counted from 1): a stable share of the selected "
            "scenarios, the same on every machine; run all N, then `runbook merge` their "
            "report directories into one run and one verdict.",
        ),
    ] = None,
) -> None:
    """Run the drills against real PostgreSQL and simulated cloud; write the evidence report.

    Past one machine: `--shard 1/4` ... `--shard 4/4` on four machines (or CI jobs), then
    `runbook merge DIR...` joins their evidence; a missing shard keeps the merge from passing.
    """
    from runbook_lib.drill.options import DrillOptions, Settings
    from runbook_lib.drill.runner import run_drill, run_verdict, summary_rows

    options = DrillOptions.from_environ(
        os.environ,
        guide=guide,
        features=features,
        config=config,
        pg=pg,
        only=tuple(s.removesuffix(".feature") for item in (only or []) for s in item.split()),
        keyword=keyword,
        target=target,
        allow_production=allow_production,
        stand_ins=stand_ins,
        fault=fault,
        workers=workers,
        evidence_dir=report_dir,
        kill_matrix=kill_matrix,
        shard=shard,
    )
    # a bad RUNBOOK_* variable, a broken guide, option or target stops here, with one line
    options.validate(Settings.from_environ(os.environ))
    code, directory = run_drill(options)
    rows, findings = summary_rows(directory)
    _print_summary(rows, findings, directory)
    if run_verdict(directory) == "incomplete":  # never a pass, whatever pytest returned
        typer.echo(
            "the run is INCOMPLETE: evidence.json lists the scenarios that never ran", err=True
        )
        raise typer.Exit(code or 1)
    if shard and (code in (0, 1) if fault else code == 5):
        _shard_outcome(options.shard, directory, bool(fault))
    if fault and code in (0, 1):
        from runbook_lib.drill.faults import run_wide, verdict  # the simulations: 0.4 s to import

        game = run_wide(fault)
        failed = sum(row[2] for row in rows)
        ok = verdict(game.expected, failed)
        typer.echo(
            f"\ngame day {game.name}: expected {game.expected}; {failed} scenario(s) caught it -> "
            f"{'as expected' if ok else 'NOT as expected'}"
        )
        raise typer.Exit(0 if ok else 1)
    if code == 5:
        typer.echo("no scenarios ran: check --only and the features directory", err=True)
        raise typer.Exit(1)
    raise typer.Exit(code)


def _shard_outcome(shard: str, directory: Path, game_day: bool) -> None:
    """A shard of a game day is judged with the others (by `runbook merge`); a shard whose share
    of a non-empty selection is empty ran correctly. Otherwise return to the usual verdict."""
    from runbook_lib.evidence.report import load_evidence

    selected = len(load_evidence(directory)["run"].get("shard", {}).get("selected", []))
    if game_day:
        typer.echo(f"\nshard {shard} of a game day: `runbook merge` judges the whole run")
        raise typer.Exit(0)
    if selected:
        typer.echo(f"shard {shard}: none of the {selected} selected scenarios fall to it")
        raise typer.Exit(0)


def _print_summary(
    rows: list[tuple[str, int, int, int, int]], findings: list[dict[str, str]], directory: Path
) -> None:
    if not rows:
        return
    typer.echo("")
    typer.echo(f"{'feature':<40} {'passed':>6} {'failed':>6} {'gaps':>5} {'other':>5}")
    for name, passed, failed, gaps, other in rows:
        typer.echo(f"{name:<40} {passed:>6} {failed:>6} {gaps:>5} {other:>5}")
    unique = {f["id"]: f["title"] for f in findings}
    if unique:
        typer.echo("\nfindings (runbook gaps):")
        for finding_id, title in unique.items():
            typer.echo(f"  {finding_id}: {title}")
    typer.echo(f"\nevidence: {directory / 'evidence.json'}")


@app.command()
def mutate(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Feature file stem(s): only their scenarios and mutations."),
    ] = None,
    mutation: Annotated[
        list[str] | None,
        typer.Option(
            "--mutation", help="Run only these mutations (names: `runbook mutate --list`)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", help="Where to write the matrix (default: reports/kill-matrix.json)."
        ),
    ] = None,
    pg: Annotated[
        str | None,
        typer.Option(
            "--pg", envvar="RUNBOOK_PG", help="PostgreSQL: auto, embedded, container or dsn."
        ),
    ] = None,
    listing: Annotated[
        bool, typer.Option("--list", help="List the mutations and what each breaks; run nothing.")
    ] = False,
) -> None:
    """Run every mutation (guide edits, world faults, procedure no-ops) against an unmutated
    baseline and print the kill matrix; exit 1 when a scenario is killed by no mutation."""
    from runbook_lib.drill import mutations
    from runbook_lib.drill.mutations import matrix
    from runbook_lib.drill.options import DrillOptions, Settings
    from runbook_lib.paths import default_reports

    stems = tuple(s.removesuffix(".feature") for item in (only or []) for s in item.split())
    selected = (
        tuple(mutations.find(name) for name in mutation)
        if mutation
        else mutations.for_features(stems)
    )
    if listing:
        for item in selected:
            typer.echo(f"{item.name:<44} {item.kind:<16} {', '.join(item.features)}: {item.breaks}")
        return
    options = DrillOptions.from_environ(os.environ, pg=pg, only=stems, workers="0")
    options.validate(Settings.from_environ(os.environ))
    target = output or default_reports() / "kill-matrix.json"
    # an interrupted matrix resumes from its finished runs (kept next to the output)
    partial = target.with_name(target.name + ".partial")
    document = matrix.build(options, selected, say=typer.echo, checkpoint=partial)
    path = matrix.write(document, target)
    typer.echo("")
    typer.echo(matrix.render(document))
    typer.echo(f"\nkill matrix: {path}")
    if document["summary"]["unproven"]:
        raise typer.Exit(1)


@app.command()
def faults() -> None:
    """The fault registry: what each fault breaks and whether drills must detect or survive it."""
    from runbook_lib.drill.faults import CATALOGUE

    typer.echo(f"{'fault':<28} {'expected':<9} {'run-wide':<9} what it breaks")
    for item in CATALOGUE:
        typer.echo(
            f"{item.name:<28} {item.expected:<9} {'yes' if item.run_wide else 'no':<9} {item.breaks}"
        )


@app.command("guide")
def guide_command(
    guide: GuideOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole model as JSON.")] = False,
) -> None:
    """Parse the guide and show what the drills will hold it to."""
    model = load_guide(guide or DEFAULT_GUIDE)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(model), indent=2))
        return
    typer.echo(_guide_summary(model))


def _guide_summary(model: Guide) -> str:
    lines = [
        f"{model.path} (sha256 {model.sha256[:12]}), {len(model.sections)} sections, {len(model.code_blocks)} code blocks",
        "",
        "Recovery objectives:",
    ]
    lines += [
        f"  {o.component:<14} RTO {format_seconds(o.rto_seconds):>8}   RPO {format_seconds(o.rpo_seconds):>8}"
        for o in model.recovery_objectives
    ]
    lines += ["", "Severity levels:"]
    lines += [
        f"  {s.level} {s.name:<9} respond within {format_seconds(s.response_seconds):>6}  {s.description}"
        for s in model.severity_levels
    ]
    lines += [
        "",
        "Escalation: " + " -> ".join(r.role for r in model.escalation),
        "",
        "Key metrics:",
    ]
    lines += [f"  {m.metric:<22} {m.comparator} {m.threshold:g}{m.unit}" for m in model.key_metrics]
    lines += ["", "Alerting rules:"]
    lines += [f"  {r.source:<9} {r.text}" for r in model.alert_rules]
    lines += ["", "Deployment steps:"]
    lines += [f"  {s.number}. {s.title:<22} {s.command}" for s in model.deployment_steps]
    lines += [
        "",
        "Maintenance: " + "; ".join(f"{w.cadence}: {w.text}" for w in model.maintenance_windows),
    ]
    lines += [
        "Post-incident review: "
        + "; ".join(f"{d.name} {format_seconds(d.seconds)}" for d in model.post_incident_review)
    ]
    return "\n".join(lines)


@app.command()
def setup(
    with_: Annotated[
        list[str] | None,
        typer.Option(
            "--with",
            help="Also install an optional requirement: docker (the --pg container backend).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be installed; install nothing.")
    ] = False,
) -> None:
    """Install what the drills need and this machine lacks (idempotent); exit 3 if it cannot."""
    from runbook_lib.drill.requirements import OPTIONAL_KEYS, REQUIREMENTS
    from runbook_lib.drill.setup import setup as run_setup

    extras = tuple(with_ or ())
    unknown = sorted(set(extras) - set(OPTIONAL_KEYS))
    if unknown:
        raise ConfigurationError(
            f"--with {', '.join(unknown)}: unknown; choose from {', '.join(OPTIONAL_KEYS)}"
        )
    outcomes = run_setup(extras, dry_run=dry_run, say=typer.echo)
    required = {r.name for r in REQUIREMENTS if r.required or r.optional_key in extras}
    failed = [o.name for o in outcomes if o.state == "failed" and o.name in required]
    if failed:
        typer.echo(
            f"the drills cannot run until these are installed: {', '.join(failed)}", err=True
        )
        raise typer.Exit(3)
    typer.echo("dry run: nothing installed" if dry_run else "ready: run `runbook drill`")


@app.command()
def doctor() -> None:
    """Report what this machine offers for drills; exit 3 when the default drill cannot run."""
    from runbook_lib.drill.doctor import default_drill_can_run, run_checks

    checks = run_checks()
    for check in checks:
        mark = "ok " if check.found else ("-- " if not check.required else "MISSING")
        fix = f"  ({check.fix})" if check.fix and not check.found else ""
        typer.echo(f"{mark:<8}{check.name:<48} {check.detail}{fix}")
    if not default_drill_can_run(checks):
        typer.echo("the default drill cannot run here: install what is MISSING above", err=True)
        raise typer.Exit(3)
    typer.echo("the default drill can run here")


RunDir = Annotated[Path, typer.Argument(help="A run directory, e.g. reports/latest.")]


@app.command()
def report(run_dir: RunDir) -> None:
    """Re-render evidence.html and summary.md of a run from its evidence.json."""
    from runbook_lib.evidence.report import load_evidence, write_report

    load_evidence(run_dir)  # a missing or unreadable evidence.json stops here, with one line
    typer.echo(f"wrote {write_report(run_dir, record_history=False)}")


@app.command("verify-evidence")
def verify_evidence(run_dir: RunDir) -> None:
    """Check every artifact of a run against its manifest.json; exit 1 naming any altered file."""
    from runbook_lib.evidence.report import verify_manifest

    problems = verify_manifest(run_dir)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{run_dir}: every artifact matches manifest.json")


@app.command()
def merge(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="The report directories of every shard of one drill (`runbook drill --shard "
            "I/N --report-dir DIR`), e.g. shards/*.",
            metavar="DIR",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="A new directory for the merged run (default: reports/<run-id>, and "
            "reports/latest points at it).",
        ),
    ] = None,
) -> None:
    """Join the shards of one drill into one run: one evidence.json, junit.xml, HTML report,
    summary and manifest, with one verdict.

    The merge is whole only when every shard 1..N is there once, all ran the same guide,
    features and selection, and no scenario ran twice; anything else is an INCOMPLETE verdict,
    each problem stated on one line. Exit 0 when the merged run passed (with or without known
    gaps), 1 when it failed or is incomplete (or a game day did not go as expected), 2 when a
    directory holds no readable evidence.json.
    """
    from runbook_lib.drill.faults import run_wide, verdict
    from runbook_lib.drill.options import Settings
    from runbook_lib.drill.runner import summary_rows
    from runbook_lib.evidence.merge import merge_runs
    from runbook_lib.evidence.records import new_run_id
    from runbook_lib.paths import default_reports
    from runbook_lib.world.files import symlink_atomic

    settings = Settings.from_environ(os.environ)
    target = output or default_reports() / new_run_id()
    result = merge_runs(run_dirs, target, step_summary=settings.step_summary)
    if output is None:
        symlink_atomic(target.parent / "latest", target.name)
    rows, findings = summary_rows(result.directory)
    _print_summary(rows, findings, result.directory)
    for problem in result.problems:
        typer.echo(f"merge problem: {problem}", err=True)
    typer.echo(
        f"\nmerged {len(result.sources)} shard run(s), {result.scenarios} scenarios: "
        f"{result.verdict}"
    )
    if result.game_day_fault and result.verdict != "incomplete":  # judged on the whole run
        game = run_wide(result.game_day_fault)
        ok = verdict(game.expected, result.failed)
        typer.echo(
            f"game day {game.name}: expected {game.expected}; {result.failed} scenario(s) "
            f"caught it -> {'as expected' if ok else 'NOT as expected'}"
        )
        raise typer.Exit(0 if ok else 1)
    if not result.passed:
        raise typer.Exit(1)


@app.command("coverage")
def coverage_command(
    guide: GuideOption = None,
    floor: Annotated[
        float, typer.Option("--floor", help="Least share of testable items covered (0-1).")
    ] = 1.0,
    features: FeaturesOption = None,
    evidence: Annotated[
        Path | None,
        typer.Option(
            "--evidence",
            help="A run directory (e.g. reports/latest): per-item coverage with the level of proof.",
        ),
    ] = None,
    floor_real: Annotated[
        float,
        typer.Option(
            "--floor-real", help="With --evidence: least share proven on real components."
        ),
    ] = 0.0,
    floor_executed: Annotated[
        float,
        typer.Option(
            "--floor-executed", help="With --evidence: least share executed (real or simulated)."
        ),
    ] = 0.0,
) -> None:
    """Which scenarios check each part of the guide; exit 1 below a floor.

    Without --evidence: per section, from the features' @guide tags (coarse). With --evidence:
    per guide item, from the lines each scenario really read and what it ran against."""
    from runbook_lib.guide.coverage import coverage, covered_share

    model = load_guide(guide or DEFAULT_GUIDE)
    if evidence is not None:
        _item_coverage(
            model, evidence, {"covered": floor, "executed": floor_executed, "real": floor_real}
        )
        return
    rows = coverage(model, features or DEFAULT_FEATURES)
    typer.echo(f"{'section':<34} {'line':>5} {'items':>5} {'scenarios':>9}  status")
    for row in rows:
        detail = f" ({row.reason})" if row.reason else ""
        typer.echo(
            f"{row.title[:34]:<34} {row.line:>5} {row.items:>5} {len(row.scenarios):>9}  {row.status}{detail}"
        )
    share = covered_share(rows)
    typer.echo(f"\n{share:.0%} of testable items covered (floor {floor:.0%})")
    if share < floor:
        raise typer.Exit(1)


def _item_coverage(model: Guide, run_dir: Path, floors: dict[str, float]) -> None:
    from runbook_lib.evidence.report import load_evidence
    from runbook_lib.guide.coverage import distribution, item_coverage, proven_share

    rows = item_coverage(model, load_evidence(run_dir)["scenarios"])
    for row in rows:
        why = row.reason or ", ".join(row.scenarios[:2]) + (
            " ..." if len(row.scenarios) > 2 else ""
        )
        typer.echo(
            f"{row.line:>5} {row.level:<10} {row.section[:24]:<24} {row.text[:44]:<44} {why}"
        )
    counts = distribution(rows)
    typer.echo(
        "\n"
        + ", ".join(f"{count} {level}" for level, count in counts.items())
        + f" of {len(rows)} items"
    )
    shares = {
        "real": proven_share(rows, "real"),
        "executed": proven_share(rows, "simulated"),
        "covered": proven_share(rows, "restated"),
    }
    below = []
    for name, share in shares.items():
        typer.echo(f"{share:6.0%} of testable items {name} (floor {floors[name]:.0%})")
        if share < floors[name]:
            below.append(name)
    if below:
        raise typer.Exit(1)


@app.command("target")
def target_command(
    name: Annotated[str, typer.Argument(help="A target of targets.yml, e.g. staging.")],
    allow_production: AllowProduction = False,
    config: ConfigOption = None,
) -> None:
    """Check a live target's configuration and its production guard (nothing is contacted)."""
    from runbook_lib.world.targets import load_target

    targets = ConfigDir(config).targets if config else ConfigDir().targets
    target = load_target(name, targets, allow_production=allow_production, environ=os.environ)
    for key, value in sorted(target.identifiers.items()):
        typer.echo(f"{key:<20} {value}")
    typer.echo(f"target {name!r} passes the production guard")
    if target.unset_variables:
        typer.echo(
            f"before `runbook drill --target {name}`, set: {', '.join(target.unset_variables)}"
        )


alerts_app = typer.Typer(
    help="Alert rules generated from the guide (Prometheus format).", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("export")
def alerts_export(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Where to write the rule file, its promtool tests and alertmanager.yml."
        ),
    ],
    guide: GuideOption = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Run promtool on the export when installed.")
    ] = True,
) -> None:
    """Write napoleon-ai.rules.yml and alertmanager.yml (regenerated from the guide) and promtool
    unit tests."""
    import shutil

    from runbook_lib.monitoring import alertmanager, promtool

    loaded = load_guide(guide or DEFAULT_GUIDE)
    rule_path, test_path, rules = promtool.export(loaded, directory)
    typer.echo(f"wrote {rule_path} ({len(rules)} rules) and {test_path}")
    routes_path = directory / ALERTMANAGER_FILE_NAME
    routes_path.write_text(alertmanager.render(loaded), encoding="utf-8")
    typer.echo(f"wrote {routes_path} (Alertmanager: routes, receivers, inhibition)")
    if check and shutil.which("promtool"):
        result = promtool.run_promtool(test_path)
        typer.echo(result.stdout.strip() or result.stderr.strip())
        if not result.ok:
            raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except RunbookError as exc:
        print(f"runbook: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("runbook: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
