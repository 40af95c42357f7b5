"""What a fault is: a name, what it breaks, the verdict it expects, and how it is applied.

A :class:`Fault` is typed by what it acts on (``T``: the simulated cloud, an S3 client, a
stored dump, a database, a release...) and what applying it gives back (``R``: nothing, or a
handle the scenario checks afterwards, such as a :class:`~runbook_lib.drill.faults.s3.Throttle`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from runbook_lib.errors import ConfigurationError

T = TypeVar("T")
R = TypeVar("R")

Expected = Literal["detected", "survived"]


@dataclass(frozen=True)
class Fault(Generic[T, R]):
    """One fault of the registry.

    ``expected`` is ``"detected"`` when a check must fail because of it (the drills notice),
    ``"survived"`` when the procedures must absorb it. ``says`` is the feature's words for it
    (the step text without its keyword), by which scenarios look it up; ``run_wide`` faults can
    also be active across a whole run (``runbook drill --fault NAME``).
    """

    name: str
    breaks: str
    expected: Expected
    apply: Callable[[T], R]
    says: str = ""
    run_wide: bool = False


def find(faults: Iterable[Fault[T, R]], key: str) -> Fault[T, R]:
    """The fault of ``faults`` named ``key`` (or that the features call ``key``)."""
    known = tuple(faults)
    for fault in known:
        if key in (fault.name, fault.says):
            return fault
    raise ConfigurationError(
        f"no fault {key!r}; known faults: "
        + ", ".join(f"{f.name} ({f.says})" if f.says else f.name for f in known)
        + "; see `runbook faults`"
    )


def verdict(expected: Expected, failed: int) -> bool:
    """True when a game day went as the registry says it should: a *detected* fault made at
    least one scenario fail, a *survived* one none."""
    return failed > 0 if expected == "detected" else failed == 0
