"""The kinds of alert signal, and the series that exercise them (guide: Monitoring & Alerting).

Drills, promtool unit tests and the benchmark feed the evaluator the same way: :data:`Minutes`,
metric name -> one sample per minute from minute 0, as a 1-minute Prometheus scrape sees it.
A kind knows nothing of the guide or of metric names: :mod:`runbook_lib.monitoring.catalog`
names every metric (and nothing else does) and says which kind each signal is. Each kind builds

- ``reading(value)``: a steady series on which its alert expression reads ``value`` at
  :data:`READ_MINUTE` (the catalogue's boundary cases; exactly ``value`` when ``exact``);
- ``synthetic(rng, samples, threshold)``: a long random series that breaches ``threshold`` now
  and then (``bench/alerting.py``);
- the situations the drills replay (a value held, a window of failing calls, failures counted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from runbook_lib.monitoring.promql import Series

Minutes = dict[str, list[float]]
STEADY_MINUTES = 12  # a reading is held from minute 0 to 12 ...
READ_MINUTE = 10  # ... and read at minute 10: past every rule's for: and range window
READ_CALLS = 1000.0  # calls a minute behind an error ratio
READ_QUOTA = 200.0  # bytes allowed behind a quota


def series(minutes: Minutes) -> Series:
    """The evaluator's input for ``minutes`` (sample n at n * 60 s)."""
    found = Series()
    for name, values in minutes.items():
        found.add(name, {}, [(minute * 60.0, float(v)) for minute, v in enumerate(values)])
    return found


def _skewed(rng: np.random.Generator, samples: int, threshold: float) -> np.ndarray:
    """Mostly well under ``threshold``, a long tail a quarter past it."""
    low, high = 0.2 * threshold, 1.25 * threshold
    return np.round(low + (high - low) * rng.random(samples) ** 4, 3)


@dataclass(frozen=True)
class Gauge:
    """A value scraped as is (``binary``: 1 up, 0 down)."""

    exact = True
    name: str
    binary: bool = False

    @property
    def names(self) -> dict[str, str]:
        return {"name": self.name}

    def values(self, values: Iterable[float]) -> Minutes:
        return {self.name: [float(v) for v in values]}

    def held(self, value: float, minutes: int = STEADY_MINUTES) -> Minutes:
        return self.values([value] * (minutes + 1))

    def window(self, value: float, start: int, end: int, quiet: float, minutes: int) -> Minutes:
        """``value`` from minute ``start`` to ``end``, else ``quiet``, to minute ``minutes``."""
        return self.values(value if start <= m <= end else quiet for m in range(minutes + 1))

    def reading(self, value: float) -> Minutes:
        return self.held(value)

    def synthetic(self, rng: np.random.Generator, samples: int, threshold: float) -> Minutes:
        if self.binary:
            return self.values((rng.random(samples) > 0.002).astype(float))
        return self.values(_skewed(rng, samples, threshold))


@dataclass(frozen=True)
class Counter:
    """A monotonic count of failures."""

    exact = True
    name: str

    @property
    def names(self) -> dict[str, str]:
        return {"name": self.name}

    def counts(self, per_minute: Iterable[float]) -> Minutes:
        return {self.name: list(accumulate(float(n) for n in per_minute))}

    def failed(self, failures: float, minutes: int = 5) -> Minutes:
        """0 at minute 0, ``failures`` counted by minute 1, scraped every minute to ``minutes``."""
        return self.counts([0.0, failures] + [0.0] * (minutes - 1))

    def reading(self, value: float) -> Minutes:
        """``value`` failures counted just before the reading."""
        before = READ_MINUTE - 1
        return self.counts([0.0] * before + [value] + [0.0] * (STEADY_MINUTES - before))

    def synthetic(self, rng: np.random.Generator, samples: int, threshold: float) -> Minutes:
        return {self.name: list(np.cumsum(rng.poisson(10.0, samples).astype(float)))}


@dataclass(frozen=True)
class ErrorRatio:
    """Failed calls over all calls, as two counters."""

    exact = False  # a ratio of two extrapolated rates is the threshold give or take a rounding
    errors: str
    total: str

    @property
    def names(self) -> dict[str, str]:
        return {"errors": self.errors, "total": self.total}

    def calls(self, calls: Iterable[float], failed: Iterable[float]) -> Minutes:
        return {
            self.total: list(accumulate(float(n) for n in calls)),
            self.errors: list(accumulate(float(n) for n in failed)),
        }

    def failing(self, percent: float, calls: int, start: int, end: int, minutes: int) -> Minutes:
        """``calls`` a minute to ``minutes``; ``percent`` of them fail from ``start`` to ``end``."""
        failed = [calls * percent / 100 if start <= m <= end else 0.0 for m in range(minutes + 1)]
        return self.calls([calls] * (minutes + 1), failed)

    def reading(self, value: float) -> Minutes:
        steady = [READ_CALLS] * (STEADY_MINUTES + 1)
        return self.calls(steady, [READ_CALLS * value for _ in steady])

    def synthetic(self, rng: np.random.Generator, samples: int, threshold: float) -> Minutes:
        total = rng.poisson(READ_CALLS, samples)
        return {
            self.total: list(np.cumsum(total.astype(float))),
            self.errors: list(np.cumsum(rng.binomial(total, threshold).astype(float))),
        }


@dataclass(frozen=True)
class Quota:
    """Bytes used against bytes allowed, as two gauges."""

    exact = True
    used: str
    quota: str

    @property
    def names(self) -> dict[str, str]:
        return {"used": self.used, "quota": self.quota}

    def filled(self, used: Iterable[float], quota: float) -> Minutes:
        taken = [float(u) for u in used]
        return {self.used: taken, self.quota: [quota] * len(taken)}

    def reading(self, value: float) -> Minutes:
        return self.filled([READ_QUOTA * value] * (STEADY_MINUTES + 1), READ_QUOTA)

    def synthetic(self, rng: np.random.Generator, samples: int, threshold: float) -> Minutes:
        return self.filled(_skewed(rng, samples, threshold) * READ_QUOTA, READ_QUOTA)


Measure = Gauge | Counter | ErrorRatio | Quota
