"""Which lines of the guide a scenario really read: the ground of per-item coverage.

Crediting a whole section to every scenario tagged with it overstates what was proven. Instead,
while a scenario runs (:func:`recording`), every read of a field of a guide item (an RTO row, a
severity level, a command, a checklist item, ...) notes that item's line. A lookup such as
``guide.objective("Database")`` notes only the row it returns, not the rows it searched; reading
an item's ``section`` (to filter) notes nothing. The evidence then says, per scenario, which
guide lines it used, and :mod:`runbook_lib.guide.coverage` maps each guide item to the scenarios
that read it and the strength of their proof.

The lines read are kept in a context variable, so parallel scenarios (threads, xdist workers)
never mix their records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, ParamSpec, TypeVar

_LINES: ContextVar[set[int] | None] = ContextVar("guide_lines_read", default=None)
_NOT_A_READ = frozenset({"line", "section"})  # where an item is, not what it says

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def recording() -> Iterator[set[int]]:
    """Collect the guide lines read inside the block."""
    lines: set[int] = set()
    token = _LINES.set(lines)
    try:
        yield lines
    finally:
        _LINES.reset(token)


def note(lines: Iterable[int]) -> None:
    recorded = _LINES.get()
    if recorded is not None:
        recorded.update(lines)


@contextmanager
def paused() -> Iterator[None]:
    token = _LINES.set(None)
    try:
        yield
    finally:
        _LINES.reset(token)


class Traced:
    """Mixin of guide items (frozen dataclasses with a ``line``): reading a field notes it.

    An item built from more than one place of the guide names, in ``_lines_of``, the fields
    whose reading also notes other lines (field -> the field holding those lines)."""

    _lines_of: ClassVar[dict[str, str]] = {}

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if not name.startswith("_") and name not in _NOT_A_READ:
            recorded = _LINES.get()
            if recorded is not None:
                recorded.add(object.__getattribute__(self, "line"))
                extra = object.__getattribute__(self, "_lines_of").get(name)
                if extra is not None:
                    more = object.__getattribute__(self, extra)
                    recorded.update(more if isinstance(more, tuple) else (more,))
        return value


def lookup(method: Callable[P, R]) -> Callable[P, R]:
    """A guide lookup notes the item it returns, not every item it compared on the way."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused():
            found = method(*args, **kwargs)
        items = found if isinstance(found, tuple) else (found,)
        note(int(item.line) for item in items if hasattr(item, "line"))
        return found

    return wrapper
