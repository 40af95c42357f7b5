"""What Alertmanager's notifications left in the simulations, read back from them (guide:
Communication Channels): Slack's messages in a channel, the emails SendGrid took, the incidents
the status page holds. Nothing here asks Alertmanager what it sent.

A notification's text is the deployed configuration's template
(:data:`runbook_lib.monitoring.alertmanager.ALERT_LINES`): a title ``[FIRING:2] Name (...)`` and
one line per alert, ``Name [severity] firing window 1h/5m: summary (guide: ..., line N)``.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime

from runbook_lib.guide.model import Guide
from runbook_lib.monitoring.alertmanager import _ADDRESSES, Tier
from runbook_lib.monitoring.alertmanager_drill import Played
from runbook_lib.procedures.incident_response.communications import internal_channel
from runbook_lib.sim.cloud import SimulatedCloud

_TITLE = re.compile(r"\[(FIRING|RESOLVED)(?::\d+)?\] ")
_LINE = re.compile(
    r"^(?P<name>\w+) \[(?P<severity>\w+)\] (?P<status>firing|resolved)"
    r"(?: window (?P<window>\S+))?: ",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Notification:
    """One notification as a channel received it."""

    channel: str
    minute: float  # when it arrived, in the evaluation's minutes
    status: str  # "firing" or "resolved", as its title says ("" when it says neither)
    alerts: tuple[tuple[str, str, str], ...]  # (alertname, window, status) of each alert listed
    text: str

    def names(self, alert: str) -> bool:
        return any(name == alert for name, _, _ in self.alerts)

    def firing(self, alert: str) -> bool:
        return any(n == alert and s == "firing" for n, _, s in self.alerts)

    def windows(self, alert: str) -> set[str]:
        return {w for n, w, s in self.alerts if n == alert and s == "firing"}


def _notification(channel: str, minute: float, text: str) -> Notification:
    title = _TITLE.search(text)
    alerts = tuple((m["name"], m["window"] or "", m["status"]) for m in _LINE.finditer(text))
    return Notification(channel, minute, title.group(1).lower() if title else "", alerts, text)


def slack(cloud: SimulatedCloud, channel: str, played: Played) -> list[Notification]:
    """The messages Slack posted into ``channel``, oldest first."""
    return [
        _notification(f"Slack {channel}", played.minute(d.at), d.text)
        for d in cloud.slack.deliveries
        if d.to == (channel,)
    ]


def email(cloud: SimulatedCloud, recipients: tuple[str, ...], played: Played) -> list[Notification]:
    """The alert emails SendGrid took addressed to every one of ``recipients``."""
    return [
        _notification(f"email to {', '.join(d.to)}", played.minute(d.at), f"{d.subject}\n{d.text}")
        for d in cloud.sendgrid.received_by(recipients)
        if _TITLE.match(d.subject)
    ]


def status_page(cloud: SimulatedCloud, alert: str) -> list[tuple[str, str]]:
    """(incident id, status) of every status page incident opened for ``alert``."""
    return [
        (i.id, i.status) for i in cloud.statuspage.incidents.values() if i.name.startswith(alert)
    ]


def channels(cloud: SimulatedCloud, guide: Guide, played: Played) -> dict[str, list[Notification]]:
    """Every channel the guide names for any alert, and what each heard (the status page's
    incidents as one notification each, at their creation)."""
    channel = internal_channel(guide)
    incidents = [
        _notification(
            "status page",
            played.minute(datetime.fromisoformat(i.created_at)),
            "\n".join([i.body, *(u["body"] for u in i.updates)]),
        )
        for i in cloud.statuspage.incidents.values()
    ]
    return {
        f"Slack {channel}": slack(cloud, channel, played),
        "status page": incidents,
        "email to customers": email(cloud, _ADDRESSES.customers, played),
        "email to stakeholders": email(cloud, _ADDRESSES.stakeholders, played),
    }


def expected(tier: Tier) -> set[str]:
    """The channels the guide names for ``tier``'s alerts."""
    found = {f"Slack {tier.slack_channel}"}
    found |= {"status page"} if "status page" in tier.external else set()
    found |= {"email to customers"} if "email" in tier.external else set()
    return found | ({"email to stakeholders"} if tier.stakeholders else set())


def repeat_gaps(notifications: list[Notification], alert: str) -> list[float]:
    """Minutes between consecutive firing notifications that name ``alert`` firing."""
    times = [n.minute for n in notifications if n.status == "firing" and n.firing(alert)]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def credentials_in(cloud: SimulatedCloud) -> list[str]:
    """The names of the cloud's credentials that appear in anything a channel received."""
    received = json.dumps(
        [
            cloud.slack.messages,
            [d.text for d in cloud.sendgrid.deliveries],
            [(i.body, i.updates) for i in cloud.statuspage.incidents.values()],
        ]
    )
    return [name for name, value in vars(cloud.credentials).items() if value in received]


def lag(notifications: list[Notification], alert: str, played: Played, wait: float) -> float:
    """How late the channel's first notice of ``alert`` firing came, in minutes, past the
    ``wait`` (Alertmanager's group_wait) after it was sent firing: the delivery's own time on
    this machine (TLS, SMTP, a busy CPU), which the speed-up turns into minutes."""
    fired = played.fired(alert)
    first = next((n.minute for n in notifications if n.firing(alert)), None)
    return 0.0 if fired is None or first is None else max(0.0, first - fired - wait)


def resolution_delays(
    cloud: SimulatedCloud, guide: Guide, played: Played, alert: str, wait: float
) -> dict[str, tuple[float | None, float]]:
    """Per channel that heard ``alert`` fire (Slack and email: the status page keeps no time of
    its updates): (minutes from the alert's resolution to the first resolved notice naming it,
    None when none came; the channel's :func:`lag`)."""
    resolved = played.resolved(alert)
    if resolved is None:
        return {}
    found: dict[str, tuple[float | None, float]] = {}
    for channel, heard in channels(cloud, guide, played).items():
        if channel == "status page" or not any(n.firing(alert) for n in heard):
            continue
        notices = [
            n.minute
            for n in heard
            if n.status == "resolved" and n.names(alert) and n.minute >= resolved
        ]
        found[channel] = (
            min(notices) - resolved if notices else None,
            lag(heard, alert, played, wait),
        )
    return found
