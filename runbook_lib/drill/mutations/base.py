"""What a mutation is: a named break of the world a drill must notice, and how it is applied.

A :class:`Mutation` is one of three kinds:

- *guide edit*: exact text replacements on a copy of the guide (the child drill gets it with
  ``--guide``): a number, name, command or list item the scenarios take from the guide changes;
- *world fault*: the world the procedures act on is broken: a run-wide fault of the registry
  (``--game-day-fault``), a fault a scenario injects withheld (its ``apply`` does nothing, so the
  broken world the scenario expects never happens), exact replacements on a copy of the deployed
  alert rule file (``--runbook-config``), or a simulation or server setting patched;
- *procedure no-op*: a procedure (or the detector a check relies on) replaced by one that does
  nothing and says it succeeded (a restore that restores nothing, a notifier that sends nothing).

Patches and withheld faults are installed in the child drill by the pytest plugin
:mod:`runbook_lib.drill.mutations.plugin` (``-p runbook_lib.drill.mutations.plugin
--mutation=NAME``); nothing here changes the process that imports it.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runbook_lib.errors import ConfigurationError
from runbook_lib.paths import RULE_FILE_NAME, ConfigDir

Kind = Literal["guide edit", "world fault", "procedure no-op"]
KINDS: tuple[Kind, ...] = ("guide edit", "world fault", "procedure no-op")
Edit = tuple[str, str]  # (old, new): an exact replacement, made once


@dataclass(frozen=True)
class Patch:
    """Replace ``target`` ("package.module:name" or "package.module:Class.attribute") by what
    ``make`` builds from the original; a module-level name is rebound wherever a module of
    ``runbook_lib`` imported it by name, so ``from x import f`` callers see the replacement."""

    target: str
    make: Callable[[Any], Any]


@dataclass(frozen=True)
class Mutation:
    """One mutation of the suite: ``features`` (file stems) are the drills it runs against."""

    name: str
    kind: Kind
    breaks: str  # one sentence: the broken world
    features: tuple[str, ...]
    guide: tuple[Edit, ...] = ()  # replacements on the guide
    rules: tuple[Edit, ...] = ()  # replacements on the deployed alert rule file
    game_day: str | None = None  # a run-wide fault of runbook_lib.drill.faults
    withheld: tuple[str, ...] = ()  # faults of the registry whose apply does nothing
    patches: tuple[Patch, ...] = ()

    @property
    def needs_plugin(self) -> bool:
        return bool(self.withheld or self.patches)


def edited(text: str, edits: tuple[Edit, ...], what: str) -> str:
    """``text`` with every edit made; refuses an edit whose old text is not there exactly once."""
    for old, new in edits:
        count = text.count(old)
        if count != 1:
            raise ConfigurationError(
                f"{what}: the mutation's text {old!r} occurs {count} times (expected once); "
                "the mutation no longer applies to this file"
            )
        text = text.replace(old, new)
    return text


def mutated_guide(mutation: Mutation, guide: Path, directory: Path) -> Path:
    """A copy of ``guide`` with the mutation's edits (the guide itself when it has none)."""
    if not mutation.guide:
        return guide
    path = directory / guide.name
    path.write_text(edited(guide.read_text(encoding="utf-8"), mutation.guide, str(guide)), "utf-8")
    return path


def mutated_config(mutation: Mutation, config: Path, directory: Path) -> Path:
    """A copy of the configuration directory whose rule file has the mutation's edits."""
    if not mutation.rules:
        return config
    copy = directory / "config"
    shutil.copytree(config, copy)
    rule_file = ConfigDir(copy).rule_file
    rule_file.write_text(
        edited(rule_file.read_text(encoding="utf-8"), mutation.rules, RULE_FILE_NAME), "utf-8"
    )
    return copy


def resolve(target: str) -> tuple[Any, str, Any]:
    """(owner, attribute, current value) of a patch target; ConfigurationError when missing."""
    module_name, _, path = target.partition(":")
    try:
        owner: Any = importlib.import_module(module_name)
        *owners, attribute = path.split(".")
        for name in owners:
            owner = getattr(owner, name)
        return owner, attribute, getattr(owner, attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"patch target {target!r} does not exist: {exc}") from None


def install(patch: Patch) -> int:
    """Apply ``patch`` in this process; how many bindings now hold the replacement."""
    owner, attribute, original = resolve(patch.target)
    replacement = patch.make(original)
    setattr(owner, attribute, replacement)
    rebound = 1
    if isinstance(owner, type(sys)):  # a module-level name: rebind it where it was imported
        for module in list(sys.modules.values()):
            if module is owner or not module.__name__.startswith("runbook_lib"):
                continue
            for name, value in list(vars(module).items()):
                if value is original:
                    setattr(module, name, replacement)
                    rebound += 1
    return rebound
