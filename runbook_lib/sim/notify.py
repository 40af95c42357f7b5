"""Stateful fakes of the notification channels the guide names.

- Slack incoming webhook (Internal: Slack #incidents): ``POST https://hooks.slack.com/services/T/B/X``,
  plain-text ``ok`` on success, ``invalid_payload`` / ``no_text`` (400), ``no_service`` (404).
- Atlassian Statuspage (External: status page): ``POST /v1/pages/{page_id}/incidents`` with
  ``Authorization: OAuth <key>``, 201 and the incident; ``PATCH .../incidents/{id}`` updates it.
- SendGrid v3 (External: email notifications): ``POST /v3/mail/send``, 202 with an empty body.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx

from runbook_lib.sim.http import FakeAPI, json_body, json_response
from runbook_lib.world.clock import Clock, WallClock

SLACK_URL = "https://hooks.slack.com"
STATUSPAGE_URL = "https://api.statuspage.io"
SENDGRID_URL = "https://api.sendgrid.com"


class SlackWebhookFake(FakeAPI):
    """Incoming webhooks; each known path posts into one channel."""

    def __init__(self) -> None:
        super().__init__(SLACK_URL)
        self.channels: dict[str, str] = {}  # webhook path -> channel
        self.messages: list[dict[str, Any]] = []
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
        self.messages.append({"channel": channel, **body})
        return httpx.Response(200, text="ok")

    def in_channel(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["channel"] == channel]


@dataclass
class StatusIncident:
    id: str
    name: str
    status: str
    impact: str
    body: str
    created_at: str
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
        new = StatusIncident(
            f"inc{next(self._ids):04d}",
            incident["name"],
            status,
            incident.get("impact_override", "none"),
            incident.get("body", ""),
            self.clock.now().isoformat(),
        )
        self.incidents[new.id] = new
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
            "page_id": self.page_id,
            "incident_updates": [
                {"status": incident.status, "body": incident.body},
                *incident.updates,
            ],
            "shortlink": f"https://stspg.io/{incident.id}",
        }


class SendGridFake(FakeAPI):
    def __init__(self) -> None:
        super().__init__(SENDGRID_URL)
        self.sent: list[dict[str, Any]] = []
        self.add_route("POST", "/v3/mail/send", self._send)

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
        return httpx.Response(202)
