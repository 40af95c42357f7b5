"""What a scenario really exercised: real components, or simulations of them.

The level of proof of a check depends on what it ran against: a restore into a real PostgreSQL
server with the real ``pg_restore`` is stronger evidence than a call answered by a simulation of
the Supabase API, which is stronger than a check of the guide's own text. While a scenario runs
(:func:`recording`), the world notes each component it touches: the PostgreSQL server and local
programs (git, npm, pg_restore, psql, ...) as *real*; the simulated HTTP APIs, moto's S3 and the
alert evaluator standing in for Prometheus as *simulated*. The evidence keeps the lists and the
resulting level, decided by the weakest component: real (only real components), simulated (any
simulation, even beside a real database), or restated (nothing executed: only the guide read).

Kept in a context variable: scenarios never mix their records. A server thread answering for
the running scenario (the simulations served over HTTP, reached by curl or the Vercel CLI from
a child process) records into the process's open recording (:func:`active`): one scenario runs
at a time in a process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

REAL, SIMULATED, RESTATED = "real", "simulated", "restated"


@dataclass
class Touched:
    real: set[str] = field(default_factory=set)
    simulated: set[str] = field(default_factory=set)

    @property
    def level(self) -> str:
        """The weakest component decides: any simulation makes the proof "simulated"."""
        return SIMULATED if self.simulated else REAL if self.real else RESTATED


_TOUCHED: ContextVar[Touched | None] = ContextVar("components_touched", default=None)
_OPEN: list[Touched] = []  # this process's open recordings, innermost last


@contextmanager
def recording() -> Iterator[Touched]:
    touched = Touched()
    token = _TOUCHED.set(touched)
    _OPEN.append(touched)
    try:
        yield touched
    finally:
        _OPEN.remove(touched)
        _TOUCHED.reset(token)


def real(component: str) -> None:
    touched = _TOUCHED.get()
    if touched is not None:
        touched.real.add(component)


def simulated(component: str) -> None:
    touched = _TOUCHED.get()
    if touched is not None:
        touched.simulated.add(component)


def active() -> Touched | None:
    """The process's innermost open recording, for a server thread answering the running
    scenario (None when no scenario records)."""
    return _OPEN[-1] if _OPEN else None


@contextmanager
def into(record: Touched | None) -> Iterator[None]:
    """Record into ``record`` in this thread: a server thread answering for a scenario."""
    token = _TOUCHED.set(record)
    try:
        yield
    finally:
        _TOUCHED.reset(token)
