"""The mutation suite: every scenario must be killed (turned red) by at least one mutation.

A scenario that no broken world turns red proves nothing. Each :class:`Mutation` names a broken
world (what it ``breaks``, in one sentence), its kind (a guide edit, a world fault, a procedure
no-op) and the features it is run against; :mod:`.matrix` runs every mutation's drills against
an unmutated baseline of the same features and records, per scenario, the mutations that
changed its verdict (the kill matrix, ``runbook mutate``). A drill given the matrix
(``runbook drill --kill-matrix FILE``) lists every scenario no mutation kills as *unproven*.

- :mod:`.base`: the :class:`Mutation` type, and how edits and patches are applied
- :mod:`.guide_edits`, :mod:`.world`, :mod:`.noops`: the registry, by kind
- :mod:`.plugin`: the pytest plugin that installs patches and withheld faults in a child drill
- :mod:`.matrix`: the runner, the kill matrix (JSON and text) and the evidence's proof lookup
"""

from __future__ import annotations

from runbook_lib.drill.mutations.base import KINDS, Edit, Kind, Mutation, Patch
from runbook_lib.drill.mutations.guide_edits import GUIDE_EDITS
from runbook_lib.drill.mutations.noops import NOOPS
from runbook_lib.drill.mutations.world import WORLD_FAULTS
from runbook_lib.errors import ConfigurationError

__all__ = ["KINDS", "MUTATIONS", "Edit", "Kind", "Mutation", "Patch", "find", "for_features"]

MUTATIONS: tuple[Mutation, ...] = (*GUIDE_EDITS, *WORLD_FAULTS, *NOOPS)


def find(name: str) -> Mutation:
    """The mutation named ``name``; ConfigurationError listing the names when there is none."""
    for mutation in MUTATIONS:
        if mutation.name == name:
            return mutation
    raise ConfigurationError(
        f"no mutation named {name!r}; known: {', '.join(m.name for m in MUTATIONS)}"
    )


def for_features(features: tuple[str, ...]) -> tuple[Mutation, ...]:
    """The mutations run against any of ``features`` (all of them when none are given)."""
    if not features:
        return MUTATIONS
    return tuple(m for m in MUTATIONS if set(m.features) & set(features))
