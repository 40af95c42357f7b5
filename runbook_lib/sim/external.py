"""Stateful simulations of the external services whose keys the guide rotates: Stripe and OpenAI,
each a backend (state, no HTTP) and a fake (its routes), as moto splits them.

- Stripe: ``GET /v1/balance`` with ``Authorization: Bearer sk_...``; a bad key answers 401
  ``{"error": {"message": "Invalid API Key provided: sk_live_****abcd", "type": "invalid_request_error"}}``.
- Stripe webhooks: ``POST /v1/webhook_endpoints`` (form-encoded ``url``, ``enabled_events[]``)
  answers the endpoint with its signing ``secret`` (``whsec_...``, shown only then). Each event
  (:meth:`StripeBackend.trigger`, as ``stripe trigger`` does) is delivered to every enabled
  endpoint that subscribed to its type: a POST of the event's JSON with
  ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``, one ``v1`` per active
  secret (while a rolled secret's old one has not expired, both), signed at each attempt. Anything
  but a 2xx is a failed delivery, kept for a retry; :attr:`StripeBackend.paused` (a fault)
  delivers nothing. Stripe's time is the simulated cloud's clock (an instant may be passed).
- Someone who is not Stripe (:func:`forge_delivery`, :func:`replay_delivery`): posts with
  Stripe's scheme but another secret, or again a delivery it captured.
- OpenAI: ``GET /v1/models``; ``POST /v1/chat/completions`` answers a ``chat.completion`` with
  ``created`` (unix seconds on the clock), ``usage``, ``system_fingerprint`` and per choice
  ``logprobs`` (null unless the request asks for them); a request without ``model`` or
  ``messages`` is a 400 in OpenAI's error shape; a bad key answers 401 with
  ``"code": "invalid_api_key"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx

from runbook_lib.sim.http import FakeAPI, json_body, json_response
from runbook_lib.world.clock import Clock, WallClock

STRIPE_URL = "https://api.stripe.com"
OPENAI_URL = "https://api.openai.com"
API_VERSION = "2024-06-20"
WEBHOOK_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
}


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """One ``v1`` signature: the hex HMAC-SHA256, keyed with ``secret``, of ``"<t>.<payload>"``."""
    return hmac.new(secret.encode(), b"%d." % timestamp + payload, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, signing_secrets: list[str], timestamp: int) -> str:
    """``Stripe-Signature``: the timestamp, then one ``v1`` per secret."""
    return ",".join(
        [f"t={timestamp}", *(f"v1={sign(payload, s, timestamp)}" for s in signing_secrets)]
    )


@dataclass
class WebhookEndpoint:
    id: str
    url: str
    enabled_events: list[str]
    secrets: list[tuple[str, datetime | None]]  # (secret, expires at), newest first

    def signing_secrets(self, at: datetime) -> list[str]:
        return [s for s, expires in self.secrets if expires is None or at < expires]


@dataclass(frozen=True)
class Delivery:
    """One POST of an event to an endpoint, as sent, and its answer (None: no answer)."""

    event_id: str
    url: str
    payload: bytes
    headers: dict[str, str]
    status: int | None


@dataclass
class Webhooks:
    """Stripe's webhook machinery: endpoints, events and the deliveries still owed."""

    endpoints: dict[str, WebhookEndpoint] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    owed: list[tuple[str, str]] = field(default_factory=list)  # (event id, endpoint id)
    deliveries: list[Delivery] = field(default_factory=list)


class StripeBackend:
    """Stripe's webhook machinery on ``clock``: endpoints, events and the deliveries owed."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.webhooks = Webhooks()
        self.paused = False

    def create_endpoint(self, url: str, events: list[str]) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(
            "we_" + secrets.token_hex(12), url, events, [("whsec_" + secrets.token_hex(16), None)]
        )
        self.webhooks.endpoints[endpoint.id] = endpoint
        return endpoint

    def roll_secret(
        self,
        endpoint_id: str,
        at: datetime | None = None,
        old_expires_in: timedelta = timedelta(hours=24),
    ) -> str:
        """The Dashboard's "Roll secret": a new secret now, the old ones until ``old_expires_in``
        (up to 24 hours) from ``at`` (default: the clock's now); the new secret."""
        at = at or self.clock.now()
        endpoint = self.webhooks.endpoints[endpoint_id]
        until = at + min(old_expires_in, timedelta(hours=24))
        kept = [(s, until if e is None or until < e else e) for s, e in endpoint.secrets]
        endpoint.secrets = [("whsec_" + secrets.token_hex(16), None), *kept]
        return endpoint.secrets[0][0]

    def trigger(self, event_type: str, at: datetime | None = None) -> str:
        """An event of ``event_type`` happens at ``at`` (default: now; ``stripe trigger``); its
        id. Every endpoint subscribed to the type is owed a delivery."""
        at = at or self.clock.now()
        event_id = "evt_" + secrets.token_hex(12)
        self.webhooks.events[event_id] = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": int(at.timestamp()),
            "data": {"object": _event_object(event_type)},
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        for endpoint in self.webhooks.endpoints.values():
            if event_type in endpoint.enabled_events or "*" in endpoint.enabled_events:
                self.webhooks.owed.append((event_id, endpoint.id))
                self.webhooks.events[event_id]["pending_webhooks"] += 1
        return event_id

    def deliver(self, http: httpx.Client, at: datetime | None = None) -> list[Delivery]:
        """Send every owed delivery through ``http``, signed at ``at`` (default: the clock's
        now, as Stripe signs each attempt); a 2xx settles it."""
        if self.paused:
            return []
        at = at or self.clock.now()
        sent = []
        for event_id, endpoint_id in list(self.webhooks.owed):
            endpoint = self.webhooks.endpoints[endpoint_id]
            payload = json.dumps(self.webhooks.events[event_id], indent=2).encode()
            timestamp = int(at.timestamp())
            header = signature_header(payload, endpoint.signing_secrets(at), timestamp)
            delivery = _post(
                http,
                endpoint.url,
                payload,
                {**WEBHOOK_HEADERS, "Stripe-Signature": header},
                event_id,
            )
            sent.append(delivery)
            if delivery.status is not None and 200 <= delivery.status < 300:
                self.webhooks.owed.remove((event_id, endpoint_id))
        self.webhooks.deliveries += sent
        return sent


class StripeFake(FakeAPI):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(STRIPE_URL)
        self.backend = StripeBackend(clock or WallClock())
        self.add_route("POST", "/v1/webhook_endpoints", self._create_endpoint)
        self.add_route(
            "GET",
            "/v1/balance",
            lambda request: json_response(
                200,
                {
                    "object": "balance",
                    "available": [{"amount": 0, "currency": "usd"}],
                    "livemode": False,
                },
            ),
        )

    def unauthorized(self) -> httpx.Response:
        return json_response(
            401,
            {
                "error": {
                    "message": "Invalid API Key provided: sk_****",
                    "type": "invalid_request_error",
                }
            },
        )

    def _create_endpoint(self, request: httpx.Request) -> httpx.Response:
        form = parse_qsl(request.content.decode(), keep_blank_values=True)
        url = next((v for k, v in form if k == "url"), "")
        events = [v for k, v in form if k.startswith("enabled_events[")]
        for name, given in (("url", url), ("enabled_events", events)):
            if not given:
                return _invalid("parameter_missing", f"Missing required param: {name}.", name)
        if not url.startswith(("https://", "http://")):
            problem = f"Invalid URL: {url}. URLs must begin with http:// or https://"
            return _invalid("url_invalid", problem, "url")
        endpoint = self.backend.create_endpoint(url, events)
        return json_response(
            200,
            {
                "id": endpoint.id,
                "object": "webhook_endpoint",
                "api_version": None,
                "enabled_events": events,
                "livemode": False,
                "metadata": {},
                "secret": endpoint.secrets[0][0],
                "status": "enabled",
                "url": url,
            },
        )

    # the backend's state and actions, for steps and faults
    @property
    def clock(self) -> Clock:
        return self.backend.clock

    @property
    def webhooks(self) -> Webhooks:
        return self.backend.webhooks

    @property
    def paused(self) -> bool:
        return self.backend.paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self.backend.paused = value

    def roll_secret(
        self,
        endpoint_id: str,
        at: datetime | None = None,
        old_expires_in: timedelta = timedelta(hours=24),
    ) -> str:
        return self.backend.roll_secret(endpoint_id, at, old_expires_in)

    def trigger(self, event_type: str, at: datetime | None = None) -> str:
        return self.backend.trigger(event_type, at)

    def deliver(self, http: httpx.Client, at: datetime | None = None) -> list[Delivery]:
        return self.backend.deliver(http, at)


def _invalid(code: str, message: str, param: str) -> httpx.Response:
    error = {"code": code, "message": message, "param": param, "type": "invalid_request_error"}
    return json_response(400, {"error": error})


def _event_object(event_type: str) -> dict[str, Any]:
    kind = event_type.split(".")[0]
    return {"id": f"{kind[:2]}_{secrets.token_hex(12)}", "object": kind, "livemode": False}


def _post(
    http: httpx.Client, url: str, payload: bytes, headers: dict[str, str], event_id: str
) -> Delivery:
    try:
        status: int | None = http.post(
            url, content=payload, headers=headers, timeout=30
        ).status_code
    except httpx.TransportError:
        status = None
    return Delivery(event_id, url, payload, headers, status)


def forge_delivery(http: httpx.Client, url: str, at: datetime) -> Delivery:
    """Someone who is not Stripe posts an event signed with Stripe's scheme, but with a secret
    of its own (the endpoint's is not known to it)."""
    event_id = "evt_" + secrets.token_hex(12)
    event = {
        "id": event_id,
        "object": "event",
        "type": "invoice.paid",
        "livemode": False,
        "created": int(at.timestamp()),
        "data": {"object": _event_object("invoice.paid")},
    }
    payload = json.dumps(event, indent=2).encode()
    header = signature_header(payload, ["whsec_" + secrets.token_hex(16)], int(at.timestamp()))
    return _post(http, url, payload, {**WEBHOOK_HEADERS, "Stripe-Signature": header}, event_id)


def replay_delivery(http: httpx.Client, captured: Delivery) -> Delivery:
    """Someone posts again, byte for byte, a delivery it captured (its signature and timestamp
    included)."""
    return _post(http, captured.url, captured.payload, captured.headers, captured.event_id)


MODELS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}


class OpenAIBackend:
    """The models the key may use and every completion answered, on ``clock``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.completions: list[dict[str, Any]] = []

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """A ``chat.completion`` for ``request`` (already validated)."""
        answer = "Summary."
        created = int(self.clock.now().timestamp())
        prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in request["messages"])
        logprobs = None
        if request.get("logprobs"):
            tokens = [answer[:-1], "."]
            logprobs = {
                "content": [
                    {
                        "token": t,
                        "logprob": -0.01,
                        "bytes": list(t.encode()),
                        "top_logprobs": [],
                    }
                    for t in tokens
                ],
                "refusal": None,
            }
        completion = {
            "id": "chatcmpl-" + secrets.token_urlsafe(21),
            "object": "chat.completion",
            "created": created,
            "model": MODELS[request["model"]],
            "choices": [
                {
                    "index": index,
                    "message": {
                        "role": "assistant",
                        "content": answer,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": logprobs,
                    "finish_reason": "stop",
                }
                for index in range(int(request.get("n") or 1))
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 2, "total_tokens": prompt + 2},
            "service_tier": "default",
            "system_fingerprint": "fp_" + secrets.token_hex(5),
        }
        self.completions.append(completion)
        return completion


class OpenAIFake(FakeAPI):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(OPENAI_URL)
        self.backend = OpenAIBackend(clock or WallClock())
        self.add_route("GET", "/v1/models", self._models)
        self.add_route("POST", "/v1/chat/completions", self._completion)

    def _models(self, request: httpx.Request) -> httpx.Response:
        created = int(datetime(2024, 7, 18, tzinfo=UTC).timestamp())
        data = [
            {"id": name, "object": "model", "created": created, "owned_by": "system"}
            for name in MODELS
        ]
        return json_response(200, {"object": "list", "data": data})

    def _completion(self, request: httpx.Request) -> httpx.Response:
        body = json_body(request)
        if not isinstance(body, dict):
            return _openai_error(
                400, "We could not parse the JSON body of your request.", None, None
            )
        if not body.get("model"):
            return _openai_error(400, "you must provide a model parameter", None, None)
        if body["model"] not in MODELS:
            problem = f"The model `{body['model']}` does not exist or you do not have access to it."
            return _openai_error(404, problem, None, "model_not_found")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            problem = "Missing required parameter: 'messages'."
            return _openai_error(400, problem, "messages", "missing_required_parameter")
        return json_response(200, self.backend.complete(body))

    def unauthorized(self) -> httpx.Response:
        return _openai_error(401, "Incorrect API key provided.", None, "invalid_api_key")


def _openai_error(status: int, message: str, param: str | None, code: str | None) -> httpx.Response:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return json_response(status, {"error": error})
