"""Routing a firing alert by severity (guide: Incident Response > Communication Channels).

Every alert goes to Slack #incidents naming the alert, its severity and the guide section it
implements; critical alerts also open a status page incident, as customers feel them.
"""

from __future__ import annotations

from runbook_lib.monitoring.rules import AlertRule
from runbook_lib.procedures.incident_response.communications import Message, Notifier


def route_alert(notifier: Notifier, rule: AlertRule) -> list[Message]:
    severity = rule.labels.get("severity", "warning")
    section = rule.annotations.get("guide_section", "")
    text = (
        f"[{severity}] {rule.name} firing: {rule.annotations.get('summary', '')} "
        f"(guide: {section}, line {rule.annotations.get('guide_line', '?')})"
    )
    sent = [notifier.post_slack(text)]
    if severity == "critical":
        sent.append(notifier.open_status_incident(f"{rule.name}: investigating", text))
    return sent
