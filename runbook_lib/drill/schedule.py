"""The order the drill's workers take scenarios in: the longest first, dealt out so that every
worker starts on long ones and all of them end on short ones.

pytest-xdist's ``worksteal`` gives each of N workers a contiguous share of the collected items
and lets a worker that runs dry take from another's queue. In the features' own order the
longest scenarios (the release through the real Vercel CLI, restores at production size) came
last, and the drill ended with one worker on an 8-second scenario while the others idled. The
durations come from :data:`DURATIONS_FILE` (seconds per scenario id, as
:func:`runbook_lib.drill.shard.scenario_id` names them), written by ``python -m bench.drill
--write-durations``; a scenario it does not know (a new one, a user's own features) counts as
the median of the known ones. The order decides nothing but when a scenario runs.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

DURATIONS_FILE = Path(__file__).with_name("durations.json")

T = TypeVar("T")


def load_durations(path: Path = DURATIONS_FILE) -> dict[str, float]:
    """Seconds per scenario id; none when the file is missing or unreadable (order unchanged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def dealt(
    items: Sequence[T], ids: Mapping[T, str], durations: Mapping[str, float], workers: int
) -> list[T]:
    """``items`` longest first (ties: in their own order), dealt round robin into ``workers``
    contiguous shares: share ``w`` holds the ``w``-th, ``w+N``-th, ... longest."""
    if workers < 2 or not durations:
        return list(items)
    default = statistics.median(durations.values())
    longest = sorted(items, key=lambda item: -durations.get(ids[item], default))
    return [item for share in range(workers) for item in longest[share::workers]]
