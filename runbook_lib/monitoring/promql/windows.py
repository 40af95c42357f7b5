"""Range-vector functions over one series, at every evaluation time at once (numpy).

The window of an evaluation at ``t`` is ``(t - range, t]`` in Prometheus 3 and ``[t - range, t]``
in 2.x; stale markers never enter it. Times are integer milliseconds, as in Prometheus, so a
sample exactly on a window edge is in or out exactly as there.

- ``rate``/``increase``: ``extrapolatedRate`` of ``promql/functions.go``, with its order of
  operations (the zero cutoff after the extrapolation threshold in Prometheus 3, before it in
  2.x; ``factor = (sampled + to_start + to_end) / sampled``, then ``/ range``, then ``result *
  factor``) and counter resets added one by one in time order.
- ``*_over_time``: the reducers of :mod:`.reduce`, fed window by window in sample order. Where
  every partial sum of a window is exact in float64 (values on a common binary grid, small
  enough), the compensated sum equals the exact sum, so a prefix-sum difference gives the same
  bits in O(1) per window; any other window is folded sample by sample.
- ``max``/``min_over_time``: a sparse table of NaN-ignoring maxima (NaN only if all are NaN).
"""

from __future__ import annotations

import numpy as np

from runbook_lib.monitoring.promql import reduce
from runbook_lib.monitoring.promql.series import Samples

Array = np.ndarray
_EXACT_BITS = 53


def seconds(ms: int) -> float:
    """``time.Duration.Seconds()`` of ``ms`` milliseconds, rounded as Go rounds it."""
    return float(ms // 1000) + float((ms % 1000) * 1_000_000) / 1e9


def bounds(ts: Array, ends: Array, range_ms: int, semantics: int) -> tuple[Array, Array]:
    """Index range [lo, hi) of the samples in each window ending at ``ends``."""
    lo = np.searchsorted(ts, ends - range_ms, side="right" if semantics >= 3 else "left")
    return lo, np.searchsorted(ts, ends, side="right")


def range_function(
    name: str, samples: Samples, ends: Array, range_ms: int, semantics: int
) -> tuple[Array, Array]:
    """(values, present) of ``name`` over the windows ending at ``ends`` (ms)."""
    ts, vs = samples.fresh_times, samples.fresh_values
    lo, hi = bounds(ts, ends, range_ms, semantics)
    count = hi - lo
    if len(vs) == 0:
        return np.full(len(ends), np.nan), np.zeros(len(ends), dtype=bool)
    if name in ("rate", "increase"):
        rate = range_ms if name == "rate" else 0
        return _extrapolated(ts, vs, lo, hi, ends - range_ms, ends, rate, semantics), count >= 2
    kind = name.removesuffix("_over_time")
    if kind in ("max", "min"):
        return _extreme(vs, lo, hi, maximum=kind == "max"), count > 0
    if kind == "count":
        return count.astype(float), count > 0
    return _folded(kind, vs, lo, hi, semantics), count > 0


def _extrapolated(
    ts: Array, vs: Array, lo: Array, hi: Array, starts: Array, ends: Array, rate_ms: int,
    semantics: int,
) -> Array:  # fmt: skip
    """``extrapolatedRate``: ``increase``, or ``rate`` over ``rate_ms`` when that is not 0."""
    count = hi - lo
    first, last = np.minimum(lo, len(vs) - 1), np.maximum(hi - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        result = _with_resets(vs[last] - vs[first], vs, first, last)
        to_start = (ts[first] - starts) / 1000
        to_end = (ends - ts[last]) / 1000
        sampled = (ts[last] - ts[first]) / 1000
        average = sampled / np.maximum(count - 1, 1)
        threshold = average * 1.1
        rising = (result > 0) & (vs[first] >= 0)
        to_zero = sampled * (vs[first] / np.where(rising, result, 1.0))
        if semantics >= 3:
            to_start = np.where(to_start >= threshold, average / 2, to_start)
            to_start = np.where(rising & (to_zero < to_start), to_zero, to_start)
        else:
            to_start = np.where(rising & (to_zero < to_start), to_zero, to_start)
            to_start = np.where(to_start < threshold, to_start, average / 2)
        to_end = np.where(to_end < threshold, to_end, average / 2)
        factor = (sampled + to_start + to_end) / np.where(sampled != 0, sampled, 1.0)
        factor = np.where(sampled != 0, factor, 1.0)
        if rate_ms:
            factor = factor / seconds(rate_ms)
        value: Array = result * factor
    return value


def _with_resets(result: Array, vs: Array, first: Array, last: Array) -> Array:
    """``result`` plus, in time order, the value before every counter reset in (first, last]."""
    with np.errstate(invalid="ignore"):
        drops = np.concatenate(([False], vs[1:] < vs[:-1]))
    if not drops.any():
        return result
    at = np.flatnonzero(drops)
    before = np.cumsum(drops)  # resets at or before each index
    begin, resets = before[first], before[last] - before[first]
    for j in range(int(resets.max(initial=0))):
        rows = resets > j
        result[rows] = result[rows] + vs[at[begin[rows] + j] - 1]
    return result


def _extreme(vs: Array, lo: Array, hi: Array, *, maximum: bool) -> Array:
    """NaN-ignoring max (min) of vs[lo:hi] per window: a sparse table, O(1) per window."""
    pick = np.fmax if maximum else np.fmin
    table = [vs]
    span = 1
    while span * 2 <= len(vs):
        previous = table[-1]
        table.append(pick(previous[:-span], previous[span:]))
        span *= 2
    count = hi - lo
    level = np.floor(np.log2(np.maximum(count, 1))).astype(int)
    result = np.full(len(lo), np.nan)
    for k in np.unique(level[count > 0]):
        rows = (level == k) & (count > 0)
        row = table[k]
        result[rows] = pick(row[lo[rows]], row[hi[rows] - (1 << k)])
    return result


def _folded(kind: str, vs: Array, lo: Array, hi: Array, semantics: int) -> Array:
    """sum/avg of each window as Prometheus folds it (exact windows by prefix sums)."""
    count = hi - lo
    result = np.full(len(lo), np.nan)
    exact = _exact_windows(vs, lo, hi)
    if kind == "avg" and semantics < 3:
        exact[:] = False  # 2.42's incremental mean is not sum / count
    if exact.any():
        finite = np.where(np.isfinite(vs), vs, 0.0)
        prefix = np.concatenate(([0.0], np.cumsum(finite)))
        sums = prefix[hi[exact]] - prefix[lo[exact]]
        result[exact] = sums / count[exact] + 0.0 if kind == "avg" else sums + 0.0
    rows = np.flatnonzero(~exact & (count > 0))
    if len(rows):
        result[rows] = _fold(kind, vs, lo[rows], count[rows], semantics)
    return result


def _fold(kind: str, vs: Array, lo: Array, count: Array, semantics: int) -> Array:
    reducer = reduce.over_time(kind, len(lo), semantics)
    for k in range(int(count.max())):
        mask = count > k
        value = vs[np.minimum(lo + k, len(vs) - 1)]
        (reducer.start if k == 0 else reducer.add)(value, mask)
    return reducer.result()


def _exact_windows(vs: Array, lo: Array, hi: Array) -> Array:
    """Windows whose every partial sum is exact: finite values on one binary grid 2**-k whose
    absolute total stays below 2**53 grid steps."""
    finite = np.isfinite(vs)
    values = vs[finite]
    no = np.zeros(len(lo), dtype=bool)
    if len(values) == 0:
        return no
    for k in range(0, 64, 4):
        scaled = np.ldexp(values, k)
        if np.all(scaled == np.round(scaled)):
            break
    else:
        return no
    if np.abs(scaled).sum() >= 2.0 ** (_EXACT_BITS - 1):  # a margin for the estimate itself
        return no
    bad = np.concatenate(([0], np.cumsum(~finite)))
    clean: Array = (bad[hi] - bad[lo]) == 0
    return clean
