"""The names PromQL knows, and the part of them the evaluator implements."""

from __future__ import annotations

COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")
SET_OPERATORS = ("and", "or", "unless")
RANGE_FUNCTIONS = (
    "rate", "increase", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time",
    "count_over_time",
)  # fmt: skip
AGGREGATIONS = ("sum", "avg", "max", "min", "count", "group")
OTHER_AGGREGATIONS = (
    "stddev", "stdvar", "topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio",
)  # fmt: skip
RESERVED = ("atan2", "on", "ignoring", "group_left", "group_right", "bool")  # never a metric name
PROMETHEUS_FUNCTIONS = frozenset((  # promql/parser/functions.go (3.x), plus 2.x's holt_winters
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
    "delta", "deriv", "double_exponential_smoothing", "exp", "first_over_time", "floor",
    "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
    "histogram_quantiles", "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters",
    "hour", "idelta", "increase", "info", "irate", "label_join", "label_replace", "last_over_time",
    "ln", "log10", "log2", "mad_over_time", "max_of", "max_over_time", "min_of", "min_over_time",
    "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad",
    "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label",
    "sort_by_label_desc", "sort_desc", "sqrt", "start", "end", "step", "range", "start_timestamp",
    "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp",
    "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_max_over_time", "ts_of_min_over_time",
    "vector", "year",
))  # fmt: skip
