"""The pytest plugin of a mutated drill: ``-p runbook_lib.drill.mutations.plugin
--mutation=NAME`` installs the mutation's patches and withholds its faults for the session,
before any fixture starts a server or a simulation. Guide edits, rule-file edits and game days
need no plugin: they reach the child drill through ``--guide``, ``--runbook-config`` and
``--game-day-fault``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runbook_lib.errors import RunbookError

OPTION = "--mutation"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("runbook").addoption(
        OPTION, default=None, help="(set by `runbook mutate`) the mutation this drill runs under"
    )


@pytest.hookimpl(trylast=True)  # after the drill plugin imported every step module
def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("mutation")
    if not name:
        return
    from runbook_lib.drill.mutations import find

    try:
        apply(find(name).patches, find(name).withheld)
    except RunbookError as exc:
        raise pytest.UsageError(f"mutation {name}: {exc}") from None


def apply(patches: tuple[Any, ...], withheld: tuple[str, ...]) -> None:
    """Install ``patches`` and make the faults named ``withheld`` do nothing, in this process."""
    from runbook_lib.drill.mutations.base import install

    for patch in patches:
        install(patch)
    for name in withheld:
        withhold(name)


def withhold(name: str) -> None:
    """Make the registry's fault ``name`` do nothing (it still returns what a scenario reads)."""
    from runbook_lib.drill.faults import CATALOGUE
    from runbook_lib.errors import ConfigurationError

    fault = next((f for f in CATALOGUE if f.name == name), None)
    if fault is None:
        raise ConfigurationError(f"no fault named {name!r} to withhold (see `runbook faults`)")
    # a frozen registry entry, changed in this child process only
    object.__setattr__(fault, "apply", _WITHHELD.get(name, _nothing))


def _nothing(_target: Any) -> None:
    return None


def _no_throttle(_s3: Any) -> Any:
    from runbook_lib.drill.faults import Throttle

    return Throttle(2)  # what the throttle would answer, registered with no client


def _no_loss(objects: Any) -> str:
    from runbook_lib.procedures.backup_recovery.storage import list_objects

    key = sorted(list_objects(objects.s3, objects.bucket, objects.key))[0]
    return str(key).removeprefix(objects.key)  # named as lost, still there


_WITHHELD: dict[str, Callable[[Any], Any]] = {
    "s3-throttling": _no_throttle,
    "storage-object-lost": _no_loss,
}
