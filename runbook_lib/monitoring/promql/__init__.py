"""The PromQL subset the rule file may use: parsed strictly, evaluated with Prometheus semantics.

The subset (anything else is refused at parse time, hence at rule-load time, with a
:class:`~runbook_lib.errors.ConfigurationError` naming the construct; never evaluated
differently):

- number literals in every Prometheus form (``1``, ``.5``, ``2.``, ``1e3``, ``0x1F``,
  ``1_000``, ``Inf``, ``NaN``), unary ``+``/``-``;
- instant selectors with one metric name and ``=``/``!=`` matchers (``label=""`` selects the
  series without the label), ``offset``; range selectors as arguments of ``rate``, ``increase``,
  ``avg_over_time``, ``max_over_time``, ``min_over_time``, ``sum_over_time``,
  ``count_over_time``;
- ``sum``, ``avg``, ``max``, ``min``, ``count``, ``group``, optionally ``by``/``without``;
- ``+ - * / %``, comparisons (filtering, or ``bool``), ``and``, ``or``, ``unless``, with
  one-to-one matching on all labels but the metric name.

``semantics=3`` (default) evaluates as Prometheus 3.x; ``semantics=2`` as Prometheus 2.x
(left-closed windows and lookback, the 2.x order of the zero cutoff in rate extrapolation,
2.42's summation and means), which is what Debian's promtool 2.42 runs. Both are held to
Prometheus' own test data (``tests/test_promql_conformance.py``) and to promtool on random
series (``tests/test_promtool_differential.py``).
"""

from runbook_lib.monitoring.promql.errors import InvalidPromQL, UnsupportedPromQL
from runbook_lib.monitoring.promql.evaluator import (
    LOOKBACK_SECONDS,
    Evaluator,
    QueryFailed,
    Value,
    Vector,
)
from runbook_lib.monitoring.promql.names import AGGREGATIONS, RANGE_FUNCTIONS
from runbook_lib.monitoring.promql.parser import Matcher, Node, parse
from runbook_lib.monitoring.promql.series import Labels, Samples, Series, without_name

__all__ = [
    "AGGREGATIONS",
    "LOOKBACK_SECONDS",
    "RANGE_FUNCTIONS",
    "Evaluator",
    "InvalidPromQL",
    "Labels",
    "Matcher",
    "Node",
    "QueryFailed",
    "Samples",
    "Series",
    "UnsupportedPromQL",
    "Value",
    "Vector",
    "parse",
    "without_name",
]
