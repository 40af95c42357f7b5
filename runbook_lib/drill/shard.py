"""Shards: one drill split across machines (``runbook drill --shard I/N``), joined again by
``runbook merge`` (:mod:`runbook_lib.evidence.merge`).

A scenario's id is its feature file's stem and its test name, outline example included
(``backup_recovery::test_a_damaged_backup_is_refused_and_never_promoted[truncated]``): it
depends on nothing but the features, never on where pytest was started or in what order it
collected. Shard ``I`` of ``N`` runs the scenarios at positions ``I-1, I-1+N, I-1+2N, ...`` of
the selection's ids in sorted order, so the N shards of one selection are disjoint, cover it
whole, and differ in size by one at most; every process that selects the same scenarios
(another machine, another ``PYTHONHASHSEED``) makes the same split.

A shard's evidence records its place (:meth:`ShardPlan.record`: index, count, the ids of the
whole selection, the sha256 of the features), so a merge can tell a missing shard, a shard of
another guide or feature set, and a scenario run twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.errors import ConfigurationError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """The ``index``-th (1-based) of ``count`` shares of a selection."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"`` with 1 <= I <= N; anything else is a ConfigurationError (one line)."""
        found = _SPEC.match(text)
        if found is None:
            raise ConfigurationError(
                f"--shard {text}: give I/N, the I-th of N shares counted from 1 (e.g. 1/4)"
            )
        index, count = int(found[1]), int(found[2])
        if count < 1 or not 1 <= index <= count:
            raise ConfigurationError(
                f"--shard {text}: I must be between 1 and N (shards are counted from 1: "
                f"1/{max(count, 1)} to {max(count, 1)}/{max(count, 1)})"
            )
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def scenario_id(feature_file: str, node_id: str) -> str:
    """The stable id of a scenario: feature stem and test name (a plain test: its node id)."""
    name = node_id.rpartition("::")[2]
    return f"{Path(feature_file).stem}::{name}" if feature_file else node_id


def record_id(record: Mapping[str, Any]) -> str:
    """The id of an evidence.json scenario record."""
    return scenario_id(str(record.get("feature_file", "")), str(record.get("node_id", "")))


def assignment(ids: Iterable[str], count: int) -> dict[str, int]:
    """Each id's shard (1-based): round robin over the ids in sorted order."""
    return {item: position % count + 1 for position, item in enumerate(sorted(set(ids)))}


def features_sha256(directory: Path) -> str:
    """One digest of every .feature file of ``directory`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.feature")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class ShardPlan:
    """What one shard was given: its place and the ids of the whole (unsharded) selection in
    collection order."""

    shard: Shard
    selected: tuple[str, ...]
    features_sha256: str

    @property
    def mine(self) -> frozenset[str]:
        share = assignment(self.selected, self.shard.count)
        return frozenset(i for i, index in share.items() if index == self.shard.index)

    def record(self) -> dict[str, Any]:
        """The ``run.shard`` entry of this shard's evidence.json."""
        return {
            "index": self.shard.index,
            "count": self.shard.count,
            "selected": list(self.selected),
            "features_sha256": self.features_sha256,
        }
