"""Child drills in a broken world, to prove a check turns red for the right reason (issue:
truthful evidence, "every claim can fail ... prove it in a test").

A :class:`World` is the guide with exact edits, a *mutant* (Python run in the child drill as a
pytest plugin before any scenario, which breaks one procedure by patching it), or both.
:func:`drill` runs the selected scenarios of one feature in it, serially, and returns each
scenario's evidence record. :func:`judge` asserts which scenarios went red, with which words,
and that every other selected scenario passed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import child_drill, child_environ, edited_guide

Edit = tuple[str, str]  # (old, new): an exact replacement in the guide's Markdown, made once


@dataclass(frozen=True)
class World:
    name: str
    edits: tuple[Edit, ...] = ()
    mutant: str = ""  # Python source run at the child's start-up ("" : the code as it is)


@dataclass(frozen=True)
class Case:
    """A world, the scenarios it runs, and the verdict expected of each.

    ``red`` maps a substring of a scenario's pytest name to words its error must contain (each
    of them, when several; for ``status`` "gap", the error is its confirmed finding); every other
    selected scenario must pass, and
    ``measured`` names measurements some selected scenario must have recorded.
    """

    world: World
    feature: str
    select: str  # pytest -k expression
    red: dict[str, str | tuple[str, ...]]
    status: str = "failed"
    measured: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drill:
    returncode: int
    output: str
    scenarios: dict[str, dict[str, Any]]  # pytest name (with example id) -> evidence record


def drill(case: Case, directory: Path) -> Drill:
    env = child_environ()
    plugin: list[str] = []
    if case.world.mutant:
        (directory / "broken_world_mutant.py").write_text(case.world.mutant, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
        plugin = ["-p", "broken_world_mutant"]
    evidence_dir = directory / "evidence"
    done, document = child_drill(
        *plugin,
        f"--guide={edited_guide(directory, case.world.edits)}",
        f"--only={case.feature}",
        "-k",
        case.select,
        evidence_dir=evidence_dir,
        env=env,
    )
    records = document["scenarios"]
    output = done.stdout[-4000:] + done.stderr[-2000:]
    return Drill(
        done.returncode, output, {str(r["node_id"]).rpartition("::")[2]: r for r in records}
    )


def judge(case: Case, directory: Path) -> Drill:
    run = drill(case, directory)
    assert run.scenarios, run.output
    for key, words in case.red.items():
        hit = [name for name in run.scenarios if key in name]
        assert hit, f"no selected scenario matches {key!r}: {sorted(run.scenarios)}"
        for name in hit:
            record = run.scenarios[name]
            assert record["status"] == case.status, (name, record["status"], record["error"])
            for word in (words,) if isinstance(words, str) else words:
                assert word in str(record["error"]), (name, record["error"])
    for name, record in run.scenarios.items():
        if not any(key in name for key in case.red):
            assert record["status"] == "passed", (name, record["status"], record["error"])
    names = {m["name"] for r in run.scenarios.values() for m in r["measurements"]}
    for measurement in case.measured:
        assert measurement in names, (measurement, sorted(names))
    assert (run.returncode == 0) == (not case.red or case.status == "gap"), run.output
    return run
