"""Our webhook endpoints: what the application runs to hear from SendGrid and Stripe, and what
the email-delivery and Stripe-webhook alerts count.

These are ours, not the providers': the same receivers would take the real services' posts, so
they live with the monitoring that reads them, not with the simulations that post to them
(:mod:`runbook_lib.sim.sendgrid_events`, :mod:`runbook_lib.sim.external`). Each one answers an
``httpx.Request`` (:meth:`Receiver.handle`); the drills hand the simulations a client whose
transport is the receiver (:meth:`Receiver.client`), so every delivery crosses as an HTTP request
(raw body and headers) at a URL of the drill's own host, never the network.

- :class:`SendGridEvents` (``POST /api/webhooks/sendgrid``): SendGrid's Event Webhook batches, a
  JSON array of events, each with ``email``, ``timestamp``, ``event``, ``sg_event_id`` and
  ``sg_message_id``; anything else is a 400. An event posted twice (SendGrid retries a batch)
  counts once, by ``sg_event_id``. Bounced and dropped emails are delivery failures.
- :class:`StripeEndpoint` (``POST /api/webhooks/stripe``): verifies ``Stripe-Signature`` as
  Stripe's libraries do (:func:`verify_stripe_signature`) with the endpoint's signing secret and
  its own clock, and answers 400 to a delivery that fails; every delivery it does not answer
  with a 2xx is a webhook failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from runbook_lib.errors import ServiceError
from runbook_lib.world.clock import Clock
from runbook_lib.world.http import ApiClient

HOOKS_HOST = "https://hooks.napoleon-ai.test"  # the drill's own host for our endpoints
SENDGRID_PATH = "/api/webhooks/sendgrid"
STRIPE_PATH = "/api/webhooks/stripe"
SENDGRID_API = "https://api.sendgrid.com"
STRIPE_API = "https://api.stripe.com"
DELIVERY_EVENTS = ("processed", "delivered", "deferred", "bounce", "dropped")
FINAL_EVENTS = ("delivered", "bounce", "dropped")  # what became of an email
FAILED_EVENTS = ("bounce", "dropped")  # ... when it never reached its recipient
SENDGRID_FIELDS = {
    "email": str,
    "timestamp": int,
    "event": str,
    "sg_event_id": str,
    "sg_message_id": str,
}
STRIPE_TOLERANCE = 300  # seconds: Stripe's libraries' default


@dataclass(frozen=True)
class Answer:
    """What one of our endpoints answered a delivery (``reason``: why it refused it)."""

    status: int
    reason: str = ""


@dataclass
class Receiver:
    """One endpoint of ours at :attr:`path`, and every answer it gave."""

    path: str
    answers: list[Answer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return HOOKS_HOST + self.path

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != self.path:
            return httpx.Response(404, json={"error": "no such endpoint"})
        if request.method != "POST":
            return httpx.Response(405, json={"error": "POST only"})
        answer = self.receive(request)
        self.answers.append(answer)
        body = {"error": answer.reason} if answer.reason else {"received": True}
        return httpx.Response(answer.status, json=body)

    def receive(self, request: httpx.Request) -> Answer:
        raise NotImplementedError

    def client(self) -> httpx.Client:
        """A client whose requests this endpoint answers (the drill's network to it)."""
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    @property
    def accepted(self) -> int:
        return sum(200 <= a.status < 300 for a in self.answers)

    @property
    def refused(self) -> int:
        return len(self.answers) - self.accepted


# -- SendGrid's Event Webhook --------------------------------------------------------------------


@dataclass
class SendGridEvents(Receiver):
    path: str = SENDGRID_PATH
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # sg_event_id -> event

    def receive(self, request: httpx.Request) -> Answer:
        try:
            batch = json.loads(request.content)
        except ValueError:
            return Answer(400, "the body is not JSON")
        if not isinstance(batch, list) or not all(_is_event(e) for e in batch):
            return Answer(400, f"not a list of events with {', '.join(SENDGRID_FIELDS)}")
        for event in batch:
            self.events.setdefault(event["sg_event_id"], event)
        return Answer(200)

    def failures(self) -> int:
        """Emails SendGrid's events say never reached their recipient (bounced or dropped)."""
        return sum(e["event"] in FAILED_EVENTS for e in self.events.values())

    def fates(self) -> dict[tuple[str, str], str]:
        """(the send's X-Message-Id, recipient) -> what became of that email, as reported."""
        return {
            (e["sg_message_id"].split(".")[0], e["email"]): e["event"]
            for e in sorted(self.events.values(), key=lambda e: e["timestamp"])
            if e["event"] in FINAL_EVENTS
        }

    def reported(self, sends: Iterable[tuple[str, str]]) -> int:
        """How many of ``sends`` ((X-Message-Id, recipient)) SendGrid told us the fate of."""
        fates = self.fates()
        return sum(send in fates for send in sends)


def _is_event(event: object) -> bool:
    return isinstance(event, dict) and all(
        isinstance(event.get(name), kind) for name, kind in SENDGRID_FIELDS.items()
    )


def subscribe_sendgrid(
    receiver: SendGridEvents, sendgrid_key: str, http: httpx.Client, clock: Clock
) -> None:
    """Point SendGrid's Event Webhook at ``receiver``, with every delivery event on."""
    client = ApiClient("SendGrid API", SENDGRID_API, sendgrid_key, "SENDGRID_API_KEY", http, clock)
    settings = {"enabled": True, "url": receiver.url, **dict.fromkeys(DELIVERY_EVENTS, True)}
    client.request("PATCH", "/v3/user/webhooks/event/settings", json=settings, expect=(200,))


# -- Stripe webhooks -----------------------------------------------------------------------------


def verify_stripe_signature(
    payload: bytes, header: str, secret: str, now: float, tolerance: int = STRIPE_TOLERANCE
) -> str:
    """Why ``header`` does not prove that Stripe sent ``payload`` to the holder of ``secret``
    ("" when it does), as Stripe's libraries decide: any ``v1`` signature may match (a rolled
    secret signs twice), compared in constant time, and a timestamp older than ``tolerance``
    seconds is refused (a replay)."""
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    try:
        timestamp = int(next(value for key, value in pairs if key == "t"))
    except (StopIteration, ValueError):
        return "Unable to extract timestamp and signatures from header"
    signatures = [value for key, value in pairs if key == "v1"]
    if not signatures:
        return "No signatures found with expected scheme v1"
    signed = b"%d." % timestamp + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    if not any(hmac.compare_digest(expected, s.encode(errors="replace")) for s in signatures):
        return "No signatures found matching the expected signature for payload"
    if tolerance and timestamp < now - tolerance:
        return f"Timestamp outside the tolerance zone ({timestamp})"
    return ""


@dataclass(kw_only=True)
class StripeEndpoint(Receiver):
    secret: str = field(repr=False)  # the endpoint's signing secret (whsec_...)
    endpoint_id: str  # Stripe's id for it (we_...)
    clock: Clock  # ours: what "now" is when a delivery's timestamp is judged
    path: str = STRIPE_PATH
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> event

    def receive(self, request: httpx.Request) -> Answer:
        header = request.headers.get("Stripe-Signature")
        if header is None:
            return Answer(400, "no Stripe-Signature header")
        now = self.clock.now().timestamp()
        refused = verify_stripe_signature(request.content, header, self.secret, now)
        if refused:
            return Answer(400, refused)
        try:
            event = json.loads(request.content)
        except ValueError:
            return Answer(400, "the body is not JSON")
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            return Answer(400, "not a Stripe event")
        self.events.setdefault(event["id"], event)
        return Answer(200)

    def reasons(self) -> list[str]:
        return [a.reason for a in self.answers if a.reason]


def register_stripe(
    events: list[str], stripe_key: str, http: httpx.Client, clock: Clock
) -> StripeEndpoint:
    """Create our webhook endpoint with Stripe for ``events``; it keeps the signing secret
    Stripe answers with (shown only at creation)."""
    answer = http.post(
        f"{STRIPE_API}/v1/webhook_endpoints",
        data={"url": HOOKS_HOST + STRIPE_PATH, "enabled_events[]": events},
        headers={"Authorization": f"Bearer {stripe_key}"},
    )
    if answer.status_code != 200:
        raise ServiceError(
            f"Stripe POST /v1/webhook_endpoints answered {answer.status_code}: {answer.text[:200]}",
            answer.status_code,
        )
    created = answer.json()
    return StripeEndpoint(secret=created["secret"], endpoint_id=created["id"], clock=clock)
