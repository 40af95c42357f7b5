"""Stateful fakes of the notification channels the guide names.

- Slack incoming webhook (Internal: Slack #incidents): ``POST https://hooks.slack.com/services/T/B/X``,
  plain-text ``ok`` on success, ``invalid_payload`` / ``no_text`` (400), ``no_service`` (404).
  A webhook posts into the channel it was made for unless the payload names another
  (``"channel": "#name"``, as workspace webhooks allow); a malformed name is
  ``channel_not_found`` (404). Each message gets Slack's ``ts``: when it arrived.
- Atlassian Statuspage (External: status page): ``POST /v1/pages/{page_id}/incidents`` with
  ``Authorization: OAuth <key>``, 201 and the incident (a ``scheduled`` maintenance with its
  ``scheduled_for`` / ``scheduled_until``); ``PATCH .../incidents/{id}`` updates it.
- SendGrid v3 (External: email notifications): ``POST /v3/mail/send``, 202 with an empty body and
  the send's ``X-Message-Id``; errors as ``{"errors": [{"message", "field", "help"}]}``. What
  then happens to each recipient reaches the sender through SendGrid's Event Webhook
  (:mod:`runbook_lib.sim.sendgrid_events`).
- A pager (the Emergency Contacts' phone numbers): no HTTP API of the guide's; pages are handed
  to it in process.

Every fake keeps :class:`Delivery` records: what arrived, for whom, and when on its clock (the
simulated cloud's virtual clock), so a drill checks what the channels received, not what the
sender says it sent.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from runbook_lib.procedures.incident_response.communications import Channels
from runbook_lib.sim.http import FakeAPI, json_body, json_response
from runbook_lib.sim.sendgrid_events import SETTINGS_PATH, EventWebhook, sendgrid_errors
from runbook_lib.world.clock import Clock, WallClock

SLACK_URL = "https://hooks.slack.com"
STATUSPAGE_URL = "https://api.statuspage.io"
SENDGRID_URL = "https://api.sendgrid.com"


@dataclass(frozen=True)
class Delivery:
    """One message as a channel received it: to whom, what, and when (the fake's clock)."""

    to: tuple[str, ...]  # Slack channel, status page id, email recipients, phone number
    subject: str  # email subject, status page incident name, role paged ("" for Slack)
    text: str
    at: datetime


_CHANNEL_NAME = re.compile(r"^#[a-z0-9][a-z0-9_-]{0,79}$")


class SlackWebhookFake(FakeAPI):
    """Incoming webhooks; each known path posts into its channel, or the one the payload names."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(SLACK_URL)
        self.clock = clock or WallClock()
        self.channels: dict[str, str] = {}  # webhook path -> channel
        self.messages: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self.add_route("POST", "/services/{team}/{bot}/{secret}", self._post, auth=False)

    def add_webhook(self, path: str, channel: str) -> str:
        self.channels[path] = channel
        return SLACK_URL + path

    def _post(self, request: httpx.Request, team: str, bot: str, secret: str) -> httpx.Response:
        channel = self.channels.get(request.url.path)
        if channel is None:
            return httpx.Response(404, text="no_service")
        body = json_body(request)
        if not isinstance(body, dict):
            return httpx.Response(400, text="invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return httpx.Response(400, text="no_text")
        if "channel" in body:
            if not isinstance(body["channel"], str) or not _CHANNEL_NAME.match(body["channel"]):
                return httpx.Response(404, text="channel_not_found")
            channel = body["channel"]
        at = self.clock.now()
        self.messages.append({**body, "channel": channel, "ts": f"{at.timestamp():.6f}"})
        self.deliveries.append(Delivery((channel,), "", str(body.get("text", "")), at))
        return httpx.Response(200, text="ok")

    def in_channel(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["channel"] == channel]

    def received_in(self, channel: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.to == (channel,)]


@dataclass
class StatusIncident:
    id: str
    name: str
    status: str
    impact: str
    body: str
    created_at: str
    scheduled_for: str | None = None  # a scheduled maintenance's window, as posted
    scheduled_until: str | None = None
    updates: list[dict[str, str]] = field(default_factory=list)


class StatusPageFake(FakeAPI):
    _STATUSES = (
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "scheduled",
        "in_progress",
        "verifying",
        "completed",
    )

    def __init__(self, page_id: str, clock: Clock | None = None) -> None:
        super().__init__(STATUSPAGE_URL, auth_scheme="OAuth")
        self.page_id = page_id
        self.clock = clock or WallClock()
        self.incidents: dict[str, StatusIncident] = {}
        self.deliveries: list[Delivery] = []
        self._ids = itertools.count(1)
        self.add_route("POST", "/v1/pages/{page}/incidents", self._create)
        self.add_route("PATCH", "/v1/pages/{page}/incidents/{incident_id}", self._update)
        self.add_route("GET", "/v1/pages/{page}/incidents", self._list)

    def unauthorized(self) -> httpx.Response:
        return json_response(401, {"error": "Could not authenticate"})

    def _create(self, request: httpx.Request, page: str) -> httpx.Response:
        if page != self.page_id:
            return json_response(404, {"error": "Page not found"})
        incident = (json_body(request) or {}).get("incident")
        if not isinstance(incident, dict) or not incident.get("name"):
            return json_response(422, {"error": "incident.name can't be blank"})
        status = incident.get("status", "investigating")
        if status not in self._STATUSES:
            return json_response(422, {"error": f"status {status} is not valid"})
        window = (incident.get("scheduled_for"), incident.get("scheduled_until"))
        if status == "scheduled" and not all(window):
            return json_response(
                422, {"error": "scheduled_for and scheduled_until are required for maintenance"}
            )
        at = self.clock.now()
        new = StatusIncident(
            f"inc{next(self._ids):04d}",
            incident["name"],
            status,
            incident.get("impact_override", "none"),
            incident.get("body", ""),
            at.isoformat(),
            *window,
        )
        self.incidents[new.id] = new
        self.deliveries.append(Delivery((self.page_id,), new.name, new.body, at))
        return json_response(201, self._shape(new))

    def _update(self, request: httpx.Request, page: str, incident_id: str) -> httpx.Response:
        found = self.incidents.get(incident_id)
        if page != self.page_id or found is None:
            return json_response(404, {"error": "Incident not found"})
        change = (json_body(request) or {}).get("incident", {})
        if change.get("status") and change["status"] not in self._STATUSES:
            return json_response(422, {"error": f"status {change['status']} is not valid"})
        found.status = change.get("status", found.status)
        found.updates.append({"status": found.status, "body": change.get("body", "")})
        return json_response(200, self._shape(found))

    def _list(self, request: httpx.Request, page: str) -> httpx.Response:
        return json_response(200, [self._shape(i) for i in self.incidents.values()])

    def _shape(self, incident: StatusIncident) -> dict[str, Any]:
        return {
            "id": incident.id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
            "created_at": incident.created_at,
            "scheduled_for": incident.scheduled_for,
            "scheduled_until": incident.scheduled_until,
            "page_id": self.page_id,
            "incident_updates": [
                {"status": incident.status, "body": incident.body},
                *incident.updates,
            ],
            "shortlink": f"https://stspg.io/{incident.id}",
        }


class SendGridFake(FakeAPI):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(SENDGRID_URL)
        self.clock = clock or WallClock()
        self.sent: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self.event_webhook = EventWebhook(self.clock)
        self.add_route("POST", "/v3/mail/send", self._send)
        self.add_route("GET", SETTINGS_PATH, self.event_webhook.get_settings)
        self.add_route("PATCH", SETTINGS_PATH, self.event_webhook.patch_settings)

    def error(self, status: int, message: str) -> httpx.Response:
        return sendgrid_errors(status, (message, None))

    def unauthorized(self) -> httpx.Response:
        return json_response(
            401,
            {
                "errors": [
                    {
                        "message": "The provided authorization grant is invalid, expired, or revoked",
                        "field": None,
                        "help": None,
                    }
                ]
            },
        )

    def _send(self, request: httpx.Request) -> httpx.Response:
        body = json_body(request)
        problems: list[tuple[str, str | None]] = []
        if not isinstance(body, dict):
            body = {}
            problems.append(("Bad Request", None))
        if not body.get("personalizations"):
            problems.append(
                (
                    "The personalizations field is required and must have at least one personalization.",
                    "personalizations",
                )
            )
        if not isinstance(body.get("from"), dict) or not body["from"].get("email"):
            problems.append(("The from object must be provided for every email send.", "from"))
        if not body.get("subject"):
            problems.append(("The subject is required.", "subject"))
        if problems:
            return json_response(
                400, {"errors": [{"message": m, "field": f, "help": None} for m, f in problems]}
            )
        self.sent.append(body)
        recipients = tuple(
            str(to.get("email"))
            for p in body["personalizations"]
            if isinstance(p, dict)
            for to in p.get("to", [])
            if isinstance(to, dict)
        )
        text = " ".join(
            str(c.get("value", "")) for c in body.get("content", []) if isinstance(c, dict)
        )
        self.deliveries.append(Delivery(recipients, str(body["subject"]), text, self.clock.now()))
        message_id = self.event_webhook.accept(recipients)
        return httpx.Response(202, headers={"X-Message-Id": message_id})

    def received_by(self, recipients: tuple[str, ...]) -> list[Delivery]:
        """Emails addressed to every one of ``recipients``."""
        return [d for d in self.deliveries if set(recipients) <= set(d.to)]


class PagerFake:
    """The phone bridge that rings the Emergency Contacts: each page as it rang, on the clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.deliveries: list[Delivery] = []

    def page(self, role: str, number: str | None, text: str) -> None:
        """Ring ``number`` for ``role``; a role without a number rings nobody (``to`` empty)."""
        self.deliveries.append(Delivery((number,) if number else (), role, text, self.clock.now()))

    def pages_for(self, incident_id: str) -> list[Delivery]:
        """The pages about one incident (their text starts with its id)."""
        return [d for d in self.deliveries if d.text.startswith(f"{incident_id} ")]


def with_mailing_lists(channels: Channels) -> Channels:
    """``channels`` addressed to the simulated company's own mailing lists, not the code's
    defaults: a notifier that ignores its configuration mails nobody on them."""
    return dataclasses.replace(
        channels,
        customers=("status-subscribers@lists.napoleon.ai",),
        stakeholders=("leadership@lists.napoleon.ai", "board-observers@lists.napoleon.ai"),
    )
