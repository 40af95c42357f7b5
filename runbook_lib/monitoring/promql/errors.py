"""The parser's two refusals, both :class:`ConfigurationError` raised at parse time."""

from __future__ import annotations

from runbook_lib.errors import ConfigurationError


class InvalidPromQL(ConfigurationError):
    """Text that Prometheus itself refuses; ``detail`` is Prometheus' wording."""

    def __init__(self, text: str, detail: str) -> None:
        super().__init__(f"PromQL {text!r}: {detail} (Prometheus refuses this too)")
        self.detail = detail


class UnsupportedPromQL(ConfigurationError):
    """Valid PromQL that the drill's evaluator does not implement; ``reason`` names what."""

    def __init__(self, text: str, reason: str, detail: str = "") -> None:
        what = f"{reason} {detail}" if detail else reason
        super().__init__(
            f"PromQL {text!r}: {what} is outside the subset the drill's evaluator implements "
            "(runbook_lib/monitoring/promql); rewrite the expression or extend the evaluator"
        )
        self.reason = reason
