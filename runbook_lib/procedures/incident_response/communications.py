"""Communication Channels and maintenance notices (guide: Incident Response > Communication
Channels; Maintenance Windows > Communication).

Who hears about an incident comes from the guide: Internal (the Slack channel it names,
"#incidents") always; External (status page, email notifications) when customers are affected;
Stakeholders (direct communication) for the levels the guide lists ("P0/P1"). Messages go out
through the real API shapes of a Slack incoming webhook (addressed to the guide's channel),
Atlassian Statuspage and SendGrid. The guide names audiences, not addresses: who is on the
customer and stakeholder lists is configuration (:class:`Channels`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from runbook_lib.errors import GuideError, ServiceError
from runbook_lib.guide.model import Guide
from runbook_lib.procedures.incident_response.incidents import Incident
from runbook_lib.world.clock import Clock
from runbook_lib.world.http import ApiClient

STATUSPAGE_API = "https://api.statuspage.io"
SENDGRID_API = "https://api.sendgrid.com"


@dataclass(frozen=True)
class Channels:
    """Where messages go and the credentials to send them (from the environment in live mode)."""

    slack_webhook_url: str
    statuspage_page_id: str
    statuspage_key: str
    sendgrid_key: str
    sender: str = "status@napoleon.ai"
    customers: tuple[str, ...] = ("customers@napoleon.ai",)
    stakeholders: tuple[str, ...] = ("board@napoleon.ai", "investors@napoleon.ai")


@dataclass(frozen=True)
class Message:
    channel: str  # "slack", "status page", "email: customers", "email: stakeholders"
    text: str


_SLACK_CHANNEL = re.compile(r"#[a-z0-9][a-z0-9_-]*")


def internal_channel(guide: Guide) -> str:
    """The Slack channel of Communication Channels' Internal line ("Slack #incidents")."""
    for statement in guide.statements_in("Communication Channels"):
        found = _SLACK_CHANNEL.search(statement.text)
        if statement.label.lower() == "internal" and found:
            return found.group()
    raise GuideError(
        guide.path, None, "Communication Channels", "expected '**Internal**: Slack #<channel>'"
    )


def maintenance_channel(guide: Guide) -> str:
    """Where maintenance notices go: the channel Maintenance Windows > Communication names for
    Internal, else the incident channel (the guide's only one: "Slack notification 24h before")."""
    for notice in guide.maintenance_notices:
        found = _SLACK_CHANNEL.search(notice.text)
        if notice.label.lower() == "internal" and found:
            return found.group()
    return internal_channel(guide)


def stakeholder_levels(guide: Guide) -> set[str]:
    """Levels that get direct stakeholder communication ("Direct communication for P0/P1")."""
    for statement in guide.statements_in("Communication Channels"):
        if statement.label.lower() == "stakeholders":
            return set(re.findall(r"P\d", statement.text))
    return set()


@dataclass
class Notifier:
    guide: Guide
    channels: Channels
    clock: Clock
    http: httpx.Client
    sent: list[Message] = field(default_factory=list)

    def announce(
        self, incident: Incident, *, external_impact: bool, status: str = "investigating"
    ) -> list[Message]:
        """Tell everyone the guide says must hear about ``incident``; returns what was sent."""
        severity = incident.severity
        text = (
            f"[{severity.level} {severity.name}] {incident.id} {status}: {severity.description}. "
            f"Response within {int(severity.response_seconds // 60)} min."
        )
        messages = [self._slack(text, internal_channel(self.guide))]
        if external_impact:
            messages.append(self._status_page(incident, status, text))
            messages.append(
                self._email(
                    "customers", self.channels.customers, f"{incident.id}: service {status}", text
                )
            )
        if severity.level in stakeholder_levels(self.guide):
            messages.append(
                self._email(
                    "stakeholders",
                    self.channels.stakeholders,
                    f"{severity.level} incident {incident.id}",
                    text,
                )
            )
        self.sent += messages
        return messages

    def _slack(self, text: str, channel: str) -> Message:
        response = self.http.post(
            self.channels.slack_webhook_url, json={"channel": channel, "text": text}, timeout=10
        )
        if response.status_code != 200:
            raise ServiceError(
                f"Slack webhook answered {response.status_code} {response.text}: check the webhook URL",
                response.status_code,
            )
        return Message("slack", text)

    def _status_page(self, incident: Incident, status: str, text: str) -> Message:
        level = incident.severity.level
        impact = "critical" if level == "P0" else "major" if level == "P1" else "minor"
        return self.post_status(
            f"{incident.id}: {incident.severity.description}", status, text, impact
        )

    def post_status(
        self,
        name: str,
        status: str,
        text: str,
        impact: str | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> Message:
        """Open a status page incident (``status`` "scheduled" for a maintenance ``window``)."""
        client = ApiClient(
            "Statuspage API",
            STATUSPAGE_API,
            self.channels.statuspage_key,
            "STATUSPAGE_API_KEY",
            self.http,
            clock=self.clock,
            auth_scheme="OAuth",
        )
        incident: dict[str, str] = {"name": name, "status": status, "body": text}
        if impact:
            incident["impact_override"] = impact
        if window:
            incident["scheduled_for"] = window[0].isoformat()
            incident["scheduled_until"] = window[1].isoformat()
        client.request(
            "POST",
            f"/v1/pages/{self.channels.statuspage_page_id}/incidents",
            json={"incident": incident},
        )
        return Message("status page", text)

    def _email(
        self, audience: str, recipients: tuple[str, ...], subject: str, text: str
    ) -> Message:
        self.send_email(recipients, subject, text)
        return Message(f"email: {audience}", text)

    def send_email(self, recipients: tuple[str, ...], subject: str, text: str) -> None:
        client = ApiClient(
            "SendGrid API",
            SENDGRID_API,
            self.channels.sendgrid_key,
            "SENDGRID_API_KEY",
            self.http,
            clock=self.clock,
        )
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": r} for r in recipients]}],
            "from": {"email": self.channels.sender},
            "subject": subject,
            "content": [{"type": "text/plain", "value": text}],
        }
        client.request("POST", "/v3/mail/send", json=body, expect=(202,))

    def post_slack(self, text: str, channel: str | None = None) -> Message:
        """Post to ``channel``, by default the guide's internal incident channel."""
        message = self._slack(text, channel or internal_channel(self.guide))
        self.sent.append(message)
        return message

    def schedule_status_page(
        self, name: str, text: str, window: tuple[datetime, datetime]
    ) -> Message:
        message = self.post_status(name, "scheduled", text, window=window)
        self.sent.append(message)
        return message

    def open_status_incident(self, name: str, text: str) -> Message:
        message = self.post_status(name, "investigating", text)
        self.sent.append(message)
        return message
