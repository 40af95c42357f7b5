"""Prometheus' sums, means and extremes, step for step, at every evaluation time at once.

A reducer folds a sequence (the series of an aggregation group, or the samples of a range
window) in the order Prometheus folds it, with Prometheus' own floating-point operations, so
the last bit agrees, not just the first few digits. Each step updates only the evaluation times
where ``mask`` holds (there the sequence has an element). Sources, per version:

- Prometheus 3 (``semantics=3``): ``util/kahansum`` (Neumaier; an infinite sum resets the
  compensation), ``funcAvgOverTime`` and the ``avg`` aggregation (Kahan-compensated sum divided
  at the end; once the running sum would overflow, an incremental mean from there on),
  ``funcSumOverTime`` and ``sum`` (compensated);
- Prometheus 2.42 (``semantics=2``, Debian's promtool): ``kahanSumInc`` without the reset,
  ``funcAvgOverTime`` as an incremental mean from zero, ``sum`` and ``avg`` aggregations plain
  (``avg``: ``mean += v/n - mean/n``), infinities kept as in ``engine.go``.

``max``/``min`` keep the first value and replace it by a larger (smaller) one or when it is NaN,
so NaN wins only when every value is NaN.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def kahan_inc(inc: Array, total: Array, c: Array, *, reset_on_inf: bool) -> tuple[Array, Array]:
    """``kahansum.Inc`` (``reset_on_inf``, Prometheus 3) or 2.42's ``kahanSumInc``."""
    with np.errstate(invalid="ignore", over="ignore"):
        t = total + inc
        c = c + np.where(np.abs(total) >= np.abs(inc), (total - t) + inc, (inc - t) + total)
        if reset_on_inf:
            c = np.where(np.isinf(t), 0.0, c)
    return t, c


class Reducer:
    """Fold of a sequence; ``start`` takes its first element, ``add`` each further one."""

    def __init__(self, size: int) -> None:
        self.count = np.zeros(size)

    def start(self, v: Array, mask: Array) -> None:
        self.add(v, mask)

    def add(self, v: Array, mask: Array) -> None:
        self.count = np.where(mask, self.count + 1, self.count)

    def result(self) -> Array:
        return self.count


class Group(Reducer):
    def result(self) -> Array:
        return np.ones_like(self.count)


class Extreme(Reducer):
    def __init__(self, size: int, *, maximum: bool) -> None:
        super().__init__(size)
        self.value, self.maximum = np.full(size, np.nan), maximum

    def start(self, v: Array, mask: Array) -> None:
        self.value = np.where(mask, v, self.value)

    def add(self, v: Array, mask: Array) -> None:
        with np.errstate(invalid="ignore"):
            better = v > self.value if self.maximum else v < self.value
        self.value = np.where(mask & (better | np.isnan(self.value)), v, self.value)

    def result(self) -> Array:
        return self.value


class KahanSum(Reducer):
    """``sum_over_time`` (from zero) and Prometheus 3's ``sum`` (from the first value)."""

    def __init__(self, size: int, semantics: int, *, from_first: bool) -> None:
        super().__init__(size)
        self.total, self.c = np.zeros(size), np.zeros(size)
        self.v3, self.from_first = semantics >= 3, from_first

    def start(self, v: Array, mask: Array) -> None:
        if self.from_first:
            self.total = np.where(mask, v, self.total)
        else:
            self.add(v, mask)

    def add(self, v: Array, mask: Array) -> None:
        t, c = kahan_inc(v, self.total, self.c, reset_on_inf=self.v3)
        self.total, self.c = np.where(mask, t, self.total), np.where(mask, c, self.c)

    def result(self) -> Array:
        with np.errstate(invalid="ignore"):
            if self.from_first:  # the aggregation adds the compensation unconditionally
                return self.total + self.c
            return np.where(np.isinf(self.total), self.total, self.total + self.c)


class PlainSum(Reducer):
    """Prometheus 2.42's ``sum`` aggregation: ``value += v``."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.total = np.zeros(size)

    def start(self, v: Array, mask: Array) -> None:
        self.total = np.where(mask, v, self.total)

    def add(self, v: Array, mask: Array) -> None:
        with np.errstate(invalid="ignore", over="ignore"):
            self.total = np.where(mask, self.total + v, self.total)

    def result(self) -> Array:
        return self.total


class MeanV3(Reducer):
    """Prometheus 3's ``avg`` and ``avg_over_time``: compensated sum, incremental on overflow."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.total, self.c, self.mean = np.zeros(size), np.zeros(size), np.zeros(size)
        self.incremental = np.zeros(size, dtype=bool)

    def start(self, v: Array, mask: Array) -> None:
        self.total = np.where(mask, v, self.total)
        self.count = np.where(mask, 1.0, self.count)

    def add(self, v: Array, mask: Array) -> None:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            self.count = count = np.where(mask, self.count + 1, self.count)
            summing = mask & ~self.incremental
            t, c = kahan_inc(v, self.total, self.c, reset_on_inf=True)
            keep = summing & ~np.isinf(t)
            self.total, self.c = np.where(keep, t, self.total), np.where(keep, c, self.c)
            switch = summing & np.isinf(t)
            self.mean = np.where(switch, self.total / (count - 1), self.mean)
            self.c = np.where(switch, self.c / (count - 1), self.c)
            self.incremental = self.incremental | switch
            step = mask & self.incremental
            q = (count - 1) / count
            mean, c = kahan_inc(v / count, q * self.mean, q * self.c, reset_on_inf=True)
            self.mean, self.c = np.where(step, mean, self.mean), np.where(step, c, self.c)

    def result(self) -> Array:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                self.incremental, self.mean + self.c, self.total / self.count + self.c / self.count
            )


class MeanV2OverTime(Reducer):
    """Prometheus 2.42's ``avg_over_time``: an incremental, compensated mean from zero."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.mean, self.c = np.zeros(size), np.zeros(size)

    def add(self, v: Array, mask: Array) -> None:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            self.count = count = np.where(mask, self.count + 1, self.count)
            step = mask & ~_mean_stays_infinite(self.mean, v)
            mean, c = kahan_inc(
                v / count - self.mean / count, self.mean, self.c, reset_on_inf=False
            )
            self.mean, self.c = np.where(step, mean, self.mean), np.where(step, c, self.c)

    def result(self) -> Array:
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(self.mean), self.mean, self.mean + self.c)


class MeanV2(Reducer):
    """Prometheus 2.42's ``avg`` aggregation: ``mean += v/n - mean/n`` from the first value."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.mean = np.zeros(size)

    def start(self, v: Array, mask: Array) -> None:
        self.mean = np.where(mask, v, self.mean)
        self.count = np.where(mask, 1.0, self.count)

    def add(self, v: Array, mask: Array) -> None:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            self.count = count = np.where(mask, self.count + 1, self.count)
            step = mask & ~_mean_stays_infinite(self.mean, v)
            self.mean = np.where(step, self.mean + (v / count - self.mean / count), self.mean)

    def result(self) -> Array:
        return self.mean


def _mean_stays_infinite(mean: Array, v: Array) -> Array:
    """2.42 skips a value when the mean is infinite and the value is finite or the same Inf."""
    with np.errstate(invalid="ignore"):
        same_inf = np.isinf(v) & ((mean > 0) == (v > 0))
        skipped: Array = np.isinf(mean) & (same_inf | np.isfinite(v))
    return skipped


def aggregation(name: str, size: int, semantics: int) -> Reducer:
    """The reducer of the aggregation operator ``name`` (sum, avg, max, min, count, group)."""
    if name == "sum":
        return KahanSum(size, semantics, from_first=True) if semantics >= 3 else PlainSum(size)
    if name == "avg":
        return MeanV3(size) if semantics >= 3 else MeanV2(size)
    if name in ("max", "min"):
        return Extreme(size, maximum=name == "max")
    return Group(size) if name == "group" else Reducer(size)


def over_time(name: str, size: int, semantics: int) -> Reducer:
    """The reducer of ``<name>_over_time`` (sum, avg, max, min, count)."""
    if name == "sum":
        return KahanSum(size, semantics, from_first=False)
    if name == "avg":
        return MeanV3(size) if semantics >= 3 else MeanV2OverTime(size)
    if name in ("max", "min"):
        return Extreme(size, maximum=name == "max")
    return Reducer(size)
