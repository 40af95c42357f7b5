"""Stateful simulations of the notification channels the guide names: for each, a backend (state,
typed methods, no HTTP) and a fake (its routes, a few lines each), as moto splits them.

- Slack incoming webhook (Internal: Slack #incidents): ``POST https://hooks.slack.com/services/T/B/X``,
  plain-text ``ok`` on success, ``invalid_payload`` / ``no_text`` (400), ``no_service`` (404).
  A webhook posts into the channel it was made for unless the payload names another
  (``"channel": "#name"``, as workspace webhooks allow); a malformed name is
  ``channel_not_found`` (404). Each message gets Slack's ``ts``: when it arrived.
- Atlassian Statuspage (External: status page): ``POST /v1/pages/{page_id}/incidents`` with
  ``Authorization: OAuth <key>``, 201 and the incident; ``PATCH .../incidents/{id}`` updates it.
  A scheduled maintenance (``scheduled``, ``in_progress``, ``verifying``, ``completed``) needs its
  window: ``scheduled_for`` and ``scheduled_until``, ISO 8601, the end after the start. Errors
  are ``{"message": ...}`` (401 without the OAuth key, 404, 422).
- SendGrid v3 (External: email notifications): ``POST /v3/mail/send``, 202 with an empty body and
  the send's ``X-Message-Id``; errors as ``{"errors": [{"message", "field", "help"}]}`` in
  SendGrid's words. The subject may be global, in every personalization, or in a template
  (``template_id``); content is required unless a template is used. What then happens to each
  recipient reaches the sender through SendGrid's Event Webhook
  (:mod:`runbook_lib.sim.sendgrid_events`).
- A pager (the Emergency Contacts' phone numbers): no HTTP API of the guide's; pages are handed
  to it in process.

Every backend keeps :class:`Delivery` records: what arrived, for whom, and when on its clock
(the simulated cloud's virtual clock), so a drill checks what the channels received, not what
the sender says it sent. The fakes show their backend's state under the same names
(``cloud.statuspage.incidents`` is ``cloud.statuspage.backend.incidents``).
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
from runbook_lib.sim.sendgrid_events import (
    SETTINGS_PATH,
    EventWebhook,
    SettingsRefused,
    sendgrid_errors,
)
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


class Refusal(Exception):
    """A channel refuses a message: the status and what it answers (its own words)."""

    def __init__(self, status: int, *problems: tuple[str, str | None]) -> None:
        super().__init__(problems[0][0] if problems else str(status))
        self.status = status
        self.problems = problems  # (message, field)


# -- Slack ---------------------------------------------------------------------------------------

_CHANNEL_NAME = re.compile(r"^#[a-z0-9][a-z0-9_-]{0,79}$")


class SlackBackend:
    """Incoming webhooks (path -> channel) and every message each channel received."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.channels: dict[str, str] = {}  # webhook path -> channel
        self.messages: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []

    def add_webhook(self, path: str, channel: str) -> str:
        self.channels[path] = channel
        return SLACK_URL + path

    def post(self, path: str, body: object) -> None:
        """Post ``body`` through the webhook at ``path``; :class:`Refusal` with Slack's word."""
        channel = self.channels.get(path)
        if channel is None:
            raise Refusal(404, ("no_service", None))
        if not isinstance(body, dict):
            raise Refusal(400, ("invalid_payload", None))
        if not body.get("text") and not body.get("blocks") and not body.get("attachments"):
            raise Refusal(400, ("no_text", None))
        if "channel" in body:
            if not isinstance(body["channel"], str) or not _CHANNEL_NAME.match(body["channel"]):
                raise Refusal(404, ("channel_not_found", None))
            channel = body["channel"]
        at = self.clock.now()
        self.messages.append({**body, "channel": channel, "ts": f"{at.timestamp():.6f}"})
        self.deliveries.append(Delivery((channel,), "", _slack_text(body), at))

    def in_channel(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["channel"] == channel]

    def received_in(self, channel: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.to == (channel,)]


def _slack_text(body: dict[str, Any]) -> str:
    """What a message says: its text, then each attachment's title and text (Alertmanager's
    Slack notifier posts attachments only, which Slack accepts)."""
    parts = [str(body["text"])] if body.get("text") else []
    for attachment in body.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [str(attachment[k]) for k in ("title", "text") if attachment.get(k)]
    return "\n".join(parts)


class SlackWebhookFake(FakeAPI):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(SLACK_URL)
        self.backend = SlackBackend(clock or WallClock())
        self.add_route("POST", "/services/{team}/{bot}/{secret}", self._post, auth=False)

    def _post(self, request: httpx.Request, team: str, bot: str, secret: str) -> httpx.Response:
        try:
            self.backend.post(request.url.path, json_body(request))
        except Refusal as refused:
            return httpx.Response(refused.status, text=str(refused))
        return httpx.Response(200, text="ok")

    # views of the backend, for steps and faults
    @property
    def clock(self) -> Clock:
        return self.backend.clock

    @property
    def channels(self) -> dict[str, str]:
        return self.backend.channels

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.backend.messages

    @property
    def deliveries(self) -> list[Delivery]:
        return self.backend.deliveries

    def add_webhook(self, path: str, channel: str) -> str:
        return self.backend.add_webhook(path, channel)

    def in_channel(self, channel: str) -> list[dict[str, Any]]:
        return self.backend.in_channel(channel)

    def received_in(self, channel: str) -> list[Delivery]:
        return self.backend.received_in(channel)


# -- Statuspage ----------------------------------------------------------------------------------

REALTIME = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE = ("scheduled", "in_progress", "verifying", "completed")


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


class StatusPageBackend:
    """One page's incidents and maintenances, and what its subscribers were shown."""

    def __init__(self, page_id: str, clock: Clock) -> None:
        self.page_id = page_id
        self.clock = clock
        self.incidents: dict[str, StatusIncident] = {}
        self.deliveries: list[Delivery] = []
        self._ids = itertools.count(1)

    def create(self, page: str, incident: object) -> StatusIncident:
        if page != self.page_id:
            raise Refusal(404, ("Could not find requested resource", None))
        if not isinstance(incident, dict) or not incident.get("name"):
            raise Refusal(422, ("Name can't be blank", "name"))
        status = str(incident.get("status", "investigating"))
        if status not in REALTIME + MAINTENANCE:
            raise Refusal(422, (f"Status {status} is not a valid incident status", "status"))
        window = _window(incident) if status in MAINTENANCE else (None, None)
        at = self.clock.now()
        new = StatusIncident(
            f"inc{next(self._ids):04d}",
            str(incident["name"]),
            status,
            str(incident.get("impact_override", "none")),
            str(incident.get("body", "")),
            at.isoformat(),
            *window,
        )
        self.incidents[new.id] = new
        self.deliveries.append(Delivery((self.page_id,), new.name, new.body, at))
        return new

    def update(self, page: str, incident_id: str, change: object) -> StatusIncident:
        found = self.incidents.get(incident_id)
        if page != self.page_id or found is None:
            raise Refusal(404, ("Could not find requested resource", None))
        change = change if isinstance(change, dict) else {}
        status = str(change.get("status", found.status))
        family = MAINTENANCE if found.status in MAINTENANCE else REALTIME
        if status not in family:
            raise Refusal(422, (f"Status {status} is not a valid incident status", "status"))
        found.status = status
        found.updates.append({"status": status, "body": str(change.get("body", ""))})
        return found


def _window(incident: dict[str, Any]) -> tuple[str, str]:
    """A maintenance's ``scheduled_for`` / ``scheduled_until``: both, ISO 8601, end after start."""
    given = (incident.get("scheduled_for"), incident.get("scheduled_until"))
    if not all(given):
        raise Refusal(422, ("Scheduled for and scheduled until are required", "scheduled_for"))
    try:
        start, end = (datetime.fromisoformat(str(value)) for value in given)
    except ValueError:
        raise Refusal(
            422, ("Scheduled times must be ISO 8601 timestamps", "scheduled_for")
        ) from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise Refusal(
            422,
            ("Scheduled until must be after scheduled for, with a time zone", "scheduled_until"),
        )
    return str(given[0]), str(given[1])


class StatusPageFake(FakeAPI):
    def __init__(self, page_id: str, clock: Clock | None = None) -> None:
        super().__init__(STATUSPAGE_URL, auth_scheme="OAuth")
        self.backend = StatusPageBackend(page_id, clock or WallClock())
        self.add_route("POST", "/v1/pages/{page}/incidents", self._create)
        self.add_route("PATCH", "/v1/pages/{page}/incidents/{incident_id}", self._update)
        self.add_route("GET", "/v1/pages/{page}/incidents", self._list)

    def unauthorized(self) -> httpx.Response:
        return json_response(401, {"message": "Could not authenticate"})

    def not_found(self, request: httpx.Request) -> httpx.Response:
        return json_response(404, {"message": "Could not find requested resource"})

    def _create(self, request: httpx.Request, page: str) -> httpx.Response:
        try:
            created = self.backend.create(page, (json_body(request) or {}).get("incident"))
        except Refusal as refused:
            return json_response(refused.status, {"message": str(refused)})
        return json_response(201, self._shape(created))

    def _update(self, request: httpx.Request, page: str, incident_id: str) -> httpx.Response:
        change = (json_body(request) or {}).get("incident", {})
        try:
            updated = self.backend.update(page, incident_id, change)
        except Refusal as refused:
            return json_response(refused.status, {"message": str(refused)})
        return json_response(200, self._shape(updated))

    def _list(self, request: httpx.Request, page: str) -> httpx.Response:
        if page != self.backend.page_id:
            return self.not_found(request)
        return json_response(200, [self._shape(i) for i in self.backend.incidents.values()])

    def _shape(self, incident: StatusIncident) -> dict[str, Any]:
        return {
            "id": incident.id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
            "created_at": incident.created_at,
            "scheduled_for": incident.scheduled_for,
            "scheduled_until": incident.scheduled_until,
            "page_id": self.backend.page_id,
            "incident_updates": [
                {"status": incident.status, "body": incident.body},
                *incident.updates,
            ],
            "shortlink": f"https://stspg.io/{incident.id}",
        }

    # views of the backend, for steps
    @property
    def clock(self) -> Clock:
        return self.backend.clock

    @property
    def page_id(self) -> str:
        return self.backend.page_id

    @property
    def incidents(self) -> dict[str, StatusIncident]:
        return self.backend.incidents

    @property
    def deliveries(self) -> list[Delivery]:
        return self.backend.deliveries


# -- SendGrid ------------------------------------------------------------------------------------

_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
NO_PERSONALIZATIONS = (
    "The personalizations field is required and must have at least one personalization."
)
NO_RECIPIENT = (
    "The to array is required for all personalization objects, and must have at least one "
    "email object with a valid email address."
)
NO_FROM = "The from object must be provided for every email send."
NO_SUBJECT = (
    "The subject is required. You can get around this requirement if you use a template with a "
    "subject defined or if every personalization has a subject defined."
)
NO_CONTENT = (
    "The content param is required unless you are using a transactional template and have "
    "defined a template_ID."
)


class SendGridBackend:
    """Every email SendGrid took, per personalization, and its Event Webhook."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self.event_webhook = EventWebhook(clock)

    def send(self, body: object) -> str:
        """Take one ``/v3/mail/send`` request; its ``X-Message-Id``, or :class:`Refusal`."""
        problems = _mail_problems(body)
        if problems or not isinstance(body, dict):
            raise Refusal(400, *problems)
        self.sent.append(body)
        recipients: list[str] = []
        for personalization in body["personalizations"]:
            to = tuple(str(t["email"]) for t in personalization["to"])
            subject = str(personalization.get("subject") or body.get("subject") or "")
            text = " ".join(str(c.get("value", "")) for c in body.get("content", []))
            self.deliveries.append(Delivery(to, subject, text, self.clock.now()))
            recipients += to
        return self.event_webhook.accept(recipients)

    def received_by(self, recipients: tuple[str, ...]) -> list[Delivery]:
        """Emails addressed to every one of ``recipients``."""
        return [d for d in self.deliveries if set(recipients) <= set(d.to)]


def _mail_problems(body: object) -> list[tuple[str, str | None]]:
    """What SendGrid refuses in a mail send, in its words (message, field)."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    problems: list[tuple[str, str | None]] = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append((NO_PERSONALIZATIONS, "personalizations"))
        personalizations = []
    for index, p in enumerate(personalizations):
        to = p.get("to") if isinstance(p, dict) else None
        if not isinstance(to, list) or not to or not all(_address(t) for t in to):
            problems.append((NO_RECIPIENT, f"personalizations.{index}.to"))
    if not _address(body.get("from")):
        problems.append((NO_FROM, "from"))
    template = isinstance(body.get("template_id"), str) and bool(body.get("template_id"))
    every_has_subject = bool(personalizations) and all(
        isinstance(p, dict) and p.get("subject") for p in personalizations
    )
    if not (body.get("subject") or every_has_subject or template):
        problems.append((NO_SUBJECT, "subject"))
    content = body.get("content")
    if not template and not (
        isinstance(content, list) and content and all(isinstance(c, dict) for c in content)
    ):
        problems.append((NO_CONTENT, "content"))
    return problems


def _address(value: object) -> bool:
    return isinstance(value, dict) and "@" in str(value.get("email", ""))


class SendGridFake(FakeAPI):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(SENDGRID_URL)
        self.backend = SendGridBackend(clock or WallClock())
        self.add_route("POST", "/v3/mail/send", self._send)
        self.add_route("GET", SETTINGS_PATH, self._get_settings)
        self.add_route("PATCH", SETTINGS_PATH, self._patch_settings)

    def error(self, status: int, message: str) -> httpx.Response:
        return sendgrid_errors(status, (message, None))

    def unauthorized(self) -> httpx.Response:
        return sendgrid_errors(
            401, ("The provided authorization grant is invalid, expired, or revoked", None)
        )

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            message_id = self.backend.send(json_body(request))
        except Refusal as refused:
            errors = [
                {"message": m, "field": f, "help": _HELP + f.split(".")[0] if f else None}
                for m, f in refused.problems
            ]
            return json_response(refused.status, {"errors": errors})
        return httpx.Response(202, headers={"X-Message-Id": message_id})

    def _get_settings(self, request: httpx.Request) -> httpx.Response:
        return json_response(200, self.backend.event_webhook.settings)

    def _patch_settings(self, request: httpx.Request) -> httpx.Response:
        try:
            settings = self.backend.event_webhook.update_settings(json_body(request))
        except SettingsRefused as refused:
            return sendgrid_errors(400, *refused.problems)
        return json_response(200, settings)

    # views of the backend, for steps and faults
    @property
    def clock(self) -> Clock:
        return self.backend.clock

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.backend.sent

    @property
    def deliveries(self) -> list[Delivery]:
        return self.backend.deliveries

    @property
    def event_webhook(self) -> EventWebhook:
        return self.backend.event_webhook

    def received_by(self, recipients: tuple[str, ...]) -> list[Delivery]:
        return self.backend.received_by(recipients)


# -- the pager -----------------------------------------------------------------------------------


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
