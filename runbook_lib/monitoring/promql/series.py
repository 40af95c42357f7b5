"""The evaluator's storage: every series by its full label set (``__name__`` included).

Times are integer milliseconds (Prometheus' resolution), values float64, and a stale marker
(Prometheus' StaleNaN, written ``stale`` in promtool and promqltest series) ends a series for
instant selectors until its next sample; range windows never see it. A label with an empty
value does not exist, as in Prometheus. A series may have no samples at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from runbook_lib.errors import ConfigurationError

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs
NAME = "__name__"


class Matcher(Protocol):
    def matches(self, labels: Mapping[str, str]) -> bool: ...


def labels_of(name: str, labels: Mapping[str, str]) -> Labels:
    found = {k: v for k, v in labels.items() if v != ""}
    if name:
        found[NAME] = name
    return tuple(sorted(found.items()))


def without_name(labels: Labels) -> Labels:
    return tuple(pair for pair in labels if pair[0] != NAME)


@dataclass(frozen=True)
class Samples:
    times: np.ndarray  # int64 ms, strictly increasing
    values: np.ndarray
    stale: np.ndarray  # bool: a stale marker at this time
    fresh_times: np.ndarray  # the samples a range window sees (no stale markers)
    fresh_values: np.ndarray

    @classmethod
    def of(
        cls, times_ms: np.ndarray, values: np.ndarray, stale: np.ndarray | None = None
    ) -> Samples:
        times_ms = np.asarray(times_ms, dtype=np.int64)
        values = np.asarray(values, dtype=float)
        stale = np.zeros(len(values), dtype=bool) if stale is None else np.asarray(stale, bool)
        if len(times_ms) != len(values) or len(stale) != len(values):
            raise ConfigurationError("a series needs one time per value")
        if len(times_ms) > 1 and not np.all(np.diff(times_ms) > 0):
            raise ConfigurationError("a series' sample times must be strictly increasing")
        return cls(times_ms, values, stale, times_ms[~stale], values[~stale])


@dataclass
class Series:
    """Every series the evaluator can select: full label set -> samples."""

    data: dict[Labels, Samples] = field(default_factory=dict)

    def add(
        self, name: str, labels: Mapping[str, str], samples: Iterable[tuple[float, float]]
    ) -> None:
        """A series of (seconds, value) samples (any order; the last value for a time wins)."""
        by_time = {round(t * 1000): float(v) for t, v in samples}
        times = np.array(sorted(by_time), dtype=np.int64)
        values = np.array([by_time[t] for t in times], dtype=float)
        self.data[labels_of(name, labels)] = Samples.of(times, values)

    def add_array(
        self,
        name: str,
        labels: Mapping[str, str],
        times_ms: np.ndarray,
        values: np.ndarray,
        stale: np.ndarray | None = None,
    ) -> None:
        """A series from arrays: increasing integer milliseconds, values, stale markers."""
        self.data[labels_of(name, labels)] = Samples.of(times_ms, values, stale)

    def select(self, name: str, matchers: Iterable[Matcher]) -> list[tuple[Labels, Samples]]:
        """The series called ``name`` that every matcher accepts, in Prometheus' label order."""
        tests = list(matchers)
        found = [
            (labels, samples)
            for labels, samples in self.data.items()
            if dict(labels).get(NAME) == name and all(m.matches(dict(labels)) for m in tests)
        ]
        return sorted(found, key=lambda item: item[0])
