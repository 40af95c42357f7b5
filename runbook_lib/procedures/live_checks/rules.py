"""The deployed alert rules against the rules the guide generates (guide: Monitoring & Alerting
> Alerting Rules, Key Metrics).

The configuration directory's rule file (``alerts/napoleon-ai.rules.yml``) is what the target's
Prometheus loads. :func:`rule_drift` reads it as Prometheus would
(:func:`~runbook_lib.monitoring.rules.load_rules`: a file Prometheus would refuse is refused) and
compares it, rule by rule, with what :func:`~runbook_lib.monitoring.catalog.render` generates
from the guide: the query (as parsed, so spacing is not drift), ``for``, ``keep_firing_for``,
labels, annotations and the group's settings. A rule that is missing, added or different is
named with what differs; the file's comments and layout are not compared.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from runbook_lib.guide.model import Guide
from runbook_lib.monitoring.catalog import render
from runbook_lib.monitoring.rules import AlertRule, load_rules

Key = tuple[str, str, int]  # (group, alert, its occurrence in the group)
FIELDS = (
    ("for", "for_seconds"),
    ("keep_firing_for", "keep_firing_for_seconds"),
    ("labels", "labels"),
    ("annotations", "annotations"),
    ("group interval", "interval_seconds"),
    ("group query_offset", "query_offset_seconds"),
)


def generated_rules(guide: Guide) -> list[AlertRule]:
    """The rules the guide generates, read back the way a deployed file is."""
    with tempfile.TemporaryDirectory(prefix="runbook-rules-") as directory:
        path = Path(directory) / "generated.rules.yml"
        path.write_text(render(guide), encoding="utf-8")
        return load_rules(path)


def _keyed(rules: list[AlertRule]) -> dict[Key, AlertRule]:
    seen: Counter[tuple[str, str]] = Counter()
    keyed = {}
    for rule in rules:
        seen[(rule.group, rule.name)] += 1
        keyed[(rule.group, rule.name, seen[(rule.group, rule.name)])] = rule
    return keyed


def _name(key: Key) -> str:
    group, alert, occurrence = key
    return f"{alert}{f' #{occurrence}' if occurrence > 1 else ''} (group {group})"


def rule_drift(guide: Guide, rule_file: Path) -> list[str]:
    """Every difference between the deployed ``rule_file`` and the guide's rules ([]: none)."""
    deployed, wanted = _keyed(load_rules(rule_file)), _keyed(generated_rules(guide))
    drift = [
        f"{_name(k)}: the guide generates it, {rule_file.name} lacks it"
        for k in wanted
        if k not in deployed
    ]
    drift += [
        f"{_name(k)}: in {rule_file.name}, not generated from the guide"
        for k in deployed
        if k not in wanted
    ]
    for key in (k for k in wanted if k in deployed):
        have, want = deployed[key], wanted[key]
        if have.node != want.node:
            drift.append(f"{_name(key)}: expr is `{have.expr}`, the guide generates `{want.expr}`")
        for label, attribute in FIELDS:
            if getattr(have, attribute) != getattr(want, attribute):
                drift.append(
                    f"{_name(key)}: {label} is {getattr(have, attribute)!r}, the guide generates "
                    f"{getattr(want, attribute)!r}"
                )
    return drift
