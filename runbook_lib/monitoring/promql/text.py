"""A parsed tree written back as PromQL (for promtool tests of every sub-expression)."""

from __future__ import annotations

from runbook_lib.monitoring.promql.parser import Node


def to_text(node: Node) -> str:
    """``node`` written back as PromQL that Prometheus 2.x and 3.x parse to the same tree."""
    if node.kind == "number":
        value = node.value
        return (
            "NaN"
            if value != value
            else {float("inf"): "Inf", float("-inf"): "-Inf"}.get(value, repr(value))
        )
    if node.kind == "selector":
        matchers = "".join(f",{m.label}{m.op}{_quote(m.value)}" for m in node.matchers)
        text = f"{node.name}{{{matchers[1:]}}}" if matchers else node.name
        text += f"[{_duration(node.range_ms)}]" if node.type == "matrix" else ""
        return text + (f" offset {_duration(node.offset_ms)}" if node.offset_ms else "")
    if node.kind == "call":
        return f"{node.name}({to_text(node.args[0])})"
    if node.kind == "aggregate":
        grouping = ", ".join(node.grouping)
        modifier = (
            f" without ({grouping})" if node.without else f" by ({grouping})" if grouping else ""
        )
        return f"{node.name}{modifier}({to_text(node.args[0])})"
    if node.kind == "unary":
        return f"-({to_text(node.args[0])})"
    bool_ = " bool" if node.bool_modifier else ""
    return f"({to_text(node.args[0])}) {node.op}{bool_} ({to_text(node.args[1])})"


def subexpressions(node: Node) -> list[Node]:
    """``node`` and every instant-vector or scalar expression inside it, outermost first."""
    inner = [s for arg in node.args for s in subexpressions(arg)]
    return ([node] if node.type != "matrix" else []) + inner


def _duration(ms: int) -> str:
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    return f"{sign}{ms // 1000}s" if ms % 1000 == 0 else f"{sign}{ms}ms"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
